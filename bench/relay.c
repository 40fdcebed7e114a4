/* The floor for levee's relay: the least a C program doing the same job does. It starts the child
 * (argv[1..]) on two pipes, copies client -> child and child -> client with poll() and 64 KiB buffers,
 * and watches the client's stream the way a filter must: command lines are found with memchr until
 * DATA, then the end of the body (CRLF.CRLF, also across reads) with memmem. No bare-LF repair. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 16];

static int put(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 111;
  int to[2], from[2];
  if (pipe(to) || pipe(from)) return 111;
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(to[0], 0);
    dup2(from[1], 1);
    close(to[0]), close(to[1]), close(from[0]), close(from[1]);
    execvp(argv[1], argv + 1);
    _exit(111);
  }
  close(to[0]);
  close(from[1]);
  int data = 0, lineStart = 1, clientOpen = 1;
  char hist[4] = {0, 0, '\r', '\n'};
  struct pollfd fds[2] = {{0, POLLIN, 0}, {from[0], POLLIN, 0}};
  for (;;) {
    fds[0].fd = clientOpen ? 0 : -1;
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) {
      ssize_t r = read(from[0], buf, sizeof buf);
      if (r <= 0) break;
      if (put(1, buf, (size_t)r)) break;
    }
    if (clientOpen && fds[0].revents) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r <= 0) {
        clientOpen = 0;
        close(to[1]);
        continue;
      }
      size_t n = (size_t)r, i = 0;
      while (i < n) {
        if (!data) {
          if (lineStart && n - i >= 4 && strncasecmp(buf + i, "DATA", 4) == 0) data = 2;
          char *nl = memchr(buf + i, '\n', n - i);
          if (!nl) {
            lineStart = 0;
            break;
          }
          i = (size_t)(nl - buf) + 1;
          lineStart = 1;
          if (data == 2) {
            data = 1;
            memcpy(hist, "\0\0\r\n", 4);
          } else {
            data = 0;
          }
        } else {
          char edge[8];
          size_t k = n - i < 4 ? n - i : 4;
          memcpy(edge, hist, 4);
          memcpy(edge + 4, buf + i, k);
          char *m = memmem(edge, 4 + k, "\r\n.\r\n", 5);
          size_t stop = 0;
          if (m) stop = i + (size_t)(m - edge) + 1;
          else if ((m = memmem(buf + i, n - i, "\r\n.\r\n", 5)) != NULL) stop = (size_t)(m - buf) + 5;
          if (stop) {
            data = 0;
            lineStart = 1;
            i = stop;
            continue;
          }
          if (n - i >= 4) memcpy(hist, buf + n - 4, 4);
          else {
            char j[8];
            memcpy(j, hist, 4);
            memcpy(j + 4, buf + i, n - i);
            memcpy(hist, j + (n - i), 4);
          }
          break;
        }
      }
      if (put(to[1], buf, n)) break;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 111;
}
