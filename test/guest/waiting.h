// Helpers of guest programs that wait for children and interrupt themselves with SIGALRM
// (sys_sysv_ipc.c, sys_mqueue.c).
#ifndef LICHEN_GUEST_WAITING_H
#define LICHEN_GUEST_WAITING_H
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>

/** The child's exit status, 128+N when signal N killed it, -1 when waitpid fails. */
static inline int waitChild(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/** SIGALRMs taken by the handler alarmIn installs. */
static volatile int alarms;
static inline void onAlarm(int s) {
  (void)s;
  alarms++;
}

/** SIGALRM after `ms` milliseconds, with a handler (SA_RESTART as asked). */
static inline void alarmIn(int ms, int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onAlarm;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}
#endif
