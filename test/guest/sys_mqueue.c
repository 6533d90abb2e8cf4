// fixture: static dynamic -lrt -pthread
#define _GNU_SOURCE
// POSIX message queues (mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify,
// mq_getsetattr) as Linux behaves: attributes and limits, names, permissions, priorities,
// blocking and timeouts, signals, poll/select/epoll readiness, descriptors across dup and fork,
// notification. Queue names carry the pid of the first process and every queue is unlinked
// again: under qemu-user the calls reach the host kernel. Output shows no fds, pids or times.
// qemu-user passes the name of a raw mq_open/mq_unlink to the host's glibc starting one byte
// early (it expects glibc's '/' there), so raw calls keep a '/' before the name.
// qemu-user has no mq_notify (ENOSYS) and maps an access mode of 3 to O_RDONLY: those parts are
// the sections `notify` and `linux-only`, checked against fixed expectations.
// Argument: one section (basic, errors, block, poll, notify, linux-only, quota, gaps); none runs
// the sections qemu can check.
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "waiting.h"

static pid_t mainPid;

static void res(const char *what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %ld\n", what, r);
}

/** For calls that return a descriptor: its number is not shown. */
static void ok(const char *what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: ok\n", what);
}

static const char *qname(const char *tag) {
  static char buf[8][96];
  static int next;
  char *b = buf[next++ % 8];
  snprintf(b, sizeof buf[0], "/lichen-mq-%d-%s", (int)mainPid, tag);
  return b;
}

/** A name as the kernel sees it (without glibc's '/'), with the '/' kept before it for qemu-user. */
static const char *kname(const char *s) {
  static char buf[2][8200];
  static int next;
  char *b = buf[next++ % 2];
  b[0] = '/';
  snprintf(b + 1, sizeof buf[0] - 1, "%s", s);
  return b + 1;
}

static long rawOpen(const char *name, int flags, int mode, struct mq_attr *a) {
  return syscall(SYS_mq_open, name, flags, mode, a);
}

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static long nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** An absolute CLOCK_REALTIME time `ms` from now (negative: in the past). */
static struct timespec realIn(long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = ts.tv_nsec + (long long)ms * 1000000LL;
  ts.tv_sec += ns / 1000000000LL;
  ns %= 1000000000LL;
  if (ns < 0) {
    ns += 1000000000LL;
    ts.tv_sec--;
  }
  ts.tv_nsec = ns;
  return ts;
}

static void becomeUser(uid_t uid) {
  if (setgid(uid) != 0 || setuid(uid) != 0) {
    printf("cannot drop privileges\n");
    _exit(99);
  }
}

static char rbuf[1 << 20];

/** Receives one message and prints its length, priority and text (or the error). */
static void recvPrint(const char *what, mqd_t q, size_t len) {
  unsigned prio = 99999;
  memset(rbuf, 0, 64);
  ssize_t r = mq_receive(q, rbuf, len, &prio);
  if (r < 0)
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %zd prio %u '%.*s'\n", what, r, prio, (int)(r > 20 ? 20 : r), rbuf);
}

static void attrPrint(const char *what, mqd_t q) {
  struct mq_attr a;
  memset(&a, 0x55, sizeof a);
  if (mq_getattr(q, &a) < 0) {
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
    return;
  }
  printf("%s: flags %#lx maxmsg %ld msgsize %ld curmsgs %ld\n", what, a.mq_flags, a.mq_maxmsg, a.mq_msgsize,
         a.mq_curmsgs);
}

static long sendStr(mqd_t q, const char *s, unsigned prio) { return mq_send(q, s, strlen(s), prio); }

/** The queue's status line (read(2) on a queue descriptor), from the start. */
static void statusPrint(const char *what, mqd_t q) {
  char buf[128];
  memset(buf, 0, sizeof buf);
  lseek(q, 0, SEEK_SET);
  ssize_t r = read(q, buf, sizeof buf - 1);
  if (r < 0) {
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
    return;
  }
  int pid = -1;
  char *p = strstr(buf, "NOTIFY_PID:");
  if (p) {
    pid = atoi(p + 11);
    p[11] = 0;
  }
  // the pid is shown as "me" / "0" / "other"
  printf("%s: %zd [%s%s]\n", what, r, buf, pid == getpid() ? "me" : pid == 0 ? "0" : "other");
}

static struct mq_attr mkattr(long maxmsg, long msgsize) {
  struct mq_attr a;
  memset(&a, 0, sizeof a);
  a.mq_maxmsg = maxmsg;
  a.mq_msgsize = msgsize;
  return a;
}

// ---------------------------------------------------------------------------------------

static void basicSection(void) {
  printf("== basic\n");
  const char *n = qname("basic");
  mqd_t q = mq_open(n, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
  ok("create with default attributes", q);
  attrPrint("attr", q);
  res("F_GETFD (always close-on-exec)", fcntl(q, F_GETFD));
  res("F_GETFL", fcntl(q, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
  struct stat st;
  res("fstat", fstat(q, &st));
  printf("mode %o size %ld nlink %ld uid %u\n", st.st_mode, (long)st.st_size, (long)st.st_nlink, st.st_uid);
  char link[300], want[300];
  snprintf(want, sizeof want, "/proc/self/fd/%d", q);
  ssize_t ln = readlink(want, link, sizeof link - 1);
  link[ln > 0 ? ln : 0] = 0;
  printf("fd link is the name: %d\n", strcmp(link, n) == 0);
  statusPrint("status", q);
  res("write", write(q, "x", 1));

  // priorities: highest first, FIFO within a priority
  sendStr(q, "a1", 1);
  sendStr(q, "b5", 5);
  sendStr(q, "c1", 1);
  sendStr(q, "d0", 0);
  sendStr(q, "e5", 5);
  sendStr(q, "f32767", 32767);
  sendStr(q, "g3", 3);
  sendStr(q, "h1", 1);
  attrPrint("after 8 sends", q);
  statusPrint("status", q);
  char b5[8];
  res("pread 5 at 0", pread(q, b5, 5, 0));
  res("lseek end", lseek(q, 0, SEEK_END));
  res("read at end", read(q, b5, 5));
  res("lseek -1", lseek(q, -1, SEEK_SET));
  res("lseek SEEK_DATA 10", lseek(q, 10, SEEK_DATA));
  res("lseek SEEK_HOLE 10", lseek(q, 10, SEEK_HOLE));
  res("lseek SEEK_DATA 80", lseek(q, 80, SEEK_DATA));
  for (int i = 0; i < 8; i++) recvPrint("receive", q, 8192);
  attrPrint("drained", q);

  // sizes
  static char big[8200];
  memset(big, 'z', sizeof big);
  res("send msgsize+1", mq_send(q, big, 8193, 0));
  res("send msgsize", mq_send(q, big, 8192, 2));
  recvPrint("receive buffer msgsize-1", q, 8191);
  recvPrint("receive buffer msgsize", q, 8192);
  res("send empty", mq_send(q, "", 0, 4));
  recvPrint("receive empty", q, 9000);
  res("send prio MQ_PRIO_MAX", sendStr(q, "x", 32768));
  res("send prio UINT_MAX", sendStr(q, "x", 0xffffffffu));

  // full and empty, non-blocking through mq_setattr and F_SETFL
  for (int i = 0; i < 10; i++) {
    char t[8];
    snprintf(t, sizeof t, "m%d", i);
    if (sendStr(q, t, i % 3) != 0) printf("fill %d: %s\n", i, strerrorname_np(errno));
  }
  struct mq_attr na = mkattr(0, 0), oa;
  na.mq_flags = O_NONBLOCK;
  memset(&oa, 0x55, sizeof oa);
  res("mq_setattr O_NONBLOCK", mq_setattr(q, &na, &oa));
  printf("old: flags %#lx maxmsg %ld msgsize %ld curmsgs %ld\n", oa.mq_flags, oa.mq_maxmsg, oa.mq_msgsize,
         oa.mq_curmsgs);
  attrPrint("attr", q);
  res("F_GETFL", fcntl(q, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
  res("send full nonblocking", sendStr(q, "over", 0));
  struct timespec soon = realIn(10);
  res("timedsend full nonblocking", mq_timedsend(q, "x", 1, 0, &soon));
  for (int i = 0; i < 10; i++) recvPrint("receive", q, 8192);
  res("receive empty nonblocking", mq_receive(q, rbuf, 8192, NULL));
  na.mq_flags = 1;
  res("mq_setattr flags 1", mq_setattr(q, &na, NULL));
  res("F_SETFL 0", fcntl(q, F_SETFL, 0));
  attrPrint("attr after F_SETFL", q);
  res("F_SETFL O_NONBLOCK", fcntl(q, F_SETFL, O_NONBLOCK));
  attrPrint("attr after F_SETFL", q);
  na.mq_flags = 0;
  mq_setattr(q, &na, NULL);

  // access modes and other descriptors
  mqd_t r = mq_open(n, O_RDONLY);
  mqd_t w = mq_open(n, O_WRONLY | O_NONBLOCK);
  ok("open O_RDONLY", r);
  ok("open O_WRONLY|O_NONBLOCK", w);
  attrPrint("attr of the O_WRONLY|O_NONBLOCK one", w);
  res("send on O_RDONLY", sendStr(r, "x", 0));
  res("send on O_WRONLY", sendStr(w, "via-w", 0));
  res("receive on O_WRONLY", mq_receive(w, rbuf, 8192, NULL));
  recvPrint("receive on O_RDONLY", r, 8192);
  res("read on O_WRONLY", read(w, rbuf, 10));
  res("write on O_RDONLY", write(r, "x", 1));
  int p[2];
  pipe(p);
  res("send on a pipe", sendStr(p[1], "x", 0));
  res("receive on a pipe", mq_receive(p[0], rbuf, 8192, NULL));
  res("getattr on a pipe", mq_getattr(p[0], &oa));
  res("send on fd 999", sendStr(999, "x", 0));
  res("getattr on fd -1", mq_getattr(-1, &oa));
  close(p[0]);
  close(p[1]);
  close(r);
  close(w);

  // O_CREAT on an existing queue ignores the attributes; O_EXCL fails
  struct mq_attr a3 = mkattr(3, 16);
  mqd_t again = mq_open(n, O_CREAT | O_RDWR, 0600, &a3);
  ok("O_CREAT existing", again);
  attrPrint("its attr", again);
  close(again);
  res("O_CREAT|O_EXCL existing", mq_open(n, O_CREAT | O_EXCL | O_RDWR, 0600, &a3));
  res("open missing", mq_open(qname("missing"), O_RDWR));

  // attributes of a new queue
  const char *n3 = qname("small");
  mqd_t s = mq_open(n3, O_CREAT | O_EXCL | O_RDWR, 0644, &a3);
  ok("create maxmsg 3 msgsize 16", s);
  attrPrint("attr", s);
  res("send 17", mq_send(s, big, 17, 0));
  res("send 16", mq_send(s, big, 16, 0));
  recvPrint("receive len 15", s, 15);
  recvPrint("receive len 16", s, 16);
  close(s);
  res("unlink small", mq_unlink(n3));

  // unlink: the name goes, open descriptors keep the queue
  sendStr(q, "kept", 9);
  res("unlink", mq_unlink(n));
  res("open after unlink", mq_open(n, O_RDWR));
  res("unlink again", mq_unlink(n));
  fstat(q, &st);
  printf("nlink after unlink %ld\n", (long)st.st_nlink);
  ln = readlink(want, link, sizeof link - 1);
  link[ln > 0 ? ln : 0] = 0;
  printf("fd link: %s\n", strncmp(link, n, strlen(n)) == 0 ? link + strlen(n) : "?");
  mqd_t fresh = mq_open(n, O_CREAT | O_EXCL | O_RDWR, 0600, &a3);
  ok("a new queue under the same name", fresh);
  attrPrint("new one", fresh);
  attrPrint("old one", q);
  recvPrint("old one", q, 8192);
  close(fresh);
  mq_unlink(n);
  close(q);
}

// ---------------------------------------------------------------------------------------

static void errorsSection(void) {
  printf("== errors\n");
  // names through glibc
  res("glibc name without '/'", mq_open("lichen-mq", O_RDWR));
  res("glibc name with '/' inside", mq_open("/a/b", O_CREAT | O_RDWR, 0600, NULL));
  res("glibc name '/'", mq_open("/", O_CREAT | O_RDWR, 0600, NULL));
  res("glibc name '/.'", mq_open("/.", O_CREAT | O_RDWR, 0600, NULL));
  res("glibc name '/..'", mq_open("/..", O_CREAT | O_RDWR, 0600, NULL));
  res("glibc unlink '/a/b'", mq_unlink("/a/b"));
  res("glibc unlink missing", mq_unlink(qname("nothere")));

  // names through the raw syscall
  char longName[300];
  snprintf(longName, sizeof longName, "%s", qname("long") + 1);
  size_t l = strlen(longName);
  memset(longName + l, 'x', 255 - l);
  longName[255] = 0;
  long r = rawOpen(kname(longName), O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
  ok("raw name of 255 bytes", r);
  if (r >= 0) close(r);
  res("raw unlink it", syscall(SYS_mq_unlink, kname(longName)));
  longName[255] = 'x';
  longName[256] = 0;
  res("raw name of 256 bytes", rawOpen(kname(longName), O_CREAT | O_RDWR, 0600, NULL));
  res("raw unlink 256 bytes", syscall(SYS_mq_unlink, kname(longName)));
  longName[100] = '/';
  res("raw 256 bytes with '/'", rawOpen(kname(longName), O_CREAT | O_RDWR, 0600, NULL));
  static char huge[8192];
  memset(huge, 'y', 5000);
  res("raw name of 5000 bytes", rawOpen(kname(huge), O_CREAT | O_RDWR, 0600, NULL));
  res("raw empty name", rawOpen(kname(""), O_CREAT | O_RDWR, 0600, NULL));
  res("raw unlink empty", syscall(SYS_mq_unlink, kname("")));
  res("raw name '.'", rawOpen(kname("."), O_CREAT | O_RDWR, 0600, NULL));
  res("raw unlink '..'", syscall(SYS_mq_unlink, kname("..")));
  res("raw name NULL", rawOpen(NULL, O_CREAT | O_RDWR, 0600, NULL));
  res("raw name bad pointer", rawOpen((const char *)16, O_CREAT | O_RDWR, 0600, NULL));
  res("raw unlink bad pointer", syscall(SYS_mq_unlink, (const char *)16));
  res("raw attr bad pointer", rawOpen(kname("x"), O_CREAT | O_RDWR, 0600, (struct mq_attr *)16));

  // bad arguments of send and receive
  const char *n = qname("err");
  mqd_t q = mq_open(n, O_CREAT | O_RDWR, 0600, NULL);
  struct timespec bad1 = {0, -1}, bad2 = {0, 1000000000}, bad3 = {-1, 0};
  res("timedsend tv_nsec -1 (room left)", mq_timedsend(q, "x", 1, 0, &bad1));
  res("timedsend tv_nsec 1e9", mq_timedsend(q, "x", 1, 0, &bad2));
  res("timedsend tv_sec -1", mq_timedsend(q, "x", 1, 0, &bad3));
  res("timedsend bad timespec pointer", syscall(SYS_mq_timedsend, q, "x", 1, 0, (void *)16));
  res("timedsend bad prio and timespec", mq_timedsend(q, "x", 1, 40000, &bad1));
  res("send bad text pointer", syscall(SYS_mq_timedsend, q, (void *)16, 5, 0, NULL));
  res("send size SIZE_MAX", syscall(SYS_mq_timedsend, q, "x", (size_t)-1, 0, NULL));
  res("send empty from a kernel address", syscall(SYS_mq_timedsend, q, (void *)-16L, 0, 0, NULL));
  res("receive it into a kernel address", syscall(SYS_mq_timedreceive, q, (void *)-16L, 8192, NULL, NULL));
  res("send 1", sendStr(q, "one", 0));
  res("timedreceive tv_nsec -1 (message there)", mq_timedreceive(q, rbuf, 8192, NULL, &bad1));
  res("receive into a bad pointer", syscall(SYS_mq_timedreceive, q, (void *)16, 8192, NULL, NULL));
  attrPrint("message lost", q);
  res("raw getsetattr flags 1", syscall(SYS_mq_getsetattr, q, &(struct mq_attr){.mq_flags = 1}, NULL));
  res("raw getsetattr high flag", syscall(SYS_mq_getsetattr, q, &(struct mq_attr){.mq_flags = 1L << 40}, NULL));
  res("raw getsetattr nothing", syscall(SYS_mq_getsetattr, q, NULL, NULL));
  close(q);
  mq_unlink(n);

  // permissions and limits as another user
  mode_t old = umask(0);
  mqd_t q600 = mq_open(qname("p600"), O_CREAT | O_RDWR, 0600, NULL);
  mqd_t q644 = mq_open(qname("p644"), O_CREAT | O_RDWR, 0644, NULL);
  mqd_t q622 = mq_open(qname("p622"), O_CREAT | O_RDWR, 0622, NULL);
  umask(027);
  mqd_t qu = mq_open(qname("umask"), O_CREAT | O_RDWR, 0666, NULL);
  umask(old);
  struct stat st;
  fstat(qu, &st);
  printf("mode with umask 027: %o\n", st.st_mode);
  pid_t pid = fork();
  if (pid == 0) {
    becomeUser(65534);
    res("nobody: 0600 O_RDONLY", mq_open(qname("p600"), O_RDONLY));
    ok("nobody: 0644 O_RDONLY", mq_open(qname("p644"), O_RDONLY));
    res("nobody: 0644 O_WRONLY", mq_open(qname("p644"), O_WRONLY));
    res("nobody: 0644 O_RDWR", mq_open(qname("p644"), O_RDWR));
    ok("nobody: 0622 O_WRONLY", mq_open(qname("p622"), O_WRONLY));
    res("nobody: 0622 O_RDONLY", mq_open(qname("p622"), O_RDONLY));
    res("nobody: unlink root's queue", mq_unlink(qname("p644")));
    res("nobody: O_CREAT|O_EXCL on root's queue", mq_open(qname("p600"), O_CREAT | O_EXCL | O_RDWR, 0600, NULL));
    mqd_t mine = mq_open(qname("nobody"), O_CREAT | O_RDWR, 0600, NULL);
    ok("nobody: own queue", mine);
    fstat(mine, &st);
    printf("nobody: its mode %o uid %u gid %u\n", st.st_mode, st.st_uid, st.st_gid);
    struct mq_attr a;
    long cases[][2] = {{0, 100}, {-1, 100}, {10, 100}, {11, 100}, {1, 0}, {1, -5}, {1, 8192}, {1, 8193}};
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      a = mkattr(cases[i][0], cases[i][1]);
      char what[64];
      snprintf(what, sizeof what, "nobody: maxmsg %ld msgsize %ld", cases[i][0], cases[i][1]);
      long fd = mq_open(qname("attr"), O_CREAT | O_EXCL | O_RDWR, 0600, &a);
      ok(what, fd);
      if (fd >= 0) {
        close(fd);
        mq_unlink(qname("attr"));
      }
    }
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));
  ok("root opens nobody's 0600 queue", mq_open(qname("nobody"), O_RDWR));
  res("root unlinks it", mq_unlink(qname("nobody")));
  close(q600);
  close(q644);
  close(q622);
  close(qu);
  mq_unlink(qname("p600"));
  mq_unlink(qname("p644"));
  mq_unlink(qname("p622"));
  mq_unlink(qname("umask"));

  // RLIMIT_MSGQUEUE: a queue of 10 x 8192 costs 82880 bytes to its creator's real uid
  pid = fork();
  if (pid == 0) {
    struct rlimit rl = {200000, 200000};
    setrlimit(RLIMIT_MSGQUEUE, &rl);
    becomeUser(40000 + mainPid % 20000);
    mqd_t fds[4];
    for (int i = 0; i < 3; i++) {
      char what[32];
      snprintf(what, sizeof what, "rlimit queue %d", i);
      char tag[16];
      snprintf(tag, sizeof tag, "rl%d", i);
      fds[i] = mq_open(qname(tag), O_CREAT | O_RDWR, 0600, NULL);
      ok(what, fds[i]);
    }
    struct mq_attr small = mkattr(10, 1000);
    fds[2] = mq_open(qname("rl2"), O_CREAT | O_RDWR, 0600, &small);
    ok("rlimit a smaller queue", fds[2]);
    res("unlink the first (still open)", mq_unlink(qname("rl0")));
    ok("rlimit queue 3", fds[3] = mq_open(qname("rl3"), O_CREAT | O_RDWR, 0600, NULL));
    close(fds[0]);
    ok("rlimit queue 3 after close", fds[3] = mq_open(qname("rl3"), O_CREAT | O_RDWR, 0600, NULL));
    mq_unlink(qname("rl1"));
    mq_unlink(qname("rl2"));
    mq_unlink(qname("rl3"));
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));

  // EMFILE comes before the name is looked up
  pid = fork();
  if (pid == 0) {
    mqd_t e = mq_open(qname("emfile"), O_CREAT | O_RDWR, 0600, NULL);
    struct rlimit rl = {32, 32};
    setrlimit(RLIMIT_NOFILE, &rl);
    while (dup(0) >= 0) {
    }
    res("existing queue, no fd left", mq_open(qname("emfile"), O_RDWR));
    res("missing queue, no fd left", mq_open(qname("missing"), O_RDWR));
    res("send still works", sendStr(e, "x", 0));
    mq_unlink(qname("emfile"));
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));
}

// ---------------------------------------------------------------------------------------

static mqd_t threadQueue;
static char threadGot[64];

static void *receiverThread(void *arg) {
  (void)arg;
  unsigned prio = 0;
  char buf[8192];
  ssize_t r = mq_receive(threadQueue, buf, sizeof buf, &prio);
  if (r < 0)
    snprintf(threadGot, sizeof threadGot, "-1 %s", strerrorname_np(errno));
  else
    snprintf(threadGot, sizeof threadGot, "%zd prio %u '%.*s'", r, prio, (int)r, buf);
  return NULL;
}

/** Forks a child that sleeps `ms` and then sends `text` at `prio`; returns its pid. */
static pid_t sendLater(mqd_t q, int ms, const char *text, unsigned prio) {
  pid_t pid = fork();
  if (pid == 0) {
    msleep(ms);
    _exit(sendStr(q, text, prio) == 0 ? 0 : 1);
  }
  return pid;
}

/**
 * Forks a child that blocks receiving (once it has told the parent through the pipe `p`) and
 * exits with the first digit of the text it got.
 */
static pid_t receiveInChild(mqd_t q, int p[2]) {
  pid_t pid = fork();
  if (pid == 0) {
    char buf[8192];
    write(p[1], "r", 1);
    ssize_t r = mq_receive(q, buf, sizeof buf, NULL);
    _exit(r > 0 ? buf[0] - '0' : 100 + errno);
  }
  char c;
  read(p[0], &c, 1);
  return pid;
}

static void blockSection(void) {
  printf("== block\n");
  const char *n = qname("block");
  struct mq_attr a2 = mkattr(2, 64);
  mqd_t q = mq_open(n, O_CREAT | O_RDWR, 0600, &a2);

  // a receiver sleeps until a child sends
  pid_t pid = sendLater(q, 50, "from-child", 7);
  recvPrint("blocking receive", q, 64);
  printf("sender: %d\n", waitChild(pid));

  // a sender sleeps on a full queue until a child receives
  sendStr(q, "m1", 1);
  sendStr(q, "m2", 2);
  pid = fork();
  if (pid == 0) {
    msleep(50);
    char buf[64];
    unsigned prio;
    ssize_t r = mq_receive(q, buf, sizeof buf, &prio);
    _exit(r == 2 && prio == 2 ? 0 : 1);
  }
  res("blocking send", sendStr(q, "m9", 9));
  printf("receiver: %d\n", waitChild(pid));
  attrPrint("attr", q);
  recvPrint("then", q, 64);
  recvPrint("then", q, 64);

  // a thread sleeps in mq_receive while the main thread sends
  threadQueue = q;
  pthread_t th;
  pthread_create(&th, NULL, receiverThread, NULL);
  msleep(30);
  sendStr(q, "to-thread", 3);
  pthread_join(th, NULL);
  printf("thread got %s\n", threadGot);

  // sleeping receivers are served in arrival order, sleeping senders too (whatever the priority)
  int p[2];
  pipe(p);
  pid_t r1 = receiveInChild(q, p);
  msleep(30);
  pid_t r2 = receiveInChild(q, p);
  msleep(50);
  sendStr(q, "1st", 0);
  sendStr(q, "2nd", 5);
  int s1 = waitChild(r1), s2 = waitChild(r2);
  printf("receivers got %d and %d\n", s1, s2);
  sendStr(q, "x1", 1);
  sendStr(q, "x2", 1);
  pid_t w1 = fork();
  if (w1 == 0) _exit(sendStr(q, "lo", 1) == 0 ? 0 : 1);
  msleep(30);
  pid_t w2 = fork();
  if (w2 == 0) _exit(sendStr(q, "hi", 9) == 0 ? 0 : 1);
  msleep(50);
  attrPrint("two senders asleep", q);
  recvPrint("receive", q, 64);
  recvPrint("receive", q, 64);
  recvPrint("receive", q, 64);
  recvPrint("receive", q, 64);
  printf("senders: %d %d\n", waitChild(w1), waitChild(w2));

  // timeouts (absolute, CLOCK_REALTIME)
  long t0 = nowMs();
  struct timespec ts = realIn(40);
  res("timedreceive empty", mq_timedreceive(q, rbuf, 64, NULL, &ts));
  printf("waited at least 30 ms: %d\n", nowMs() - t0 >= 30);
  ts = realIn(-1000);
  res("timedreceive past deadline, empty", mq_timedreceive(q, rbuf, 64, NULL, &ts));
  sendStr(q, "f1", 0);
  sendStr(q, "f2", 0);
  t0 = nowMs();
  ts = realIn(40);
  res("timedsend full", mq_timedsend(q, "x", 1, 0, &ts));
  printf("waited at least 30 ms: %d\n", nowMs() - t0 >= 30);
  ts = realIn(-1000);
  res("timedsend past deadline, full", mq_timedsend(q, "x", 1, 0, &ts));
  res("timedreceive past deadline, message there", mq_timedreceive(q, rbuf, 64, NULL, &ts));
  res("timedsend past deadline, room", mq_timedsend(q, "f3", 2, 2, &ts));
  recvPrint("receive", q, 64);
  recvPrint("receive", q, 64);
  struct timespec zero = {0, 0};
  res("timedreceive at time 0, empty", mq_timedreceive(q, rbuf, 64, NULL, &zero));

  // signals: EINTR without SA_RESTART, a restart with it
  alarms = 0;
  alarmIn(30, 0);
  res("receive interrupted", mq_receive(q, rbuf, 64, NULL));
  printf("alarms %d\n", alarms);
  sendStr(q, "s1", 0);
  sendStr(q, "s2", 0);
  alarms = 0;
  alarmIn(30, 0);
  res("send interrupted", sendStr(q, "s3", 0));
  printf("alarms %d\n", alarms);
  recvPrint("receive", q, 64);
  recvPrint("receive", q, 64);
  alarms = 0;
  alarmIn(30, 1);
  pid = sendLater(q, 200, "after-restart", 1);
  recvPrint("receive with SA_RESTART", q, 64);
  printf("sender: %d alarms %d\n", waitChild(pid), alarms);
  alarms = 0;
  alarmIn(20, 1);
  ts = realIn(80);
  res("timedreceive with SA_RESTART", mq_timedreceive(q, rbuf, 64, NULL, &ts));
  printf("alarms %d\n", alarms);
  signal(SIGALRM, SIG_DFL);

  close(q);
  mq_unlink(n);
}

// ---------------------------------------------------------------------------------------

static void pollPrint(const char *what, int fd, short events) {
  struct pollfd pf = {fd, events, 0};
  int r = poll(&pf, 1, 0);
  printf("%s: %d revents %#x\n", what, r, pf.revents);
}

static void pollSection(void) {
  printf("== poll\n");
  const char *n = qname("poll");
  struct mq_attr a2 = mkattr(2, 64);
  mqd_t q = mq_open(n, O_CREAT | O_RDWR, 0600, &a2);
  mqd_t w = mq_open(n, O_WRONLY);
  short all = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
  pollPrint("empty", q, POLLIN | POLLOUT);
  pollPrint("empty, all bits", q, all);
  sendStr(q, "p", 0);
  pollPrint("one message", q, POLLIN | POLLOUT);
  pollPrint("one message, O_WRONLY descriptor", w, all);
  sendStr(q, "p", 0);
  pollPrint("full", q, all);
  pollPrint("full, POLLOUT only", q, POLLOUT);
  mq_receive(q, rbuf, 64, NULL);
  mq_receive(q, rbuf, 64, NULL);

  // a poll sleeping until a child sends
  pid_t pid = sendLater(q, 40, "wake", 0);
  struct pollfd pf = {q, POLLIN, 0};
  int r = poll(&pf, 1, 5000);
  printf("blocking poll: %d revents %#x\n", r, pf.revents);
  printf("sender: %d\n", waitChild(pid));

  // select
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(q, &rd);
  FD_SET(q, &wr);
  struct timeval tv = {0, 0};
  r = select(q + 1, &rd, &wr, NULL, &tv);
  printf("select: %d readable %d writable %d\n", r, FD_ISSET(q, &rd) != 0, FD_ISSET(q, &wr) != 0);
  mq_receive(q, rbuf, 64, NULL);
  FD_ZERO(&rd);
  FD_SET(q, &rd);
  tv.tv_usec = 1000;
  r = select(q + 1, &rd, NULL, NULL, &tv);
  printf("select empty: %d\n", r);

  // epoll, level- and edge-triggered
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 7};
  res("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev));
  struct epoll_event out[2];
  res("epoll_wait empty", epoll_wait(ep, out, 2, 0));
  sendStr(q, "e1", 0);
  r = epoll_wait(ep, out, 2, 0);
  printf("epoll_wait after a send: %d events %#x data %u\n", r, r > 0 ? out[0].events : 0, r > 0 ? out[0].data.u32 : 0);
  res("epoll_wait again (edge)", epoll_wait(ep, out, 2, 0));
  sendStr(q, "e2", 0);
  res("epoll_wait after another send", epoll_wait(ep, out, 2, 0));
  ev.events = EPOLLOUT;
  epoll_ctl(ep, EPOLL_CTL_MOD, q, &ev);
  res("epoll_wait EPOLLOUT full", epoll_wait(ep, out, 2, 0));
  pid = fork();
  if (pid == 0) {
    msleep(40);
    _exit(mq_receive(q, rbuf, 64, NULL) == 2 ? 0 : 1);
  }
  r = epoll_wait(ep, out, 2, 5000);
  printf("epoll_wait EPOLLOUT until a child receives: %d events %#x\n", r, r > 0 ? out[0].events : 0);
  printf("receiver: %d\n", waitChild(pid));
  close(ep);
  mq_receive(q, rbuf, 64, NULL);

  // descriptors across dup and fork share the open description
  mqd_t d = dup(q);
  res("dup: F_GETFD", fcntl(d, F_GETFD));
  sendStr(d, "via-dup", 1);
  close(q);
  recvPrint("after closing the original", d, 64);
  pid = fork();
  if (pid == 0) {
    struct mq_attr na = mkattr(0, 0);
    na.mq_flags = O_NONBLOCK;
    mq_setattr(d, &na, NULL);
    sendStr(d, "from-child", 4);
    close(d);
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));
  attrPrint("O_NONBLOCK set by the child", d);
  recvPrint("its message", d, 64);
  res("empty, non-blocking now", mq_receive(d, rbuf, 64, NULL));
  pid = fork();
  if (pid == 0) {
    struct mq_attr na = mkattr(0, 0);
    mq_setattr(d, &na, NULL);
    char buf[64];
    ssize_t got = mq_receive(d, buf, sizeof buf, NULL);
    _exit(got == 5 && memcmp(buf, "later", 5) == 0 ? 0 : 1);
  }
  msleep(40);
  sendStr(w, "later", 0);
  printf("child blocked on the shared description: %d\n", waitChild(pid));
  close(w);
  close(d);
  mq_unlink(n);
}

// ---------------------------------------------------------------------------------------

static volatile int gotSig, gotCode, gotPidIsMe, gotUid, gotValue, gotCount;

static void onNotify(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  gotSig = sig;
  gotCode = si->si_code;
  gotPidIsMe = si->si_pid == getpid();
  gotUid = si->si_uid;
  gotValue = si->si_value.sival_int;
  gotCount++;
}

static void showNotify(const char *what) {
  printf("%s: count %d sig %d code %d pid-is-me %d uid %d value %d\n", what, gotCount, gotSig, gotCode, gotPidIsMe,
         gotUid, gotValue);
  gotCount = gotSig = gotCode = gotPidIsMe = gotUid = gotValue = 0;
}

static int notifySignal(mqd_t q, int sig, int value) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  return mq_notify(q, &sev);
}

static void notifySection(void) {
  printf("== notify\n");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = onNotify;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGRTMIN + 1, &sa, NULL);
  const char *n = qname("notify");
  mqd_t q = mq_open(n, O_CREAT | O_RDWR, 0600, NULL);

  res("register SIGUSR1", notifySignal(q, SIGUSR1, 42));
  statusPrint("status", q);
  res("register again", notifySignal(q, SIGUSR1, 43));
  sendStr(q, "n1", 0);
  showNotify("after the first message");
  statusPrint("status", q);
  sendStr(q, "n2", 0);
  showNotify("after the second");
  res("register with messages queued", notifySignal(q, SIGRTMIN + 1, 7));
  sendStr(q, "n3", 0);
  showNotify("queue not empty");
  for (int i = 0; i < 3; i++) mq_receive(q, rbuf, 8192, NULL);
  sendStr(q, "n4", 0);
  showNotify("queue was empty");
  mq_receive(q, rbuf, 8192, NULL);

  // another process cannot register; NULL unregisters only the owner's
  res("register", notifySignal(q, SIGUSR1, 1));
  pid_t pid = fork();
  if (pid == 0) {
    res("child: register", notifySignal(q, SIGUSR1, 2));
    res("child: unregister (not its own)", mq_notify(q, NULL));
    res("child: register again", notifySignal(q, SIGUSR1, 2));
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));
  res("unregister", mq_notify(q, NULL));
  statusPrint("status", q);
  res("unregister again", mq_notify(q, NULL));
  pid = fork();
  if (pid == 0) {
    res("child: register", notifySignal(q, SIGUSR1, 2));
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));
  res("register after the child exited", notifySignal(q, SIGUSR1, 3));

  // no notification while a receiver sleeps: it gets the message
  int p[2];
  pipe(p);
  pid = receiveInChild(q, p);
  msleep(50);
  sendStr(q, "5", 0);
  printf("receiver: %d\n", waitChild(pid));
  showNotify("message taken by the sleeping receiver");
  statusPrint("still registered", q);
  sendStr(q, "6", 0);
  showNotify("then");
  mq_receive(q, rbuf, 8192, NULL);

  // a message from another process: si_pid is the sender's
  res("register", notifySignal(q, SIGUSR1, 9));
  pid = sendLater(q, 0, "from-child", 0);
  printf("sender: %d\n", waitChild(pid));
  msleep(10);
  showNotify("sent by a child");
  mq_receive(q, rbuf, 8192, NULL);

  // SIGEV_NONE registers without a signal; signal 0 likewise
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_NONE;
  res("register SIGEV_NONE", mq_notify(q, &sev));
  statusPrint("status", q);
  sendStr(q, "none", 0);
  showNotify("SIGEV_NONE");
  statusPrint("status", q);
  mq_receive(q, rbuf, 8192, NULL);
  res("register signal 0", notifySignal(q, 0, 1));
  statusPrint("status", q);
  sendStr(q, "zero", 0);
  showNotify("signal 0");
  statusPrint("status", q);
  mq_receive(q, rbuf, 8192, NULL);

  // closing the queue unregisters its owner
  res("register", notifySignal(q, SIGUSR1, 1));
  close(q);
  q = mq_open(n, O_RDWR);
  pid = fork();
  if (pid == 0) {
    res("child: register after the owner closed", notifySignal(q, SIGUSR1, 2));
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));

  // so does closing any other descriptor of it (here a duplicate; q stays open)
  int dupq = dup(q);
  res("register", notifySignal(q, SIGUSR1, 1));
  close(dupq);
  pid = fork();
  if (pid == 0) {
    res("child: register after the owner closed a duplicate", notifySignal(q, SIGUSR1, 2));
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));

  // bad arguments
  sev.sigev_notify = 99;
  res("sigev_notify 99", mq_notify(q, &sev));
  res("signal 65", notifySignal(q, 65, 0));
  res("signal -1", notifySignal(q, -1, 0));
  res("bad fd", notifySignal(999, SIGUSR1, 0));
  pipe(p);
  res("a pipe", notifySignal(p[0], SIGUSR1, 0));
  res("bad sigevent pointer", syscall(SYS_mq_notify, q, (void *)16));
  char cookie[32] = {0};
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_value.sival_ptr = cookie;
  sev.sigev_signo = p[0];
  res("raw SIGEV_THREAD with a pipe", syscall(SYS_mq_notify, q, &sev));
  sev.sigev_signo = 999;
  res("raw SIGEV_THREAD with a bad fd", syscall(SYS_mq_notify, q, &sev));
  int us = socket(AF_UNIX, SOCK_DGRAM, 0);
  sev.sigev_signo = us;
  res("raw SIGEV_THREAD with an AF_UNIX socket", syscall(SYS_mq_notify, q, &sev));
  sev.sigev_value.sival_ptr = (void *)16;
  res("raw SIGEV_THREAD with a bad cookie", syscall(SYS_mq_notify, q, &sev));
  close(us);
  close(p[0]);
  close(p[1]);
  close(q);
  mq_unlink(n);
}

// ---------------------------------------------------------------------------------------

static void linuxOnlySection(void) {
  printf("== linux-only\n");
  // access mode 3: refused on an existing queue, a descriptor without access on a new one
  const char *n = qname("acc3");
  long fd = rawOpen(kname(n + 1), O_CREAT | O_RDWR | O_WRONLY, 0600, NULL);
  ok("create with access mode 3", fd);
  res("its F_GETFL", fcntl(fd, F_GETFL) & O_ACCMODE);
  res("send", sendStr(fd, "x", 0));
  res("receive", mq_receive(fd, rbuf, 8192, NULL));
  attrPrint("getattr", fd);
  res("open existing with access mode 3", rawOpen(kname(n + 1), O_RDWR | O_WRONLY, 0600, NULL));
  close(fd);
  mq_unlink(n);

  // (qemu-user answers 0 here without asking the kernel, and ignores a bad attribute pointer)
  res("raw getsetattr bad fd, no attributes", syscall(SYS_mq_getsetattr, 999, NULL, NULL));
  fd = mq_open(n, O_CREAT | O_RDWR, 0600, NULL);
  res("raw getsetattr bad new pointer", syscall(SYS_mq_getsetattr, fd, (void *)16, NULL));
  res("raw getsetattr bad old pointer", syscall(SYS_mq_getsetattr, fd, NULL, (void *)16));
  close(fd);
  mq_unlink(n);

  // RLIMIT_MSGQUEUE with the default limit: nine default queues (82880 bytes each)
  int made = 0;
  mqd_t fds[12];
  for (int i = 0; i < 12; i++) {
    char tag[16];
    snprintf(tag, sizeof tag, "d%d", i);
    fds[i] = mq_open(qname(tag), O_CREAT | O_RDWR, 0600, NULL);
    if (fds[i] < 0) {
      printf("default queue %d: %s\n", i, strerrorname_np(errno));
      break;
    }
    made++;
  }
  for (int i = 0; i < made; i++) {
    char tag[16];
    snprintf(tag, sizeof tag, "d%d", i);
    close(fds[i]);
    mq_unlink(qname(tag));
  }

  // a capable user may exceed msg_max and msgsize_max up to the hard limits
  struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
  res("raise RLIMIT_MSGQUEUE", setrlimit(RLIMIT_MSGQUEUE, &rl));
  long cases[][2] = {{11, 8192}, {65536, 1}, {65537, 1}, {1, 16 << 20}, {1, (16 << 20) + 1}};
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct mq_attr a = mkattr(cases[i][0], cases[i][1]);
    char what[64];
    snprintf(what, sizeof what, "root: maxmsg %ld msgsize %ld", cases[i][0], cases[i][1]);
    fd = mq_open(qname("big"), O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    ok(what, fd);
    if (fd >= 0) {
      attrPrint("attr", fd);
      close(fd);
      mq_unlink(qname("big"));
    }
  }

  // queues_max (256) holds for other users, not for a capable one; the raw mq_unlink of
  // another user's queue is EPERM (glibc's mq_unlink turns it into EACCES, and qemu-user calls
  // the host's glibc)
  umask(0);
  fd = mq_open(qname("root666"), O_CREAT | O_RDWR, 0666, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    becomeUser(65534);
    res("nobody: raw unlink of root's queue", syscall(SYS_mq_unlink, kname(qname("root666") + 1)));
    ok("nobody: opens it O_RDWR", mq_open(qname("root666"), O_RDWR));
    struct mq_attr tiny = mkattr(1, 1);
    int i;
    for (i = 0; i < 300; i++) {
      char tag[16];
      snprintf(tag, sizeof tag, "t%d", i);
      long f = mq_open(qname(tag), O_CREAT | O_RDWR, 0600, &tiny);
      if (f < 0) {
        printf("nobody: queue %d: %s\n", i, strerrorname_np(errno));
        break;
      }
      close(f);
    }
    _exit(0);
  }
  printf("child: %d\n", waitChild(pid));
  close(fd);
  mq_unlink(qname("root666"));
  fd = mq_open(qname("root257"), O_CREAT | O_RDWR, 0600, NULL);
  ok("root: one more", fd);
  close(fd);
  mq_unlink(qname("root257"));
  for (int i = 0; i < 300; i++) {
    char tag[16];
    snprintf(tag, sizeof tag, "t%d", i);
    mq_unlink(qname(tag));
  }
}

// ---------------------------------------------------------------------------------------

/** Queued messages hold memory of the VM: a full quota refuses a message with ENOMEM. */
static void quotaSection(void) {
  printf("== quota\n");
  struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
  setrlimit(RLIMIT_MSGQUEUE, &rl);
  struct mq_attr a = mkattr(4096, 1 << 20);
  const char *n = qname("quota");
  mqd_t q = mq_open(n, O_CREAT | O_RDWR | O_NONBLOCK, 0600, &a);
  ok("create 4096 x 1 MiB", q);
  static char mib[1 << 20];
  memset(mib, 'q', sizeof mib);
  memset(rbuf, 0, sizeof rbuf);
  int sent = 0;
  while (mq_send(q, mib, sizeof mib, 0) == 0) sent++;
  // make room before anything else touches a new page
  int err = errno;
  ssize_t got = mq_receive(q, rbuf, sizeof rbuf, NULL);
  printf("send: %s after at least 16 MiB: %d, less than 128 MiB: %d\n", strerrorname_np(err), sent >= 16, sent < 128);
  printf("receive one: %zd\n", got);
  res("send after that", mq_send(q, mib, sizeof mib, 0));
  close(q);
  res("unlink (frees the messages)", mq_unlink(n));
  q = mq_open(n, O_CREAT | O_RDWR | O_NONBLOCK, 0600, &a);
  int again = 0;
  while (again < sent && mq_send(q, mib, sizeof mib, 0) == 0) again++;
  printf("as many again (within one): %d\n", again >= sent - 1);
  close(q);
  mq_unlink(n);
}

/** What this kernel lacks: SIGEV_THREAD (glibc needs a NETLINK socket for it). */
static void gapsSection(void) {
  printf("== gaps\n");
  const char *n = qname("gaps");
  mqd_t q = mq_open(n, O_CREAT | O_RDWR, 0600, NULL);
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD;
  res("glibc SIGEV_THREAD", mq_notify(q, &sev));
  close(q);
  mq_unlink(n);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  mainPid = getpid();
  const char *only = argc > 1 ? argv[1] : NULL;
  if (!only || !strcmp(only, "basic")) basicSection();
  if (!only || !strcmp(only, "errors")) errorsSection();
  if (!only || !strcmp(only, "block")) blockSection();
  if (!only || !strcmp(only, "poll")) pollSection();
  if (only && !strcmp(only, "notify")) notifySection();
  if (only && !strcmp(only, "linux-only")) linuxOnlySection();
  if (only && !strcmp(only, "quota")) quotaSection();
  if (only && !strcmp(only, "gaps")) gapsSection();
  printf("done\n");
  return 0;
}
