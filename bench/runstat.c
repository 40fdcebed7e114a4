/* Runs one command the way a client on a pipe would, and reports what it cost:
 *   runstat [--gen MIB | --hold] [--expect TEXT] [--stderr] -- command args...
 * stdin is a pipe: with --gen, an SMTP session (EHLO, MAIL, RCPT, DATA with MIB MiB of 78-byte CRLF
 * lines, QUIT) is written to it while the output is read; with --hold nothing is written and stdin is
 * closed as soon as the first output byte arrives (start-up to greeting); otherwise it is closed at
 * once. stdout is a pipe that is read to EOF. Prints one line:
 *   wall_us first_output_us max_rss_kb exit_status output_bytes input_bytes expect_found cpu_us
 * max_rss_kb is wait4()'s ru_maxrss: the largest RSS of the command or of any child it reaped;
 * cpu_us its user + system time, with the children it reaped (less moved by the load of the machine
 * than the wall time). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static const char HEAD[] = "EHLO bench.test\r\nMAIL FROM:<sender@sender.test>\r\nRCPT TO:<rcpt@example.org>\r\n"
                           "DATA\r\nSubject: bench\r\n\r\n";
static const char TAIL[] = ".\r\nQUIT\r\n";
static char block[840 * 78];
static char outbuf[1 << 16];
static char seen[1 << 16];

int main(int argc, char **argv) {
  long long gen = -1;
  int hold = 0, keepStderr = 0, a = 1;
  const char *expect = NULL;
  for (; a < argc && strcmp(argv[a], "--") != 0; a++) {
    if (!strcmp(argv[a], "--gen") && a + 1 < argc) gen = atoll(argv[++a]) * 1048576LL;
    else if (!strcmp(argv[a], "--hold")) hold = 1;
    else if (!strcmp(argv[a], "--stderr")) keepStderr = 1;
    else if (!strcmp(argv[a], "--expect") && a + 1 < argc) expect = argv[++a];
  }
  if (a + 1 >= argc) {
    fprintf(stderr, "usage: runstat [--gen MIB|--hold] [--expect TEXT] [--stderr] -- cmd args...\n");
    return 2;
  }
  if (gen > 0) gen = (gen + 77) / 78 * 78; /* whole lines, so the final "." starts a line */
  for (int i = 0; i < 840; i++) {
    memset(block + i * 78, 'a' + i % 26, 76);
    memcpy(block + i * 78 + 76, "\r\n", 2);
  }
  signal(SIGPIPE, SIG_IGN);
  int in[2], out[2];
  if (pipe(in) || pipe(out)) return 2;
  long long t0 = now_us();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    if (!keepStderr) {
      int dn = open("/dev/null", O_WRONLY);
      dup2(dn, 2);
    }
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    execvp(argv[a + 1], argv + a + 1);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  int inOpen = 1;
  if (gen < 0 && !hold) close(in[1]), inOpen = 0;
  if (inOpen) fcntl(in[1], F_SETFL, O_NONBLOCK);
  /* what to write: HEAD, then gen bytes of body, then TAIL */
  long long body = 0, inBytes = 0, outBytes = 0, first = -1;
  size_t headOff = 0, tailOff = 0, blockOff = 0, seenLen = 0;
  for (;;) {
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {inOpen && gen >= 0 ? in[1] : -1, POLLOUT, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[0].revents) {
      ssize_t r = read(out[0], outbuf, sizeof outbuf);
      if (r <= 0) break;
      if (first < 0) first = now_us() - t0;
      outBytes += r;
      size_t keep = (size_t)r < sizeof seen - seenLen ? (size_t)r : sizeof seen - seenLen;
      memcpy(seen + seenLen, outbuf, keep);
      seenLen += keep;
      if (hold && inOpen) close(in[1]), inOpen = 0;
    }
    if (p[1].revents & (POLLERR | POLLHUP)) {
      close(in[1]), inOpen = 0;
    } else if (p[1].revents & POLLOUT) {
      const char *src;
      size_t n;
      if (headOff < sizeof HEAD - 1) src = HEAD + headOff, n = sizeof HEAD - 1 - headOff;
      else if (body < gen) {
        src = block + blockOff, n = sizeof block - blockOff;
        if ((long long)n > gen - body) n = (size_t)(gen - body);
      } else src = TAIL + tailOff, n = sizeof TAIL - 1 - tailOff;
      ssize_t w = write(in[1], src, n);
      if (w > 0) {
        inBytes += w;
        if (headOff < sizeof HEAD - 1) headOff += (size_t)w;
        else if (body < gen) body += w, blockOff = (blockOff + (size_t)w) % sizeof block;
        else if ((tailOff += (size_t)w) == sizeof TAIL - 1) close(in[1]), inOpen = 0;
      } else if (w < 0 && errno != EAGAIN) {
        close(in[1]), inOpen = 0; /* the command stopped reading (it rejected us) */
      }
    }
  }
  if (inOpen) close(in[1]);
  int status = 0;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  long long wall = now_us() - t0;
  int found = expect ? memmem(seen, seenLen, expect, strlen(expect)) != NULL : 1;
  long long cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
                  ru.ru_stime.tv_usec;
  printf("%lld %lld %ld %d %lld %lld %d %lld\n", wall, first, ru.ru_maxrss,
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), outBytes, inBytes, found, cpu);
  return 0;
}
