// fixture: static dynamic O2
// Starter guest program: a loop of simple system calls (getpid, pipe, write, read, close,
// clock_gettime) whose results are checked and summarised, so the output is deterministic.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
  pid_t pid = getpid();
  long bad = 0, bytes = 0;
  for (long i = 0; i < n; i++) {
    if (syscall(SYS_getpid) != pid) bad++;
    int fds[2];
    if (pipe(fds) != 0) {
      bad++;
      continue;
    }
    char out[32], in[32];
    int len = snprintf(out, sizeof out, "msg %ld", i);
    if (write(fds[1], out, (size_t)len) != len) bad++;
    ssize_t got = read(fds[0], in, sizeof in);
    if (got != len || memcmp(in, out, (size_t)len) != 0) bad++;
    bytes += got > 0 ? got : 0;
    if (close(fds[0]) != 0 || close(fds[1]) != 0) bad++;
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) bad++;
  }
  printf("iterations %ld bytes %ld failures %ld\n", n, bytes, bad);
  return bad ? 1 : 0;
}
