// fixture: static dynamic O2
// epoll (level and edge triggered, oneshot, timeouts), timerfd (one-shot and periodic),
// signalfd (blocked signal read as signalfd_siginfo).
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int p[2];
  pipe(p);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
  printf("ctl add: %d, again: %d %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), strerror(errno));
  struct epoll_event out[4];
  printf("wait empty: %d\n", epoll_wait(ep, out, 4, 0));
  write(p[1], "x", 1);
  int n = epoll_wait(ep, out, 4, 100);
  printf("wait data: %d data=%llu in=%d\n", n, (unsigned long long)out[0].data.u64, (out[0].events & EPOLLIN) != 0);
  printf("level again: %d\n", epoll_wait(ep, out, 4, 0));
  ev.events = EPOLLIN | EPOLLET;
  epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
  printf("edge first: %d\n", epoll_wait(ep, out, 4, 0));
  printf("edge repeat: %d\n", epoll_wait(ep, out, 4, 0));
  write(p[1], "y", 1);
  printf("edge new data: %d\n", epoll_wait(ep, out, 4, 0));
  ev.events = EPOLLIN | EPOLLONESHOT;
  epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
  printf("oneshot: %d then %d\n", epoll_wait(ep, out, 4, 0), epoll_wait(ep, out, 4, 0));
  printf("ctl del: %d\n", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));

  int tf = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec its = {{0, 2000000}, {0, 1000000}};
  timerfd_settime(tf, 0, &its, NULL);
  ev.events = EPOLLIN;
  ev.data.u64 = 5;
  epoll_ctl(ep, EPOLL_CTL_ADD, tf, &ev);
  n = epoll_wait(ep, out, 4, 1000);
  printf("timerfd via epoll: %d data=%llu\n", n, (unsigned long long)out[0].data.u64);
  uint64_t exp;
  read(tf, &exp, 8);
  printf("expirations >= 1: %d\n", exp >= 1);
  usleep(10000);
  read(tf, &exp, 8);
  printf("periodic expirations >= 2: %d\n", exp >= 2);

  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigprocmask(SIG_BLOCK, &m, NULL);
  int sf = signalfd(-1, &m, 0);
  kill(getpid(), SIGUSR1);
  struct signalfd_siginfo si;
  printf("signalfd read: %zd signo=%u code=%d\n", read(sf, &si, sizeof si), si.ssi_signo, si.ssi_code);
  return 0;
}
