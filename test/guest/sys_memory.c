// fixture: static dynamic O2
#define _GNU_SOURCE
// Memory: malloc of many sizes, brk/sbrk, anonymous mmap with MAP_FIXED and
// mprotect then SIGSEGV on write, mremap growth keeping contents,
// munmap then SIGSEGV, madvise(DONTNEED) zeroing, a file mapping, copy-on-write after fork.
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int faults;
static void onsegv(int s) {
  (void)s;
  faults++;
  siglongjmp(jb, 1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  long sum = 0;
  for (int i = 1; i < 2000; i++) {
    char *p = malloc(i * 37);
    memset(p, i & 0xff, i * 37);
    sum += p[i * 37 - 1];
    free(p);
  }
  printf("malloc sum %ld\n", sum);
  char *big = malloc(64 << 20);
  big[(64 << 20) - 1] = 1;
  printf("64MiB malloc ok: %d\n", big != NULL);
  free(big);
  void *b0 = sbrk(0);
  sbrk(4096);
  printf("sbrk moved: %ld\n", (long)((char *)sbrk(0) - (char *)b0));
  signal(SIGSEGV, onsegv);
  char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(m, "keep");
  char *f = mmap(m + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("fixed at same place: %d\n", f == m + 4096);
  mprotect(m, 4096, PROT_READ);
  if (sigsetjmp(jb, 1) == 0) m[1] = 'x';
  printf("write to read-only faulted: %d, still '%s'\n", faults, m);
  mprotect(m, 4096, PROT_READ | PROT_WRITE);
  char *g = mremap(m, 3 * 4096, 64 * 4096, MREMAP_MAYMOVE);
  printf("mremap kept contents: '%s'\n", g);
  g[64 * 4096 - 1] = 9;
  g[100] = 5;
  madvise(g, 4096, MADV_DONTNEED);
  printf("dontneed zeroed: %d %d\n", g[100], g[0]);
  munmap(g, 64 * 4096);
  if (sigsetjmp(jb, 1) == 0) g[0] = 1;
  printf("after munmap faults: %d\n", faults);
  errno = 0;
  printf("munmap unaligned: %d %s\n", munmap(g + 1, 4096), strerror(errno));
  errno = 0;
  printf("mmap zero length: %d %s\n", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED, strerror(errno));

  int fd = open("/tmp/mapme", O_RDWR | O_CREAT | O_TRUNC, 0600);
  write(fd, "file contents here", 18);
  char *fm = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("file map: '%.18s' tail zero %d\n", fm, fm[4095]);
  close(fd);
  unlink("/tmp/mapme");

  int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *shared = 1;
  pid_t c = fork();
  if (c == 0) {
    *shared = 2;
    _exit(*shared);
  }
  int st;
  waitpid(c, &st, 0);
  printf("cow: parent %d child %d\n", *shared, WEXITSTATUS(st));
  return 0;
}
