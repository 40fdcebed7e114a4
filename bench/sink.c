/* The qmail-smtpd stand-in for the benchmarks: greets, answers every command with 250 (DATA with 354,
 * QUIT with 221) and swallows the message body up to CRLF.CRLF, reading to EOF. No files, no parsing
 * beyond that, so it costs the same behind levee and behind the C relay. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char buf[1 << 17];

static void say(const char *s) {
  size_t n = strlen(s), off = 0;
  while (off < n) {
    ssize_t w = write(1, s + off, n - off);
    if (w <= 0) _exit(1);
    off += (size_t)w;
  }
}

int main(void) {
  static const char end[] = "\r\n.\r\n";
  size_t len = 0;
  int data = 0;
  char hist[4]; /* the 4 bytes before buf[0] while in DATA, so an end split across reads is found */
  say("220 sink.bench ESMTP\r\n");
  for (;;) {
    if (!data) {
      char *nl;
      while ((nl = memchr(buf, '\n', len)) != NULL) {
        size_t l = (size_t)(nl - buf) + 1;
        if (l >= 4 && strncasecmp(buf, "DATA", 4) == 0) {
          say("354 go ahead\r\n");
          data = 1;
          memcpy(hist, "xx\r\n", 4);
        } else if (l >= 4 && strncasecmp(buf, "QUIT", 4) == 0) {
          say("221 sink.bench bye\r\n");
          return 0;
        } else {
          say("250 ok\r\n");
        }
        memmove(buf, buf + l, len - l);
        len -= l;
        if (data) break;
      }
      if (!data && len == sizeof buf) len = 0; /* an overlong line: drop it */
    }
    if (data && len > 0) {
      char edge[8];
      size_t k = len < 4 ? len : 4, stop = 0;
      memcpy(edge, hist, 4);
      memcpy(edge + 4, buf, k);
      char *m = memmem(edge, 4 + k, end, 5);
      if (m) stop = (size_t)(m - edge) + 5 - 4;
      else if ((m = memmem(buf, len, end, 5)) != NULL) stop = (size_t)(m - buf) + 5;
      if (stop) {
        say("250 ok queued\r\n");
        memmove(buf, buf + stop, len - stop);
        len -= stop;
        data = 0;
        continue;
      }
      char joined[8 + 4];
      memcpy(joined, hist, 4);
      memcpy(joined + 4, buf + len - k, k);
      memcpy(hist, joined + k, 4);
      len = 0;
    }
    ssize_t r = read(0, buf + len, sizeof buf - len);
    if (r <= 0) return 0;
    len += (size_t)r;
  }
}
