// fixture: static dynamic
#define _GNU_SOURCE
// System V IPC: message queues, semaphores and shared memory as Linux behaves (ids, keys,
// permissions, limits, blocking waits, EIDRM, EINTR, SEM_UNDO, attachments across fork).
// Every object is created with IPC_PRIVATE (or a key derived from the pid) and removed again:
// under qemu-user the calls reach the host kernel. Output never shows ids, pids or times.
// Argument: one section (msg, sem, shm, hostile); none runs them all.
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096

static void res(const char *what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %ld\n", what, r);
}

static int waitChild(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static volatile int alarms;
static void onAlarm(int s) {
  (void)s;
  alarms++;
}

/** SIGALRM after `ms` milliseconds, with a handler (SA_RESTART as asked). */
static void alarmIn(int ms, int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onAlarm;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

/** Drops to an unprivileged user in a child (EACCES checks). */
static void becomeNobody(void) {
  if (setgid(65534) != 0 || setuid(65534) != 0) {
    printf("cannot drop privileges\n");
    _exit(99);
  }
}

struct msgbuf64 {
  long mtype;
  char mtext[8200];
};

static struct msgbuf64 mb;

static long snd(int q, long type, const char *text, int flags) {
  mb.mtype = type;
  size_t n = strlen(text);
  memcpy(mb.mtext, text, n);
  return msgsnd(q, &mb, n, flags);
}

/** Receives one message and prints it (type and text) or the error. */
static void rcv(const char *what, int q, size_t size, long type, int flags) {
  memset(&mb, 0, sizeof mb);
  long r = msgrcv(q, &mb, size, type, flags);
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %ld type %ld '%.*s'\n", what, r, mb.mtype, r > 16 ? 16 : (int)r, mb.mtext);
}

static void msgSection(void) {
  printf("== msg\n");
  int q = msgget(IPC_PRIVATE, 0600);
  printf("msgget private: %s\n", q >= 0 ? "ok" : strerrorname_np(errno));
  struct msqid_ds ds;
  res("IPC_STAT", msgctl(q, IPC_STAT, &ds));
  printf("mode %o qbytes %lu qnum %lu cbytes %lu uid %u cuid %u key %d ctime %s lspid %d\n",
         ds.msg_perm.mode, ds.msg_qbytes, ds.msg_qnum, ds.msg_cbytes, ds.msg_perm.uid, ds.msg_perm.cuid,
         ds.msg_perm.__key, ds.msg_ctime > 0 ? "set" : "zero", ds.msg_lspid);

  // types: 0 takes the first, >0 the first of that type, <0 the lowest type <= |t|
  snd(q, 5, "five", 0);
  snd(q, 2, "two", 0);
  snd(q, 7, "seven", 0);
  snd(q, 2, "two-b", 0);
  snd(q, 1, "one", 0);
  msgctl(q, IPC_STAT, &ds);
  printf("queued %lu bytes %lu lspid-is-me %d stime %s\n", ds.msg_qnum, ds.msg_cbytes, ds.msg_lspid == getpid(),
         ds.msg_stime > 0 ? "set" : "zero");
  rcv("type 2", q, 100, 2, 0);
  rcv("type -6", q, 100, -6, 0);
  rcv("type 0", q, 100, 0, 0);
  rcv("except 7", q, 100, 7, MSG_EXCEPT);
  rcv("type 9 nowait", q, 100, 9, IPC_NOWAIT);
  rcv("small buffer", q, 3, 0, 0);
  rcv("noerror", q, 3, 0, MSG_NOERROR);
  rcv("empty nowait", q, 100, 0, IPC_NOWAIT);
  msgctl(q, IPC_STAT, &ds);
  // (msg_lrpid is not shown: qemu-user writes msg_lspid as 8 bytes over it)
  printf("after: qnum %lu cbytes %lu rtime %s\n", ds.msg_qnum, ds.msg_cbytes, ds.msg_rtime > 0 ? "set" : "zero");

  // MSG_COPY: the n-th message stays queued
  snd(q, 3, "c0", 0);
  snd(q, 4, "c1", 0);
  rcv("copy 1", q, 100, 1, MSG_COPY | IPC_NOWAIT);
  rcv("copy 5", q, 100, 5, MSG_COPY | IPC_NOWAIT);
  rcv("copy without nowait", q, 100, 0, MSG_COPY);
  rcv("then 0", q, 100, 0, 0);
  rcv("then 0", q, 100, 0, 0);

  // limits
  res("msgsnd type 0", snd(q, 0, "x", 0));
  res("msgsnd size msgmax+1", msgsnd(q, &mb, 8193, 0));
  memset(mb.mtext, 'a', 8192);
  mb.mtype = 1;
  res("msgsnd size msgmax", msgsnd(q, &mb, 8192, 0));
  res("msgsnd 2", msgsnd(q, &mb, 8192, 0));
  res("full nowait", msgsnd(q, &mb, 1, IPC_NOWAIT));
  // a smaller queue via IPC_SET
  msgctl(q, IPC_STAT, &ds);
  ds.msg_qbytes = 100;
  ds.msg_perm.mode = 0640;
  res("IPC_SET", msgctl(q, IPC_SET, &ds));
  msgctl(q, IPC_STAT, &ds);
  printf("mode %o qbytes %lu\n", ds.msg_perm.mode, ds.msg_qbytes);
  rcv("drain", q, 9000, 0, 0);
  rcv("drain", q, 9000, 0, 0);
  res("msgsnd 101 to qbytes 100", msgsnd(q, &mb, 101, IPC_NOWAIT));
  res("msgsnd 100", msgsnd(q, &mb, 100, IPC_NOWAIT));
  rcv("drain", q, 9000, 0, IPC_NOWAIT);
  ds.msg_qbytes = 16384;
  msgctl(q, IPC_SET, &ds);

  // producer/consumer across fork: the consumer blocks before anything is sent
  pid_t pid = fork();
  if (pid == 0) {
    msleep(30);
    for (int i = 1; i <= 20; i++) {
      char text[32];
      snprintf(text, sizeof text, "msg-%d", i);
      if (snd(q, 1 + i % 3, text, 0) != 0) _exit(1);
    }
    snd(q, 9, "end", 0);
    _exit(0);
  }
  int total = 0, count = 0;
  for (;;) {
    long r = msgrcv(q, &mb, 100, 0, 0);
    if (r < 0) {
      printf("consumer: %s\n", strerrorname_np(errno));
      break;
    }
    if (mb.mtype == 9) break;
    count++;
    total += atoi(mb.mtext + 4);
  }
  printf("consumer got %d messages, sum %d, producer %d\n", count, total, waitChild(pid));

  // a blocked sender wakes when a receiver makes room
  ds.msg_qbytes = 10;
  msgctl(q, IPC_SET, &ds);
  snd(q, 1, "0123456789", 0);
  pid = fork();
  if (pid == 0) {
    long r = snd(q, 2, "abc", 0); // blocks: the queue is full
    _exit(r == 0 ? 0 : 1);
  }
  msleep(50);
  rcv("make room", q, 100, 1, 0);
  printf("blocked sender: %d\n", waitChild(pid));
  rcv("its message", q, 100, 0, IPC_NOWAIT);

  // a waiting receiver is interrupted by a signal (EINTR, even with SA_RESTART)
  alarmIn(30, 1);
  rcv("interrupted rcv", q, 100, 0, 0);
  alarmIn(30, 0);
  snd(q, 1, "0123456789", 0);
  res("interrupted snd", snd(q, 1, "x", 0));
  printf("alarms %d\n", alarms);
  rcv("drain", q, 100, 0, IPC_NOWAIT);

  // removal wakes waiters with EIDRM
  pid = fork();
  if (pid == 0) {
    long r = msgrcv(q, &mb, 100, 0, 0);
    _exit(r < 0 && errno == EIDRM ? 7 : 1);
  }
  msleep(50);
  res("IPC_RMID", msgctl(q, IPC_RMID, NULL));
  printf("waiter saw EIDRM: %d\n", waitChild(pid) == 7);
  res("stale id", msgsnd(q, &mb, 1, 0));
  res("stale IPC_STAT", msgctl(q, IPC_STAT, &ds));
  res("stale IPC_RMID", msgctl(q, IPC_RMID, NULL));

  // keys: create, EEXIST, lookup, ENOENT, permission
  key_t key = 0x5a000000 | (getpid() & 0xffffff);
  int k1 = msgget(key, IPC_CREAT | IPC_EXCL | 0640);
  printf("keyed create: %s\n", k1 >= 0 ? "ok" : strerrorname_np(errno));
  res("again EXCL", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
  printf("lookup same id: %d\n", msgget(key, 0) == k1);
  res("missing key", msgget(key + 1, 0600));
  msgctl(k1, IPC_STAT, &ds);
  printf("key matches %d mode %o\n", ds.msg_perm.__key == key, ds.msg_perm.mode);
  pid = fork();
  if (pid == 0) {
    becomeNobody();
    printf("nobody msgget: %d\n", msgget(key, 0) == k1);
    res("nobody msgget 0400", msgget(key, 0400));
    res("nobody msgsnd", snd(k1, 1, "x", IPC_NOWAIT));
    rcv("nobody msgrcv", k1, 10, 0, IPC_NOWAIT);
    res("nobody IPC_STAT", msgctl(k1, IPC_STAT, &ds));
    res("nobody IPC_RMID", msgctl(k1, IPC_RMID, NULL));
    _exit(0);
  }
  waitChild(pid);
  struct msginfo mi;
  int maxidx = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
  printf("IPC_INFO ok %d msgmax %d msgmnb %d msgmni %d msgssz %d msgseg %u\n", maxidx >= 0, mi.msgmax, mi.msgmnb,
         mi.msgmni, mi.msgssz, mi.msgseg);
  maxidx = msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
  printf("MSG_INFO ok %d queues>=1 %d\n", maxidx >= 0, mi.msgpool >= 1);
  // MSG_STAT takes an index and returns the id
  int found = 0;
  for (int i = 0; i <= maxidx; i++) {
    int id = msgctl(i, MSG_STAT, &ds);
    if (id == k1) found = 1;
  }
  printf("MSG_STAT finds the queue: %d\n", found);
  res("IPC_RMID keyed", msgctl(k1, IPC_RMID, NULL));
  res("key gone", msgget(key, 0));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *only = argc > 1 ? argv[1] : NULL;
  if (!only || !strcmp(only, "msg")) msgSection();
  printf("done\n");
  return 0;
}
