/*
 * levee's native spawn helper (optional; src/relay/handles.ts falls back to libuv's spawn).
 *
 * Why: libuv starts a child with fork(). On a ~40 MB Node process that copies the page tables of
 * every written page, and the parent then faults again on each page it writes while the copies
 * are shared; on the virtual machines measured this was 4-6 ms per connection before the child's
 * exec, against ~1 ms for glibc's posix_spawn, which shares the address space until the exec
 * (clone with CLONE_VM|CLONE_VFORK). levee starts one child per SMTP connection, so this is paid
 * on every connection.
 *
 * spawn(file, argv, envPairs) -> [pid, stdinFd, stdoutFd] or a negative errno
 *   Starts `file` (looked up in PATH when it has no slash, as execvp does) with argv and the
 *   environment given, stdin and stdout on two new pipes, stderr inherited, every signal at its
 *   default disposition and none blocked (Node ignores SIGPIPE; qmail-smtpd must not). The pipe
 *   ends returned to the caller are close-on-exec. (glibc leaves its two internal real-time
 *   signals, 32 and 33, ignored in the new program: no program uses them but glibc's own threads,
 *   which install their handlers when they need them.)
 * reap(pid) -> null while the child runs, [exitCode, signal] once it has ended (exitCode -1 when
 *   a signal ended it), or a negative errno (ECHILD: not a child of this process).
 *
 * readLatin1(path) -> the whole file as a one-byte string (a copy), or a negative errno (EISDIR for
 *   a directory); levee's list files are read with it at every connection
 * mapBuffer(path) -> a Buffer over the file mapped read-only, or a negative errno
 * mapLatin1(path) -> a string over the file mapped read-only (one byte per character), or a
 *   negative errno; only where Node has external strings (node_api_create_external_string_latin1:
 *   Node 20.4 on, experimental before Node 22, so looked up when the helper loads, not linked)
 *
 * bin/levee loads dist/levee.cjs and its V8 code cache with these. Read into a buffer, they cost
 * every connection ~390 KB of private memory for as long as it is open (V8 keeps the bundle's
 * text for lazy compilation; the buffer lives until a GC that an idle connection never does) and
 * a page fault per 4 KB touched; mapped, their pages are the page cache's, shared by every levee
 * process and faulted in 64 KB at a time. A mapping is released when V8 collects its string or
 * Buffer. Like any program file, dist/ must be replaced (new files, as npm and build.mjs do),
 * never rewritten in place while levee runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static napi_value int_value(napi_env env, int n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

static void free_strings(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

/* a JS string as a new C string; NULL (with a pending TypeError) when it is not a string or
 * holds a NUL byte, which would silently cut an argument short */
static char *c_string(napi_env env, napi_value s) {
  size_t len;
  if (napi_get_value_string_utf8(env, s, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "spawn: expected a string");
    return NULL;
  }
  char *out = malloc(len + 1);
  if (!out) {
    napi_throw_error(env, NULL, "spawn: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, s, out, len + 1, &len);
  if (strlen(out) != len) {
    free(out);
    napi_throw_type_error(env, NULL, "spawn: a string holds a NUL byte");
    return NULL;
  }
  return out;
}

/* a JS array of strings as a NULL-terminated vector; NULL with a pending exception on error */
static char **c_strings(napi_env env, napi_value arr) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "spawn: expected an array of strings");
    return NULL;
  }
  char **v = calloc((size_t)n + 1, sizeof(char *));
  if (!v) {
    napi_throw_error(env, NULL, "spawn: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, arr, i, &e) != napi_ok || !(v[i] = c_string(env, e))) {
      free_strings(v);
      return NULL;
    }
  }
  return v;
}

/* fd moved to 3 or above (close-on-exec): in a daemon whose fd 0 or 1 is closed, pipe2() hands
 * those out, and levee's end of a pipe must not sit where anything writing to "stdout" lands */
static int above_stdio(int fd) {
  if (fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  close(fd);
  errno = saved;
  return moved;
}

static int make_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) < 0) return errno;
  fds[0] = above_stdio(fds[0]);
  fds[1] = above_stdio(fds[1]);
  if (fds[0] >= 0 && fds[1] >= 0) return 0;
  int err = errno;
  if (fds[0] >= 0) close(fds[0]);
  if (fds[1] >= 0) close(fds[1]);
  return err;
}

static int start(const char *file, char **argv, char **envp, pid_t *pid, int *in_w, int *out_r) {
  int in[2], out[2];
  int rc = make_pipe(in);
  if (rc) return rc;
  rc = make_pipe(out);
  if (rc) {
    close(in[0]);
    close(in[1]);
    return rc;
  }
  /* a message body goes to the child through `in`: a 256 KiB pipe takes one of levee's reads
   * whole (the default 64 KiB splits it into several writes and wake-ups); not fatal if refused */
  fcntl(in[1], F_SETPIPE_SZ, 256 * 1024);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  /* stderr is inherited even when it is close-on-exec here (dup2 onto itself clears the flag, as
   * libuv does for inherited stdio); a closed fd 2 stays closed */
  if (fcntl(2, F_GETFD) >= 0) posix_spawn_file_actions_adddup2(&actions, 2, 2);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  rc = strchr(file, '/') ? posix_spawn(pid, file, &actions, &attr, argv, envp)
                         : posix_spawnp(pid, file, &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  if (rc) {
    close(in[1]);
    close(out[0]);
    return rc;
  }
  *in_w = in[1];
  *out_r = out[0];
  return 0;
}

static napi_value Spawn(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, envPairs)");
    return NULL;
  }
  char *file = c_string(env, args[0]);
  char **argv = file ? c_strings(env, args[1]) : NULL;
  char **envp = argv ? c_strings(env, args[2]) : NULL;
  napi_value result = NULL;
  if (envp) {
    pid_t pid = -1;
    int in_w = -1, out_r = -1;
    int rc = start(file, argv, envp, &pid, &in_w, &out_r);
    if (rc) {
      result = int_value(env, -rc);
    } else {
      napi_create_array_with_length(env, 3, &result);
      napi_set_element(env, result, 0, int_value(env, pid));
      napi_set_element(env, result, 1, int_value(env, in_w));
      napi_set_element(env, result, 2, int_value(env, out_r));
    }
  }
  free(file);
  free_strings(argv);
  free_strings(envp);
  return result;
}

static napi_value Reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int32_t pid;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, arg, &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "reap(pid)");
    return NULL;
  }
  int status;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r < 0) return int_value(env, -errno);
  napi_value result;
  if (r == 0) {
    napi_get_null(env, &result);
    return result;
  }
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, int_value(env, WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  napi_set_element(env, result, 1, int_value(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  return result;
}

/* opens the file named by `arg` read-only and stats it: the descriptor, or a negative errno */
static int open_stat(napi_env env, napi_value arg, struct stat *st) {
  char *path = c_string(env, arg);
  if (!path) return -EINVAL;
  int fd;
  do fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  int e = errno;
  free(path);
  if (fd < 0) return -e;
  if (fstat(fd, st) != 0) {
    e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* maps all of a regular, non-empty file read-only; 0 or an errno */
static int map_file(napi_env env, napi_value arg, void **data, size_t *len) {
  struct stat st;
  int fd = open_stat(env, arg, &st);
  if (fd < 0) return -fd;
  int rc = 0;
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) rc = EINVAL;
  else {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) rc = errno;
    else {
      *data = p;
      *len = (size_t)st.st_size;
    }
  }
  close(fd);
  return rc;
}

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)hint);
}

static int one_path(napi_env env, napi_callback_info info, napi_value *arg, const char *usage) {
  size_t argc = 1;
  if (napi_get_cb_info(env, info, &argc, arg, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

/* Through node:fs a file read is a dozen JS calls, each compiled at its first use in the process
 * (~0.4 ms for a connection's first list file); here it is one. Files whose size is unknown
 * (/proc, pipes) are read until EOF all the same. */
static napi_value ReadLatin1(napi_env env, napi_callback_info info) {
  napi_value arg, result;
  if (!one_path(env, info, &arg, "readLatin1(path)")) return NULL;
  struct stat st;
  int fd = open_stat(env, arg, &st);
  if (fd < 0) return int_value(env, fd);
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return int_value(env, -EISDIR);
  }
  size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
  char *buf = malloc(cap);
  int rc = buf ? 0 : ENOMEM;
  while (!rc) {
    if (len == cap) {
      char *more = realloc(buf, cap * 2);
      if (!more) {
        rc = ENOMEM;
        break;
      }
      buf = more;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n == 0) break;
    if (n < 0) {
      if (errno != EINTR) rc = errno;
      continue;
    }
    len += (size_t)n;
  }
  close(fd);
  if (!rc && napi_create_string_latin1(env, buf, len, &result) != napi_ok) rc = ENOMEM;
  free(buf);
  return rc ? int_value(env, -rc) : result;
}

typedef napi_status (*external_latin1_fn)(napi_env env, char *str, size_t length, napi_finalize finalize,
                                          void *hint, napi_value *result, bool *copied);
static external_latin1_fn create_external_latin1;

/* mapBuffer and mapLatin1: the file named by the one argument, mapped, as a Buffer or a string */
static napi_value map_as(napi_env env, napi_callback_info info, bool as_string) {
  napi_value arg, result;
  if (!one_path(env, info, &arg, as_string ? "mapLatin1(path)" : "mapBuffer(path)")) return NULL;
  void *data = NULL;
  size_t len = 0;
  int rc = map_file(env, arg, &data, &len);
  if (rc) return int_value(env, -rc);
  bool copied = false;
  napi_status made = as_string
                         ? create_external_latin1(env, data, len, unmap, (void *)len, &result, &copied)
                         : napi_create_external_buffer(env, len, data, unmap, (void *)len, &result);
  /* V8 copies short strings: the mapping is not needed then */
  if (made != napi_ok || copied) munmap(data, len);
  return made == napi_ok ? result : int_value(env, -ENOMEM);
}

static napi_value MapBuffer(napi_env env, napi_callback_info info) { return map_as(env, info, false); }

static napi_value MapLatin1(napi_env env, napi_callback_info info) { return map_as(env, info, true); }

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "readLatin1", NAPI_AUTO_LENGTH, ReadLatin1, NULL, &fn);
  napi_set_named_property(env, exports, "readLatin1", fn);
  napi_create_function(env, "mapBuffer", NAPI_AUTO_LENGTH, MapBuffer, NULL, &fn);
  napi_set_named_property(env, exports, "mapBuffer", fn);
  create_external_latin1 =
      (external_latin1_fn)dlsym(RTLD_DEFAULT, "node_api_create_external_string_latin1");
  if (create_external_latin1) {
    napi_create_function(env, "mapLatin1", NAPI_AUTO_LENGTH, MapLatin1, NULL, &fn);
    napi_set_named_property(env, exports, "mapLatin1", fn);
  }
  napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, Spawn, NULL, &fn);
  napi_set_named_property(env, exports, "spawn", fn);
  napi_create_function(env, "reap", NAPI_AUTO_LENGTH, Reap, NULL, &fn);
  napi_set_named_property(env, exports, "reap", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
