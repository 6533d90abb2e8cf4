// fixture: static O2
// Limits and quotas. No argument: rlimits (NOFILE lowered then EMFILE, getrlimit/prlimit),
// compared with qemu. `spin`: an endless loop (CPU-step quota). `hog`: touches memory until
// killed (memory quota). `forkbomb`: forks until EAGAIN and reports it. `bigmalloc`: one
// allocation larger than the memory quota fails cleanly.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "spin") == 0) {
    volatile unsigned long i = 0;
    for (;;) i++;
  }
  if (strcmp(mode, "hog") == 0) {
    for (;;) {
      char *p = malloc(1 << 20);
      if (!p) {
        printf("malloc failed\n");
        return 1;
      }
      memset(p, 1, 1 << 20);
    }
  }
  if (strcmp(mode, "bigmalloc") == 0) {
    void *p = malloc((size_t)4 << 30);
    printf("4GiB malloc: %s\n", p ? "succeeded" : "NULL");
    return 0;
  }
  if (strcmp(mode, "forkbomb") == 0) {
    int n = 0;
    for (;;) {
      pid_t p = fork();
      if (p == 0) {
        pause();
        _exit(0);
      }
      if (p < 0) {
        printf("fork failed after %s children: %s\n", n > 10 ? "many" : "few", strerror(errno));
        return 0;
      }
      n++;
    }
  }
  struct rlimit r = {8, 8};
  printf("setrlimit NOFILE: %d\n", setrlimit(RLIMIT_NOFILE, &r));
  int opened = 0;
  while (open("/dev/null", O_RDONLY) >= 0) opened++;
  printf("opened until %s: %d more\n", strerror(errno), opened);
  getrlimit(RLIMIT_NOFILE, &r);
  printf("getrlimit: %ld %ld\n", (long)r.rlim_cur, (long)r.rlim_max);
  r.rlim_cur = 200;
  errno = 0;
  printf("soft above hard: %d %s\n", setrlimit(RLIMIT_NOFILE, &r), strerror(errno));
  errno = 0;
  printf("bad resource: %d %s\n", getrlimit(99, &r), strerror(errno));
  return 0;
}
