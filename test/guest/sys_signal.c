// fixture: static dynamic O2
// Signals: handlers with SA_SIGINFO (si_code, si_addr), SA_RESTART on a blocking read,
// EINTR without it, masks and sigpending, sigsuspend, sigaltstack, SIGSEGV recovery via
// siglongjmp, SA_RESETHAND, SA_NODEFER, raise/kill, SIGCHLD info, alarm.
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t count;
static volatile int last_code;
static volatile void *last_addr;
static sigjmp_buf jb;
static char altstack[65536];
static volatile int on_alt;

static void h_info(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  count++;
  last_code = si->si_code;
  last_addr = si->si_addr;
  if (sig == SIGSEGV) siglongjmp(jb, 1);
}
/** Waits until process `pid` has been sleeping (blocked in a syscall) for five checks in a row. */
static void wait_blocked(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int seen = 0;
  for (;;) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (p && p[1] == ' ' && p[2] == 'S') {
      if (++seen == 5) return;
    } else {
      seen = 0;
    }
    usleep(1000);
  }
}

static void h_plain(int sig) {
  (void)sig;
  count++;
  int x;
  on_alt = (char *)&x >= altstack && (char *)&x < altstack + sizeof altstack;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h_info;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("raise: count=%d code=%d\n", count, last_code);

  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(jb, 1) == 0) {
    *(volatile int *)0x1234 = 1;
    printf("not reached\n");
  }
  printf("segv recovered: code=%d addr=%p\n", last_code, (void *)last_addr);

  sigset_t set, old, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, &old);
  sa.sa_handler = h_plain;
  sa.sa_flags = 0;
  sigaction(SIGUSR2, &sa, NULL);
  count = 0;
  kill(getpid(), SIGUSR2);
  sigpending(&pend);
  printf("blocked: pending=%d count=%d\n", sigismember(&pend, SIGUSR2), count);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("unblocked: count=%d\n", count);

  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);
  printf("altstack used: %d\n", on_alt);

  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGHUP, &sa, NULL);
  raise(SIGHUP);
  struct sigaction cur;
  sigaction(SIGHUP, NULL, &cur);
  printf("resethand: default now %d\n", cur.sa_handler == SIG_DFL);

  // EINTR vs SA_RESTART on a pipe read interrupted by a child's signal.
  // The child signals once it has seen the parent asleep for 5 ms, but a
  // process can sleep elsewhere (qemu-user takes locks and sleeps on them
  // under load), so the signal may land before the read blocks; then the
  // read returns the byte instead of EINTR. Without SA_RESTART that case is
  // recognisable (n == 1) and the round is tried again, up to 5 times: a
  // kernel that never interrupts the read still fails every attempt.
  int fds[2];
  pipe(fds);
  for (int restart = 0; restart < 2; restart++) {
    sa.sa_handler = h_plain;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGUSR1, &sa, NULL);
    ssize_t n = 0;
    int err = 0;
    char c;
    for (int attempt = 0; attempt < 5; attempt++) {
      pid_t p = fork();
      if (p == 0) {
        wait_blocked(getppid());
        kill(getppid(), SIGUSR1);
        usleep(2000);
        write(fds[1], "z", 1);
        _exit(0);
      }
      errno = 0;
      n = read(fds[0], &c, 1);
      err = errno;
      if (n < 0) read(fds[0], &c, 1);
      waitpid(p, NULL, 0);
      if (restart || n != 1) break;
    }
    printf("read restart=%d: n=%zd errno=%s\n", restart, n, n < 0 ? strerror(err) : "0");
  }

  // sigsuspend waits for a signal with a temporary mask
  sigprocmask(SIG_BLOCK, &set, &old);
  sa.sa_flags = 0;
  sigaction(SIGUSR2, &sa, NULL);
  count = 0;
  pid_t p = fork();
  if (p == 0) {
    kill(getppid(), SIGUSR2);
    _exit(0);
  }
  sigset_t empty;
  sigemptyset(&empty);
  int r = sigsuspend(&empty);
  printf("sigsuspend: r=%d errno=%s count=%d\n", r, strerror(errno), count);
  waitpid(p, NULL, 0);
  sigprocmask(SIG_SETMASK, &old, NULL);

  // SIGCHLD siginfo
  sa.sa_sigaction = h_info;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGCHLD, &sa, NULL);
  p = fork();
  if (p == 0) _exit(5);
  int st;
  while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
  }
  printf("sigchld code=%d (CLD_EXITED=%d)\n", last_code, CLD_EXITED);

  signal(SIGALRM, h_plain);
  count = 0;
  alarm(1);
  pause();
  printf("alarm fired: %d\n", count);

  signal(SIGTERM, SIG_DFL);
  raise(SIGTERM);
  printf("not reached\n");
  return 0;
}
