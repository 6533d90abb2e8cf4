// fixture: static dynamic O2
// Time: clocks advance monotonically, nanosleep sleeps at least the request, clock_getres,
// gettimeofday against CLOCK_REALTIME, invalid arguments, itimer, times(), getrandom.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
  struct timespec a, b, r;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec req = {0, 20000000};
  printf("nanosleep: %d\n", nanosleep(&req, NULL));
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("slept at least 20ms: %d\n", ns(b) - ns(a) >= 20000000);
  printf("getres: %d res>0 %d\n", clock_getres(CLOCK_MONOTONIC, &r), ns(r) > 0);
  errno = 0;
  printf("bad clock: %d %s\n", clock_gettime(12345, &a), strerror(errno));
  req.tv_nsec = 1000000000;
  errno = 0;
  printf("bad nsec: %d %s\n", nanosleep(&req, NULL), strerror(errno));
  struct timeval tv;
  gettimeofday(&tv, NULL);
  clock_gettime(CLOCK_REALTIME, &a);
  printf("realtime after 2020: %d, tod close: %d\n", a.tv_sec > 1577836800, a.tv_sec - tv.tv_sec <= 1);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  printf("cputime nonneg: %d\n", ns(a) >= 0);
  struct itimerval it = {{0, 0}, {5, 0}};
  printf("setitimer: %d\n", setitimer(ITIMER_REAL, &it, NULL));
  struct itimerval cur;
  getitimer(ITIMER_REAL, &cur);
  printf("itimer pending: %d\n", cur.it_value.tv_usec > 0 || cur.it_value.tv_sec > 0);
  it.it_value.tv_usec = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  struct tms tm;
  printf("times ok: %d\n", times(&tm) != (clock_t)-1);
  unsigned char buf[32];
  printf("getrandom: %zd\n", getrandom(buf, sizeof buf, 0));
  struct timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_nsec += 1000000;
  if (abs.tv_nsec >= 1000000000) abs.tv_sec++, abs.tv_nsec -= 1000000000;
  printf("clock_nanosleep abs: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
  return 0;
}
