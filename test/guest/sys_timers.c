// fixture: static dynamic O2 -pthread
// POSIX timers (timer_create/settime/gettime/getoverrun/delete) on every clock, SIGEV_SIGNAL,
// SIGEV_NONE, SIGEV_THREAD_ID and glibc's SIGEV_THREAD; ITIMER_VIRTUAL/ITIMER_PROF; timers
// not inherited by fork. Prints facts, never raw timings. Modes (argv[1]):
//   (none)        everything that qemu-user reproduces
//   cpu-limit     RLIMIT_CPU: SIGXCPU at the soft limit (soft raised by one), SIGKILL at hard
//   exec          a POSIX timer dies with execve, ITIMER_REAL survives (Lichen-only check)
//   itimer-tick   a fresh ITIMER_VIRTUAL reads back above its value, within one tick
//                 (Lichen-only: qemu-user charges its own translation time to the guest)
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Shows a call's result and errno (the call runs before errno is read). */
#define SHOW(label, call)                                      \
  do {                                                         \
    errno = 0;                                                 \
    long r_ = (long)(call);                                    \
    int e_ = errno;                                            \
    printf("%s: %ld %s\n", label, r_, strerror(e_));          \
  } while (0)
static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static struct timespec ms(long m) {
  struct timespec t = {m / 1000, (m % 1000) * 1000000L};
  return t;
}

static void block(int sig) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(SIG_BLOCK, &s, NULL);
}

static int wait_sig(int sig, siginfo_t *si) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  return sigwaitinfo(&s, si);
}

static timer_t make(clockid_t clk, int notify, int sig, int value) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = notify;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  timer_t id;
  if (timer_create(clk, &sev, &id) != 0) {
    printf("timer_create(%d) failed: %s\n", (int)clk, strerror(errno));
    exit(1);
  }
  return id;
}

static int arm(timer_t id, int flags, long value_ms, long interval_ms) {
  struct itimerspec its = {ms(interval_ms), ms(value_ms)};
  return timer_settime(id, flags, &its, NULL);
}

static void signal_timer(const char *name, clockid_t clk) {
  block(SIGUSR1);
  timer_t id = make(clk, SIGEV_SIGNAL, SIGUSR1, 1234);
  arm(id, 0, 10, 0);
  siginfo_t si;
  int r = wait_sig(SIGUSR1, &si);
  printf("%s: sig %d, SI_TIMER %d, value %d, overrun %d, getoverrun %d\n", name, r == SIGUSR1,
         si.si_code == SI_TIMER, si.si_value.sival_int, si.si_overrun, timer_getoverrun(id));
  timer_delete(id);
}

static volatile sig_atomic_t hits;
static volatile int seen_code, seen_value;
static void on_sig(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  hits++;
  seen_code = si->si_code;
  seen_value = si->si_value.sival_int;
}

static void handler(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(sig, &sa, NULL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
}

static void spin_until(int n) {
  for (long i = 0; hits < n && i < 4000000000L; i++) __asm__ volatile("" ::: "memory");
}

static void cpu_timer(const char *name, clockid_t clk) {
  handler(SIGUSR2);
  hits = 0;
  timer_t id = make(clk, SIGEV_SIGNAL, SIGUSR2, 55);
  struct timespec before, now;
  clock_gettime(clk, &before);
  arm(id, 0, 5, 0);
  spin_until(1);
  clock_gettime(clk, &now);
  printf("%s: hits %d, SI_TIMER %d, value %d, cpu advanced >= 5ms %d\n", name, (int)hits, seen_code == SI_TIMER,
         seen_value, ns(now) - ns(before) >= 5000000);
  timer_delete(id);
}

// a new thread's CPU clock and RUSAGE_THREAD start near zero while the process's go on
static volatile long long main_cpu_ns;
static void *thread_clock_reader(void *arg) {
  (void)arg;
  struct timespec th, pr;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &th);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &pr);
  struct rusage ru_t, ru_s;
  getrusage(RUSAGE_THREAD, &ru_t);
  getrusage(RUSAGE_SELF, &ru_s);
  long long ut = ru_t.ru_utime.tv_sec * 1000000LL + ru_t.ru_utime.tv_usec;
  long long us = ru_s.ru_utime.tv_sec * 1000000LL + ru_s.ru_utime.tv_usec;
  printf("new thread: thread clock < process clock / 2 %d, process clock >= main's 20ms %d, RUSAGE_THREAD < "
         "RUSAGE_SELF / 2 %d\n",
         ns(th) < ns(pr) / 2, ns(pr) >= main_cpu_ns, ut < us / 2);
  return NULL;
}

static void thread_clocks(void) {
  struct timespec a, b;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  do {
    for (volatile int i = 0; i < 10000; i++) {
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  } while (ns(b) - ns(a) < 20000000);
  main_cpu_ns = ns(b);
  pthread_t th;
  pthread_create(&th, NULL, thread_clock_reader, NULL);
  pthread_join(th, NULL);
}

static sem_t sem;
static volatile int thread_value;
static void notify(union sigval v) {
  thread_value = v.sival_int;
  sem_post(&sem);
}

static volatile pid_t worker_tid;
static sem_t tid_ready;
static void *worker(void *arg) {
  (void)arg;
  worker_tid = (pid_t)syscall(SYS_gettid);
  sem_post(&tid_ready);
  siginfo_t si;
  int r = wait_sig(SIGRTMIN + 2, &si);
  printf("thread id: worker got sig %d, SI_TIMER %d, value %d\n", r == SIGRTMIN + 2, si.si_code == SI_TIMER,
         si.si_value.sival_int);
  return NULL;
}

static void errors(void) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  timer_t id;
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGUSR1;
  SHOW("bad clock", timer_create(12345, &sev, &id));
  SHOW("monotonic_raw", timer_create(CLOCK_MONOTONIC_RAW, &sev, &id));
  sev.sigev_signo = 65;
  SHOW("bad signo", timer_create(CLOCK_MONOTONIC, &sev, &id));
  sev.sigev_signo = SIGUSR1;
  sev.sigev_notify = 99;
  SHOW("bad notify", timer_create(CLOCK_MONOTONIC, &sev, &id));
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev._sigev_un._tid = getppid();
  SHOW("foreign thread id", timer_create(CLOCK_MONOTONIC, &sev, &id));
  int kid;
  SHOW("bad sigevent pointer", syscall(SYS_timer_create, CLOCK_MONOTONIC, (void *)8, &kid));
  id = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  SHOW("settime NULL", timer_settime(id, 0, NULL, NULL));
  SHOW("gettime bad pointer", syscall(SYS_timer_gettime, (long)id, (void *)8));
  struct itimerspec its = {{0, 0}, {0, 1000000000}};
  SHOW("bad nsec", timer_settime(id, 0, &its, NULL));
  its.it_value.tv_nsec = 0;
  its.it_value.tv_sec = -1;
  SHOW("negative sec", timer_settime(id, 0, &its, NULL));
  timer_delete(id);
  SHOW("settime deleted", timer_settime(id, 0, &its, NULL));
  SHOW("gettime deleted", timer_gettime(id, &its));
  SHOW("getoverrun deleted", timer_getoverrun(id));
  SHOW("delete deleted", timer_delete(id));
}

// A fresh ITIMER_VIRTUAL of VIRT_US read back: pending above `above_us`, and at most one
// (4 ms) tick past its value (Linux arms a CPU timer one tick late).
#define VIRT_US 10000
static int virtual_within_tick(const struct itimerval *cur, long above_us) {
  return cur->it_value.tv_sec == 0 && cur->it_value.tv_usec > above_us && cur->it_value.tv_usec <= VIRT_US + 4000;
}

static void itimers(void) {
  struct itimerval it = {{0, 0}, {0, VIRT_US}}, cur, old;
  handler(SIGVTALRM);
  hits = 0;
  printf("setitimer virtual: %d\n", setitimer(ITIMER_VIRTUAL, &it, NULL));
  getitimer(ITIMER_VIRTUAL, &cur);
  // Linux arms a CPU timer one tick late; under qemu the emulator's own CPU time
  // (translating the code between the two calls) also counts, so only "pending, and
  // at most value + one tick" is stable across hosts.
  printf("virtual pending (at most value + one tick): %d\n", virtual_within_tick(&cur, 0));
  struct timespec req = ms(30);
  nanosleep(&req, NULL);
  printf("virtual after sleeping: hits %d\n", (int)hits);
  spin_until(1);
  printf("virtual after spinning: hits %d, code SI_KERNEL %d\n", (int)hits, seen_code == SI_KERNEL);
  getitimer(ITIMER_VIRTUAL, &cur);
  printf("virtual one-shot disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
  handler(SIGPROF);
  hits = 0;
  it.it_interval.tv_usec = 2000;
  it.it_value.tv_usec = 2000;
  setitimer(ITIMER_PROF, &it, NULL);
  spin_until(3);
  it.it_value.tv_usec = 0;
  it.it_interval.tv_usec = 0;
  setitimer(ITIMER_PROF, &it, &old);
  printf("prof: hits >= 3 %d, old interval %ld us\n", hits >= 3, (long)old.it_interval.tv_usec);
  SHOW("bad which", setitimer(5, &it, NULL));
  SHOW("getitimer bad which", getitimer(-1, &cur));
}

// a periodic timer whose signal is ignored waits; un-ignoring queues its signal at once
static void ignored_timer(void) {
  int sig = SIGRTMIN + 4;
  signal(sig, SIG_IGN);
  timer_t id = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 5);
  arm(id, 0, 2, 2);
  struct timespec req = ms(11);
  nanosleep(&req, NULL);
  block(sig);
  struct itimerspec cur;
  timer_gettime(id, &cur);
  printf("ignored periodic: gettime value > 0 %d\n", ns(cur.it_value) > 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO;
  sigaction(sig, &sa, NULL); // still blocked: the queued signal stays pending
  struct timespec zero = {0, 0};
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  siginfo_t si;
  int r = sigtimedwait(&s, &si, &zero);
  printf("un-ignored: queued at once %d, value %d, overrun >= 3 %d\n", r == sig, si.si_value.sival_int,
         si.si_overrun >= 3);
  struct timespec wait = ms(50);
  r = sigtimedwait(&s, &si, &wait);
  printf("un-ignored: keeps ticking %d\n", r == sig);
  timer_delete(id);
}

static void cpu_limit(void) {
  pid_t c = fork();
  if (c == 0) {
    struct rlimit rl = {1, 2};
    handler(SIGXCPU);
    hits = 0;
    setrlimit(RLIMIT_CPU, &rl);
    spin_until(1);
    getrlimit(RLIMIT_CPU, &rl);
    printf("SIGXCPU at soft limit: hits %d, soft now %ld, hard %ld\n", (int)hits, (long)rl.rlim_cur,
           (long)rl.rlim_max);
    fflush(stdout);
    spin_until(2);
    printf("not reached: hits %d\n", (int)hits);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf("child killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "cpu-limit") == 0) {
    cpu_limit();
    return 0;
  }
  if (argc > 2 && strcmp(argv[1], "after-exec") == 0) {
    timer_t id = (timer_t)(long)atol(argv[2]);
    struct itimerspec its;
    errno = 0;
    int r = timer_gettime(id, &its);
    printf("after exec: timer_gettime %d %s\n", r, strerror(errno));
    struct itimerval cur;
    getitimer(ITIMER_REAL, &cur);
    printf("after exec: ITIMER_REAL still armed %d\n", cur.it_value.tv_sec > 0);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "itimer-tick") == 0) {
    struct itimerval it = {{0, 0}, {0, VIRT_US}}, cur;
    setitimer(ITIMER_VIRTUAL, &it, NULL);
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("virtual pending (value + one tick): %d\n", virtual_within_tick(&cur, VIRT_US));
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "exec") == 0) {
    timer_t id = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
    arm(id, 0, 60000, 0);
    struct itimerval it = {{0, 0}, {100, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", (long)id);
    struct itimerspec its;
    printf("before exec: timer_gettime %d\n", timer_gettime(id, &its));
    execl("/proc/self/exe", argv[0], "after-exec", buf, (char *)NULL);
    printf("exec failed: %s\n", strerror(errno));
    return 1;
  }

  signal_timer("monotonic", CLOCK_MONOTONIC);
  signal_timer("realtime", CLOCK_REALTIME);
  signal_timer("boottime", CLOCK_BOOTTIME);

  // gettime/settime: remaining time, old value, disarm
  timer_t id = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 0);
  struct itimerspec its, old;
  arm(id, 0, 1000, 0);
  timer_gettime(id, &its);
  printf("gettime: armed %d, within 1s %d, interval 0 %d\n", ns(its.it_value) > 0, ns(its.it_value) <= 1000000000,
         ns(its.it_interval) == 0);
  struct itimerspec nv = {ms(250), ms(2000)};
  timer_settime(id, 0, &nv, &old);
  printf("settime old: value within 1s %d, >0 %d, interval 0 %d\n", ns(old.it_value) <= 1000000000,
         ns(old.it_value) > 0, ns(old.it_interval) == 0);
  timer_gettime(id, &its);
  printf("gettime: interval 250ms %d, value > 1s %d\n", ns(its.it_interval) == 250000000,
         ns(its.it_value) > 1000000000);
  memset(&nv, 0, sizeof nv);
  timer_settime(id, 0, &nv, &old);
  timer_gettime(id, &its);
  printf("disarm: old interval 250ms %d, now %lld/%lld\n", ns(old.it_interval) == 250000000, ns(its.it_value),
         ns(its.it_interval));
  timer_delete(id);

  // TIMER_ABSTIME on CLOCK_REALTIME, in the future and in the past
  block(SIGUSR1);
  id = make(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 7);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  its.it_interval = ms(0);
  its.it_value = now;
  its.it_value.tv_nsec += 10000000;
  if (its.it_value.tv_nsec >= 1000000000) its.it_value.tv_sec++, its.it_value.tv_nsec -= 1000000000;
  timer_settime(id, TIMER_ABSTIME, &its, NULL);
  siginfo_t si;
  int r = wait_sig(SIGUSR1, &si);
  clock_gettime(CLOCK_REALTIME, &now);
  printf("abstime: sig %d, value %d, not early %d\n", r == SIGUSR1, si.si_value.sival_int,
         ns(now) >= ns(its.it_value));
  its.it_value.tv_sec -= 100;
  timer_settime(id, TIMER_ABSTIME, &its, NULL);
  r = wait_sig(SIGUSR1, &si);
  printf("abstime in the past fires: %d\n", r == SIGUSR1);
  timer_delete(id);

  // periodic timer and overruns while the signal is blocked
  id = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 9);
  arm(id, 0, 2, 2);
  int got = 0;
  for (int i = 0; i < 3; i++) got += wait_sig(SIGUSR1, &si) == SIGUSR1 && si.si_code == SI_TIMER;
  printf("periodic: %d signals\n", got);
  struct timespec req = ms(40);
  nanosleep(&req, NULL);
  r = wait_sig(SIGUSR1, &si);
  int ov = timer_getoverrun(id);
  printf("overrun while blocked: sig %d, si_overrun >= 5 %d, getoverrun == si_overrun %d\n", r == SIGUSR1,
         si.si_overrun >= 5, ov == si.si_overrun);
  timer_delete(id);
  // Linux drops the deleted timer's queued signal; qemu-user may already hold one: drain it
  struct timespec zero = {0, 0};
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  while (sigtimedwait(&usr1, NULL, &zero) > 0) {
  }

  // SIGEV_NONE: nothing is sent, gettime counts down, a one-shot ends at 0
  block(SIGRTMIN + 3);
  id = make(CLOCK_MONOTONIC, SIGEV_NONE, SIGRTMIN + 3, 0);
  arm(id, 0, 10000, 0);
  timer_gettime(id, &its);
  printf("sigev_none: counting %d\n", ns(its.it_value) > 0 && ns(its.it_value) <= 10000000000LL);
  arm(id, 0, 20, 0);
  req = ms(30);
  nanosleep(&req, NULL);
  timer_gettime(id, &its);
  sigset_t pend;
  sigpending(&pend);
  printf("sigev_none: expired %lld, nothing pending %d\n", ns(its.it_value), !sigismember(&pend, SIGRTMIN + 3));
  arm(id, 0, 3, 5);
  req = ms(20);
  nanosleep(&req, NULL);
  timer_gettime(id, &its);
  printf("sigev_none periodic: within interval %d\n", ns(its.it_value) > 0 && ns(its.it_value) <= 5000000);
  timer_delete(id);

  // handler delivery
  handler(SIGUSR1);
  hits = 0;
  id = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 31);
  arm(id, 0, 5, 0);
  while (!hits) pause();
  printf("handler: hits %d, SI_TIMER %d, value %d\n", (int)hits, seen_code == SI_TIMER, seen_value);
  timer_delete(id);

  cpu_timer("process cputime", CLOCK_PROCESS_CPUTIME_ID);
  cpu_timer("thread cputime", CLOCK_THREAD_CPUTIME_ID);

  // SIGEV_THREAD_ID: the signal goes to the named thread
  block(SIGRTMIN + 2);
  pthread_t th;
  sem_init(&tid_ready, 0, 0);
  pthread_create(&th, NULL, worker, NULL);
  sem_wait(&tid_ready);
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGRTMIN + 2;
  sev.sigev_value.sival_int = 88;
  sev._sigev_un._tid = worker_tid;
  printf("thread id: create %d\n", timer_create(CLOCK_MONOTONIC, &sev, &id));
  arm(id, 0, 5, 0);
  pthread_join(th, NULL);
  timer_delete(id);

  // glibc's SIGEV_THREAD (a helper thread on top of SIGEV_THREAD_ID)
  sem_init(&sem, 0, 0);
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_notify_function = notify;
  sev.sigev_value.sival_int = 77;
  printf("sigev_thread: create %d\n", timer_create(CLOCK_MONOTONIC, &sev, &id));
  arm(id, 0, 5, 0);
  sem_wait(&sem);
  printf("sigev_thread: notify ran with value %d\n", thread_value);
  arm(id, 0, 2, 2);
  sem_wait(&sem);
  sem_wait(&sem);
  printf("sigev_thread periodic: notified twice\n");
  timer_delete(id);

  // fork: the child inherits no timer
  id = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  arm(id, 0, 60000, 0);
  pid_t c = fork();
  if (c == 0) {
    errno = 0;
    int g = timer_gettime(id, &its);
    printf("fork child: timer_gettime %d %s\n", g, strerror(errno));
    _exit(0);
  }
  waitpid(c, NULL, 0);
  printf("parent: timer_gettime %d\n", timer_gettime(id, &its));
  timer_delete(id);

  errors();
  thread_clocks();
  ignored_timer();
  itimers();
  return 0;
}
