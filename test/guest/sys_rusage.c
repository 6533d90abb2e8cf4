// fixture: static
// getrusage/wait4/waitid resource usage: ru_maxrss (KiB) of the process, of a thread, of
// waited-for children (RUSAGE_CHILDREN and the rusage of wait4/waitid); EINVAL for an unknown
// `who`. Under qemu the figures include the emulator's own memory, so by default the program
// prints only what holds for both: growth by at least what it touched, children that touched
// more, and the order between the calls. With the argument `with-exec` (Lichen only) it also
// checks what needs exact figures, and the peak across exec (qemu-user cannot exec).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static long maxrss(int who) {
  struct rusage ru;
  if (getrusage(who, &ru) != 0) {
    perror("getrusage");
    exit(1);
  }
  return ru.ru_maxrss;
}

/** Maps and writes `bytes` of fresh memory (each page once), then unmaps it. */
static void touch(long bytes) {
  char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  for (long i = 0; i < bytes; i += 4096) p[i] = 1;
  munmap(p, bytes);
}

/**
 * Checks that need the process's memory to change only by what the program does: under qemu
 * the emulator's own allocations count too, so they run with the argument `with-exec` (Lichen).
 */
static int strict;

static void *thread_main(void *arg) {
  (void)arg;
  long self = maxrss(RUSAGE_SELF);
  long thread = maxrss(RUSAGE_THREAD);
  if (strict) printf("thread: RUSAGE_THREAD maxrss == RUSAGE_SELF maxrss: %s\n", thread == self ? "yes" : "no");
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
    // After exec the peak of the image before it still counts (Linux keeps it in signal->maxrss).
    long before = atol(argv[2]);
    printf("after exec: maxrss >= the peak before exec: %s\n", maxrss(RUSAGE_SELF) >= before ? "yes" : "no");
    return 0;
  }

  strict = argc > 1 && strcmp(argv[1], "with-exec") == 0;
  long start = maxrss(RUSAGE_SELF);
  printf("start: maxrss > 0: %s\n", start > 0 ? "yes" : "no");
  // 64 MiB, of which 48 must show: qemu's own peak before main() may lie above its resident set.
  touch(64 * MIB);
  long after = maxrss(RUSAGE_SELF);
  printf("after touching 64 MiB: grew by >= 48 MiB: %s\n", after - start >= 48 * 1024 ? "yes" : "no");
  touch(4 * MIB);
  if (strict)
    printf("after touching 4 MiB more (unmapped in between): did not grow by 4 MiB: %s\n",
         maxrss(RUSAGE_SELF) - after < 4096 ? "yes" : "no");
  printf("no children yet: RUSAGE_CHILDREN maxrss is 0: %s\n", maxrss(RUSAGE_CHILDREN) == 0 ? "yes" : "no");

  pthread_t th;
  pthread_create(&th, NULL, thread_main, NULL);
  pthread_join(th, NULL);

  // A child that touches 96 MiB: wait4 reports its peak, and RUSAGE_CHILDREN takes it.
  pid_t c = fork();
  if (c == 0) {
    touch(96 * MIB);
    _exit(0);
  }
  struct rusage ru;
  int st;
  if (wait4(c, &st, 0, &ru) != c) {
    perror("wait4");
    return 1;
  }
  long self = maxrss(RUSAGE_SELF);
  printf("wait4: child maxrss >= 96 MiB: %s\n", ru.ru_maxrss >= 96 * 1024 ? "yes" : "no");
  printf("wait4: child maxrss > parent's: %s\n", ru.ru_maxrss > self ? "yes" : "no");
  long children = maxrss(RUSAGE_CHILDREN);
  printf("RUSAGE_CHILDREN maxrss == wait4's: %s\n", children == ru.ru_maxrss ? "yes" : "no");
  if (strict) printf("RUSAGE_SELF maxrss unchanged by the child: %s\n", self - after < 4096 ? "yes" : "no");

  // A grandchild's peak reaches the parent through the child's wait (RUSAGE_BOTH).
  c = fork();
  if (c == 0) {
    pid_t g = fork();
    if (g == 0) {
      touch(128 * MIB);
      _exit(0);
    }
    waitpid(g, NULL, 0);
    _exit(0);
  }
  siginfo_t si;
  memset(&ru, 0, sizeof ru);
  if (syscall(SYS_waitid, P_PID, c, &si, WEXITED, &ru) != 0) {
    perror("waitid");
    return 1;
  }
  printf("waitid: child maxrss includes its own child's 128 MiB: %s\n", ru.ru_maxrss >= 128 * 1024 ? "yes" : "no");
  printf("RUSAGE_CHILDREN maxrss is the larger of the two children: %s\n",
         maxrss(RUSAGE_CHILDREN) == ru.ru_maxrss ? "yes" : "no");

  errno = 0;
  printf("getrusage(5) -> %d %s\n", getrusage(5, &ru), strerror(errno));

  // qemu-user cannot exec an aarch64 binary (no binfmt_misc): Lichen-only part.
  if (!strict) return 0;
  char peak[32];
  snprintf(peak, sizeof peak, "%ld", maxrss(RUSAGE_SELF));
  fflush(stdout);
  execl("/proc/self/exe", argv[0], "exec-child", peak, (char *)NULL);
  perror("execl");
  return 1;
}
