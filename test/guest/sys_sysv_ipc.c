// fixture: static dynamic
#define _GNU_SOURCE
// System V IPC: message queues, semaphores and shared memory as Linux behaves (ids, keys,
// permissions, limits, blocking waits, EIDRM, EINTR, SEM_UNDO, attachments across fork).
// Every object is created with IPC_PRIVATE (or a key derived from the pid) and removed again:
// under qemu-user the calls reach the host kernel. Output never shows ids, pids or times.
// qemu-user converts ipc_perm.mode as 16 bits (the upper half keeps what the buffer held), so
// modes are printed masked.
// Argument: one section (msg, sem, shm, hostile); none runs them all.
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
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
#include "waiting.h"

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

#define PG 4096

static void res(const char *what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %ld\n", what, r);
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
         ds.msg_perm.mode & 0xffff, ds.msg_qbytes, ds.msg_qnum, ds.msg_cbytes, ds.msg_perm.uid, ds.msg_perm.cuid,
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
  printf("mode %o qbytes %lu\n", ds.msg_perm.mode & 0xffff, ds.msg_qbytes);
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
  msleep(200);
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
  printf("key matches %d mode %o\n", ds.msg_perm.__key == key, ds.msg_perm.mode & 0xffff);
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

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
  struct seminfo *__buf;
};

static long semop1(int id, int num, int op, int flg) {
  struct sembuf b = {(unsigned short)num, (short)op, (short)flg};
  return semop(id, &b, 1);
}

static void showVals(const char *what, int id, int n) {
  unsigned short v[8];
  union semun u = {.array = v};
  if (semctl(id, 0, GETALL, u) != 0) {
    printf("%s: GETALL %s\n", what, strerrorname_np(errno));
    return;
  }
  printf("%s:", what);
  for (int i = 0; i < n; i++) printf(" %u", v[i]);
  printf("\n");
}

/** Waits (up to 10 s) until semctl(id, num, cmd) is `want`: the children have gone to sleep. */
static void waitCount(int id, int num, int cmd, int want) {
  for (int i = 0; i < 1000 && semctl(id, num, cmd) != want; i++) msleep(10);
}

/** A child that runs one semop and exits with 0 or 100 + errno. */
static pid_t semChild(int id, int num, int op, int flg) {
  pid_t pid = fork();
  if (pid == 0) _exit(semop1(id, num, op, flg) == 0 ? 0 : 100 + errno);
  return pid;
}

static void semSection(void) {
  printf("== sem\n");
  res("nsems 0", semget(IPC_PRIVATE, 0, 0600));
  res("nsems -1", semget(IPC_PRIVATE, -1, 0600));
  res("nsems 32001", semget(IPC_PRIVATE, 32001, 0600));
  int id = semget(IPC_PRIVATE, 3, 0600);
  printf("semget: %s\n", id >= 0 ? "ok" : strerrorname_np(errno));
  struct semid_ds ds;
  union semun u = {.buf = &ds};
  res("IPC_STAT", semctl(id, 0, IPC_STAT, u));
  printf("nsems %lu mode %o otime %s ctime %s\n", ds.sem_nsems, ds.sem_perm.mode & 0xffff, ds.sem_otime ? "set" : "zero",
         ds.sem_ctime ? "set" : "zero");
  showVals("initial", id, 3);
  u.val = 5;
  res("SETVAL 5", semctl(id, 0, SETVAL, u));
  res("GETVAL", semctl(id, 0, GETVAL));
  printf("GETPID is me: %d\n", semctl(id, 0, GETPID) == getpid());
  u.val = 32767;
  res("SETVAL 32767", semctl(id, 1, SETVAL, u));
  u.val = 32768;
  res("SETVAL 32768", semctl(id, 1, SETVAL, u));
  u.val = -1;
  res("SETVAL -1", semctl(id, 1, SETVAL, u));
  u.val = 1;
  res("SETVAL semnum 3", semctl(id, 3, SETVAL, u));
  res("GETVAL semnum -1", semctl(id, -1, GETVAL));
  unsigned short all[3] = {1, 40000, 2};
  u.array = all;
  res("SETALL 40000", semctl(id, 0, SETALL, u));
  all[1] = 0;
  res("SETALL", semctl(id, 0, SETALL, u));
  showVals("after SETALL", id, 3);
  res("bad cmd", semctl(id, 0, 99));

  // all or nothing
  struct sembuf two[2] = {{0, -1, IPC_NOWAIT}, {2, -3, IPC_NOWAIT}};
  res("atomic pair nowait", semop(id, two, 2));
  showVals("unchanged", id, 3);
  two[1].sem_op = -2;
  res("atomic pair", semop(id, two, 2));
  showVals("both applied", id, 3);
  struct sembuf same[3] = {{1, 2, 0}, {1, -1, 0}, {1, -1, IPC_NOWAIT}};
  res("same semaphore thrice", semop(id, same, 3));
  same[2].sem_op = -2;
  res("same semaphore overdrawn", semop(id, same, 3));
  showVals("after", id, 3);
  res("wait-zero nowait", semop1(id, 1, 0, 0) == 0 ? 0 : -1);
  u.val = 32767;
  semctl(id, 2, SETVAL, u);
  res("over SEMVMX", semop1(id, 2, 1, 0));
  res("semnum 3", semop1(id, 3, 1, 0));
  res("nsops 0", semop(id, two, 0));
  static struct sembuf many[501];
  res("nsops 501", semop(id, many, 501));
  res("null sops", semop(id, NULL, 1));
  struct timespec bad = {0, 1000000000L};
  res("bad timeout", semtimedop(id, two, 1, &bad));
  struct timespec shortWait = {0, 30000000L};
  u.val = 0;
  semctl(id, 0, SETVAL, u);
  res("semtimedop timeout", semtimedop(id, two, 1, &shortWait));
  struct sembuf dec = {0, -1, 0};
  res("semtimedop NULL timeout nowait", (dec.sem_flg = IPC_NOWAIT, semtimedop(id, &dec, 1, NULL)));

  // waiters: GETNCNT / GETZCNT, woken by SETVAL and by semop
  pid_t a = semChild(id, 0, -2, 0);
  u.val = 1;
  semctl(id, 1, SETVAL, u);
  pid_t b = semChild(id, 1, 0, 0);
  waitCount(id, 0, GETNCNT, 1);
  waitCount(id, 1, GETZCNT, 1);
  printf("ncnt0 %d zcnt1 %d ncnt1 %d\n", semctl(id, 0, GETNCNT), semctl(id, 1, GETZCNT), semctl(id, 1, GETNCNT));
  res("add 1 (not enough)", semop1(id, 0, 1, 0));
  msleep(20);
  printf("ncnt0 %d\n", semctl(id, 0, GETNCNT));
  res("add 1", semop1(id, 0, 1, 0));
  printf("decrementer: %d\n", waitChild(a));
  u.val = 0;
  semctl(id, 1, SETVAL, u);
  printf("zero waiter: %d\n", waitChild(b));
  showVals("now", id, 3);

  // a signal interrupts a sleeping semop: EINTR, even with SA_RESTART
  alarmIn(30, 1);
  res("interrupted semop", semop1(id, 0, -1, 0));
  alarmIn(30, 0);
  res("interrupted semtimedop", semtimedop(id, &(struct sembuf){0, -1, 0}, 1, &(struct timespec){5, 0}));
  printf("alarms %d\n", alarms);

  // SEM_UNDO: the adjustment is applied when the process exits
  u.val = 5;
  semctl(id, 0, SETVAL, u);
  printf("undo child: %d\n", waitChild(semChild(id, 0, -1, SEM_UNDO)));
  res("restored", semctl(id, 0, GETVAL));
  printf("GETPID is the child: %d\n", semctl(id, 0, GETPID) != getpid());
  printf("undo child +2: %d\n", waitChild(semChild(id, 0, 2, SEM_UNDO)));
  res("restored", semctl(id, 0, GETVAL));
  // clamped at 0: the child adds 3 (adjustment -3) and waits for zero, the parent takes 8
  pid_t c = fork();
  if (c == 0) {
    semop1(id, 0, 3, SEM_UNDO);
    semop1(id, 0, 0, 0);
    _exit(0);
  }
  res("take 8", semop1(id, 0, -8, 0));
  waitChild(c);
  res("clamped", semctl(id, 0, GETVAL));
  // SETVAL clears adjustments
  u.val = 4;
  semctl(id, 0, SETVAL, u);
  c = fork();
  if (c == 0) {
    semop1(id, 0, -1, SEM_UNDO);
    msleep(60);
    _exit(0);
  }
  msleep(30);
  u.val = 10;
  semctl(id, 0, SETVAL, u);
  waitChild(c);
  res("after SETVAL and exit", semctl(id, 0, GETVAL));
  // a waiter blocked on the exit's undo
  u.val = 0;
  semctl(id, 0, SETVAL, u);
  c = fork();
  if (c == 0) {
    semop1(id, 0, 1, SEM_UNDO); // adjustment -1
    msleep(60);
    _exit(0);
  }
  msleep(20);
  pid_t zw = semChild(id, 0, 0, 0); // waits for zero: the exit's undo gives it
  printf("undo wakes zero waiter: %d %d\n", waitChild(c), waitChild(zw));
  // undo range: adjustments beyond -32768..32767 are ERANGE
  u.val = 0;
  semctl(id, 2, SETVAL, u);
  res("undo 32767", semop1(id, 2, 32767, SEM_UNDO));
  res("undo -32767", semop1(id, 2, -32767, SEM_UNDO));
  u.val = 32767;
  semctl(id, 2, SETVAL, u);
  res("undo -32767 again", semop1(id, 2, -32767, SEM_UNDO));
  semop1(id, 2, 1, 0);
  res("undo past SEMAEM", semop1(id, 2, -1, SEM_UNDO));
  res("value kept", semctl(id, 2, GETVAL));

  // a semaphore guards a counter in shared memory across four processes
  volatile int *counter = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  *counter = 0;
  u.val = 1;
  semctl(id, 1, SETVAL, u);
  pid_t kids[4];
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      for (int j = 0; j < 200; j++) {
        if (semop1(id, 1, -1, SEM_UNDO) != 0) _exit(1);
        int v = *counter;
        if (j % 16 == 0) sched_yield();
        *counter = v + 1;
        if (semop1(id, 1, 1, SEM_UNDO) != 0) _exit(2);
      }
      _exit(0);
    }
  }
  int bad_exits = 0;
  for (int i = 0; i < 4; i++) bad_exits += waitChild(kids[i]) != 0;
  printf("counter %d bad exits %d sem %d\n", *counter, bad_exits, semctl(id, 1, GETVAL));

  // permissions
  pid_t p = fork();
  if (p == 0) {
    becomeNobody();
    res("nobody GETVAL", semctl(id, 0, GETVAL));
    union semun v1 = {.val = 1};
    res("nobody SETVAL", semctl(id, 0, SETVAL, v1));
    res("nobody semop", semop1(id, 0, 1, IPC_NOWAIT));
    res("nobody wait-zero", semop1(id, 0, 0, IPC_NOWAIT));
    res("nobody IPC_RMID", semctl(id, 0, IPC_RMID));
    _exit(0);
  }
  waitChild(p);
  semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
  ds.sem_perm.mode = 0604;
  res("IPC_SET", semctl(id, 0, IPC_SET, (union semun){.buf = &ds}));
  p = fork();
  if (p == 0) {
    becomeNobody();
    res("nobody GETVAL after IPC_SET", semctl(id, 0, GETVAL) >= 0 ? 0 : -1);
    res("nobody semop after IPC_SET", semop1(id, 0, 1, IPC_NOWAIT));
    _exit(0);
  }
  waitChild(p);

  // removal wakes sleepers with EIDRM
  u.val = 0;
  semctl(id, 0, SETVAL, u);
  a = semChild(id, 0, -1, 0);
  waitCount(id, 0, GETNCNT, 1);
  res("IPC_RMID", semctl(id, 0, IPC_RMID));
  printf("sleeper: %d (EIDRM is %d)\n", waitChild(a) - 100, EIDRM);
  res("stale GETVAL", semctl(id, 0, GETVAL));
  res("stale semop", semop1(id, 0, 1, 0));

  // keys, nsems rules for an existing set, *_INFO, SEM_STAT
  key_t key = 0x5b000000 | (getpid() & 0xffffff);
  int k1 = semget(key, 4, IPC_CREAT | 0600);
  printf("keyed: %s\n", k1 >= 0 ? "ok" : strerrorname_np(errno));
  printf("lookup 0 sems: %d, 4 sems: %d\n", semget(key, 0, 0) == k1, semget(key, 4, 0) == k1);
  res("lookup 5 sems", semget(key, 5, 0));
  res("EXCL", semget(key, 4, IPC_CREAT | IPC_EXCL | 0600));
  struct seminfo si;
  int maxidx = semctl(0, 0, IPC_INFO, (union semun){.__buf = &si});
  printf("IPC_INFO ok %d semmsl %d semmns %d semopm %d semmni %d semvmx %d semaem %d\n", maxidx >= 0, si.semmsl,
         si.semmns, si.semopm, si.semmni, si.semvmx, si.semaem);
  maxidx = semctl(0, 0, SEM_INFO, (union semun){.__buf = &si});
  printf("SEM_INFO ok %d sets>=1 %d sems>=4 %d\n", maxidx >= 0, si.semusz >= 1, si.semaem >= 4);
  int found = 0;
  for (int i = 0; i <= maxidx; i++)
    if (semctl(i, 0, SEM_STAT, (union semun){.buf = &ds}) == k1) found = ds.sem_nsems == 4;
  printf("SEM_STAT finds the set: %d\n", found);
  res("IPC_RMID keyed", semctl(k1, 0, IPC_RMID));
}

static sigjmp_buf jb;
static volatile int faultSig;
static void onFault(int sig) {
  faultSig = sig;
  siglongjmp(jb, 1);
}

/** Writes one byte at p, reporting a fault instead of dying. */
static void tryWrite(const char *what, volatile char *p, char v) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onFault;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  faultSig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    *p = v;
    printf("%s: written\n", what);
  } else
    printf("%s: %s\n", what, faultSig == SIGSEGV ? "SIGSEGV" : faultSig == SIGBUS ? "SIGBUS" : "signal");
}

static struct shmid_ds sds;

static void shmShow(const char *what, int id) {
  if (shmctl(id, IPC_STAT, &sds) != 0) {
    printf("%s: IPC_STAT %s\n", what, strerrorname_np(errno));
    return;
  }
  printf("%s: segsz %zu nattch %lu mode %o key0 %d cpid-me %d\n", what, sds.shm_segsz, sds.shm_nattch,
         sds.shm_perm.mode & 0xffff, sds.shm_perm.__key == 0, sds.shm_cpid == getpid());
}

/** A page-aligned address with nothing mapped at it (and `pages` pages free). */
static char *freeHole(int pages) {
  char *p = mmap(NULL, (size_t)pages * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(p, (size_t)pages * PG);
  return p;
}

static void shmSection(void) {
  printf("== shm\n");
  res("size 0", shmget(IPC_PRIVATE, 0, 0600));
  res("size SIZE_MAX", shmget(IPC_PRIVATE, SIZE_MAX, 0600));
  res("size 2^62", shmget(IPC_PRIVATE, 1UL << 62, 0600));
  int id = shmget(IPC_PRIVATE, 10000, 0600);
  printf("shmget: %s\n", id >= 0 ? "ok" : strerrorname_np(errno));
  shmShow("fresh", id);
  printf("atime %s dtime %s ctime %s\n", sds.shm_atime ? "set" : "zero", sds.shm_dtime ? "set" : "zero",
         sds.shm_ctime ? "set" : "zero");
  char *a = shmat(id, NULL, 0);
  printf("shmat: %s aligned %d\n", a != (void *)-1 ? "ok" : strerrorname_np(errno), ((uintptr_t)a % PG) == 0);
  memset(a, 0, 10000);
  strcpy(a, "hello segment");
  a[9999] = 'z';
  tryWrite("tail of the last page", a + 12000, 1);
  shmShow("attached", id);
  printf("atime %s lpid-me %d\n", sds.shm_atime ? "set" : "zero", sds.shm_lpid == getpid());
  char *b = shmat(id, NULL, 0);
  printf("second attach: distinct %d sees '%s' %c\n", a != b, b, b[9999]);
  b[0] = 'H';
  printf("first sees: %s\n", a);
  char *r = shmat(id, NULL, SHM_RDONLY);
  printf("read-only attach reads: %s\n", r);
  tryWrite("write to read-only attach", r, 'x');
  res("mprotect read-only attach writable", mprotect(r, PG, PROT_READ | PROT_WRITE));
  shmShow("three attaches", id);
  res("shmdt b", shmdt(b));
  res("shmdt r", shmdt(r));
  res("shmdt again", shmdt(r));
  res("shmdt misaligned", shmdt(a + 1));
  static char notShm[PG] __attribute__((aligned(PG)));
  res("shmdt not shm", shmdt(notShm));
  shmShow("one attach", id);

  // fork: the child inherits the attachment; writes go both ways
  pid_t pid = fork();
  if (pid == 0) {
    shmShow("child", id);
    printf("child sees: %s\n", a);
    strcpy(a + 100, "from the child");
    char *c = shmat(id, NULL, 0);
    strcpy(c + 200, "child attach");
    _exit(0);
  }
  waitChild(pid);
  printf("parent sees: %s / %s\n", a + 100, a + 200);
  shmShow("after child exit", id);

  // address hints, SHM_RND, overlap, SHM_REMAP
  char *hole = freeHole(8);
  char *h = shmat(id, hole, 0);
  printf("at hint: %d sees %s\n", h == hole, h == (void *)-1 ? "-" : h);
  shmdt(h);
  res("misaligned hint", (long)shmat(id, hole + 100, 0) == -1 ? -1 : 0);
  h = shmat(id, hole + 100, SHM_RND);
  printf("SHM_RND: %d\n", h == hole);
  res("overlapping hint", (long)shmat(id, hole, 0) == -1 ? -1 : 0);
  char *h2 = shmat(id, hole, SHM_REMAP);
  printf("SHM_REMAP over it: %d\n", h2 == hole);
  shmShow("after remap", id);
  shmdt(hole);
  // (SHM_REMAP without an address is EINVAL on Linux; qemu-user attaches: not compared)
  res("stale-free: shmat bad id", (long)shmat(id + 1, NULL, 0) == -1 ? -1 : 0);

  // removal while attached: SHM_DEST, key cleared, memory alive until the last detach
  key_t key = 0x5c000000 | (getpid() & 0xffffff);
  int k1 = shmget(key, 3 * PG, IPC_CREAT | IPC_EXCL | 0640);
  printf("keyed: %s\n", k1 >= 0 ? "ok" : strerrorname_np(errno));
  res("bigger than the segment", shmget(key, 4 * PG, 0));
  printf("smaller finds it: %d\n", shmget(key, PG, 0) == k1);
  char *m = shmat(k1, NULL, 0);
  strcpy(m + 2 * PG, "survives IPC_RMID");
  int go[2];
  if (pipe(go) != 0) return;
  pid = fork();
  if (pid == 0) {
    char ch;
    if (read(go[0], &ch, 1) != 1) _exit(1);
    printf("child after RMID: %s\n", m + 2 * PG);
    strcpy(m, "child wrote after RMID");
    _exit(0);
  }
  res("IPC_RMID attached", shmctl(k1, IPC_RMID, NULL));
  shmShow("removed", k1);
  res("key gone", shmget(key, PG, 0));
  if (write(go[1], "g", 1) != 1) return;
  waitChild(pid);
  close(go[0]);
  close(go[1]);
  printf("parent: %s\n", m);
  char *again = shmat(k1, NULL, SHM_RDONLY);
  printf("attach removed segment: %s\n", again == (void *)-1 ? strerrorname_np(errno) : again);
  shmShow("attached again", k1);
  res("shmdt", shmdt(m));
  shmShow("one left", k1);
  res("shmdt last", shmdt(again));
  shmShow("gone", k1);

  // SHM_LOCK / SHM_UNLOCK, permissions, IPC_SET
  res("SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
  shmShow("locked", id);
  res("SHM_UNLOCK", shmctl(id, SHM_UNLOCK, NULL));
  shmShow("unlocked", id);
  pid = fork();
  if (pid == 0) {
    becomeNobody();
    res("nobody shmat", (long)shmat(id, NULL, 0) == -1 ? -1 : 0);
    res("nobody IPC_STAT", shmctl(id, IPC_STAT, &sds));
    res("nobody SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
    res("nobody IPC_RMID", shmctl(id, IPC_RMID, NULL));
    _exit(0);
  }
  waitChild(pid);
  shmctl(id, IPC_STAT, &sds);
  sds.shm_perm.mode = 0644;
  res("IPC_SET", shmctl(id, IPC_SET, &sds));
  pid = fork();
  if (pid == 0) {
    becomeNobody();
    char *ro = shmat(id, NULL, SHM_RDONLY);
    printf("nobody read-only: %s\n", ro == (void *)-1 ? strerrorname_np(errno) : ro);
    res("nobody read-write", (long)shmat(id, NULL, 0) == -1 ? -1 : 0);
    _exit(0);
  }
  waitChild(pid);

  struct shminfo si;
  int maxidx = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
  printf("IPC_INFO ok %d shmmax %lu shmmin %lu shmmni %lu shmseg %lu shmall %lu\n", maxidx >= 0, si.shmmax, si.shmmin,
         si.shmmni, si.shmseg, si.shmall);
  struct shm_info info;
  maxidx = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
  printf("SHM_INFO ok %d used>=1 %d\n", maxidx >= 0, info.used_ids >= 1);
  int found = 0;
  for (int i = 0; i <= maxidx; i++)
    if (shmctl(i, SHM_STAT, &sds) == id) found = sds.shm_segsz == 10000;
  printf("SHM_STAT finds the segment: %d\n", found);
  res("bad cmd", shmctl(id, 99, &sds));
  shmdt(a);
  res("IPC_RMID", shmctl(id, IPC_RMID, NULL));
  res("stale IPC_STAT", shmctl(id, IPC_STAT, &sds));
  res("stale shmat", (long)shmat(id, NULL, 0) == -1 ? -1 : 0);
}

#define WILD ((void *)0xdead00000000UL)

/** Bad ids, wild pointers and huge sizes: an errno every time (raw syscalls, no libc conversions). */
static void hostileSection(void) {
  printf("== hostile\n");
  int q = msgget(IPC_PRIVATE, 0600);
  res("msgsnd NULL", syscall(SYS_msgsnd, q, NULL, 4, IPC_NOWAIT));
  res("msgsnd wild", syscall(SYS_msgsnd, q, WILD, 4, IPC_NOWAIT));
  // mtype readable, text running into an unmapped page
  char *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(two + PG, PG);
  *(long *)(two + PG - 8) = 1;
  res("msgsnd text past the mapping", syscall(SYS_msgsnd, q, two + PG - 8, 16, IPC_NOWAIT));
  res("msgsnd size -1", syscall(SYS_msgsnd, q, &mb, (size_t)-1, IPC_NOWAIT));
  res("msgsnd id -1", syscall(SYS_msgsnd, -1, &mb, 1, IPC_NOWAIT));
  res("msgsnd id INT_MAX", syscall(SYS_msgsnd, 0x7fffffff, &mb, 1, IPC_NOWAIT));
  res("msgrcv size -1", syscall(SYS_msgrcv, q, &mb, (size_t)-1, 0, IPC_NOWAIT));
  snd(q, 5, "five", 0);
  res("msgrcv LONG_MIN type", syscall(SYS_msgrcv, q, &mb, 16, (long)(1UL << 63), IPC_NOWAIT));
  // (Linux loses the message it could not copy out; qemu-user checks the buffer first)
  snd(q, 1, "lost", 0);
  res("msgrcv into wild", syscall(SYS_msgrcv, q, WILD, 16, 0, IPC_NOWAIT));
  res("msgctl IPC_STAT wild", syscall(SYS_msgctl, q, IPC_STAT, WILD));
  res("msgctl IPC_SET NULL", syscall(SYS_msgctl, q, IPC_SET, NULL));
  res("msgctl IPC_INFO NULL", syscall(SYS_msgctl, 0, IPC_INFO, NULL));
  res("msgctl cmd -1", syscall(SYS_msgctl, q, -1, NULL));
  res("msgctl MSG_STAT index 32767", syscall(SYS_msgctl, 32767, MSG_STAT, &mb));
  res("msgctl IPC_RMID", syscall(SYS_msgctl, q, IPC_RMID, NULL));

  int id = semget(IPC_PRIVATE, 2, 0600);
  res("semop NULL", syscall(SYS_semop, id, NULL, 1));
  res("semop wild", syscall(SYS_semop, id, WILD, 1));
  res("semop nsops huge", syscall(SYS_semop, id, WILD, 0xffffffffUL));
  struct sembuf op = {0, 1, 0};
  res("semtimedop wild timeout", syscall(SYS_semtimedop, id, &op, 1, WILD));
  struct timespec neg = {-1, 0};
  res("semtimedop negative timeout", syscall(SYS_semtimedop, id, &op, 1, &neg));
  res("semctl GETALL wild", syscall(SYS_semctl, id, 0, GETALL, WILD));
  res("semctl SETALL NULL", syscall(SYS_semctl, id, 0, SETALL, NULL));
  res("semctl IPC_STAT wild", syscall(SYS_semctl, id, 0, IPC_STAT, WILD));
  res("semctl IPC_SET wild", syscall(SYS_semctl, id, 0, IPC_SET, WILD));
  res("semctl IPC_INFO wild", syscall(SYS_semctl, 0, 0, IPC_INFO, WILD));
  res("semctl SETVAL INT_MIN", syscall(SYS_semctl, id, 0, SETVAL, (long)0x80000000));
  res("semctl id -1", syscall(SYS_semctl, -1, 0, GETVAL, 0));
  res("semctl id 2^31-1", syscall(SYS_semctl, 0x7fffffff, 0, GETVAL, 0));
  res("semctl semnum huge", syscall(SYS_semctl, id, 0x7fffffff, GETVAL, 0));
  res("semget nsems INT_MIN", syscall(SYS_semget, IPC_PRIVATE, (long)(int)0x80000000, 0600));
  res("semctl IPC_RMID", syscall(SYS_semctl, id, 0, IPC_RMID, 0));

  int sh = shmget(IPC_PRIVATE, PG, 0600);
  res("shmat id -1", syscall(SYS_shmat, -1, NULL, 0));
  res("shmat id INT_MAX", syscall(SYS_shmat, 0x7fffffff, NULL, 0));
  res("shmat odd address", syscall(SYS_shmat, sh, (void *)0x12345, 0));
  res("shmdt NULL", syscall(SYS_shmdt, NULL));
  res("shmdt wild", syscall(SYS_shmdt, WILD));
  res("shmctl IPC_STAT wild", syscall(SYS_shmctl, sh, IPC_STAT, WILD));
  res("shmctl IPC_SET NULL", syscall(SYS_shmctl, sh, IPC_SET, NULL));
  res("shmctl IPC_INFO NULL", syscall(SYS_shmctl, 0, IPC_INFO, NULL));
  res("shmctl SHM_INFO wild", syscall(SYS_shmctl, 0, SHM_INFO, WILD));
  res("shmctl cmd -1", syscall(SYS_shmctl, sh, -1, NULL));
  res("shmget size -1", syscall(SYS_shmget, IPC_PRIVATE, (size_t)-1, 0600));
  res("shmctl IPC_RMID", syscall(SYS_shmctl, sh, IPC_RMID, NULL));
  res("shmctl after RMID", syscall(SYS_shmctl, sh, IPC_RMID, NULL));
}

/**
 * Cases where qemu-user differs from Linux (checked against fixed expectations, not qemu):
 * qemu writes msg_lspid/msg_lrpid as 8-byte fields, masks the command with 0xff, checks a whole
 * struct msgbuf for a zero-length msgsnd and attaches for SHM_REMAP without an address.
 */
static void linuxOnlySection(void) {
  printf("== linux-only\n");
  int q = msgget(IPC_PRIVATE, 0600);
  snd(q, 1, "x", 0);
  rcv("rcv", q, 10, 0, 0);
  struct msqid_ds ds;
  msgctl(q, IPC_STAT, &ds);
  printf("lrpid-is-me %d lspid-is-me %d\n", ds.msg_lrpid == getpid(), ds.msg_lspid == getpid());
  res("msgctl cmd IPC_STAT|IPC_64", syscall(SYS_msgctl, q, IPC_STAT | 0x100, &ds));
  char *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(two + PG, PG);
  *(long *)(two + PG - 8) = 1;
  res("msgsnd empty text at the end of a mapping", syscall(SYS_msgsnd, q, two + PG - 8, 0, IPC_NOWAIT));
  rcv("empty message", q, 10, 0, IPC_NOWAIT);
  msgctl(q, IPC_RMID, NULL);
  int sh = shmget(IPC_PRIVATE, PG, 0600);
  res("SHM_REMAP without address", (long)shmat(sh, NULL, SHM_REMAP) == -1 ? -1 : 0);
  shmctl(sh, IPC_RMID, NULL);
}

/** A 16 MiB segment written through by a parent and two children: one copy of the pages. */
static void bigSection(void) {
  printf("== big\n");
  size_t len = 16u << 20;
  int id = shmget(IPC_PRIVATE, len, 0600);
  char *p = shmat(id, NULL, 0);
  if (p == (void *)-1) {
    printf("shmat: %s\n", strerrorname_np(errno));
    return;
  }
  for (int c = 0; c < 2; c++) {
    pid_t pid = fork();
    if (pid == 0) {
      for (size_t i = (size_t)c; i < len / PG; i += 2) p[i * PG] = (char)(1 + c);
      _exit(0);
    }
    waitChild(pid);
  }
  long sum = 0;
  for (size_t i = 0; i < len / PG; i++) sum += p[i * PG];
  shmctl(id, IPC_RMID, NULL);
  printf("pages %zu sum %ld\n", len / PG, sum);
  shmdt(p);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *only = argc > 1 ? argv[1] : NULL;
  if (!only || !strcmp(only, "msg")) msgSection();
  if (!only || !strcmp(only, "sem")) semSection();
  if (!only || !strcmp(only, "shm")) shmSection();
  if (!only || !strcmp(only, "hostile")) hostileSection();
  if (only && !strcmp(only, "linux-only")) linuxOnlySection();
  if (only && !strcmp(only, "big")) bigSection();
  printf("done\n");
  return 0;
}
