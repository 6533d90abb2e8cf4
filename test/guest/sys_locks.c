// fixture: static -pthread
// Advisory locks between processes: fcntl record locks (F_GETLK reports the holder's range and
// pid, F_SETLK conflicts with EAGAIN, F_SETLKW waits until the holder unlocks, closes any fd of
// the file or exits; EINTR on a signal; EDEADLK on a two-process cycle), splitting and merging
// of one owner's ranges, whence/len forms, EBADF/EINVAL; OFD locks; flock() owned by the open
// file description (shared by dup and fork, released with its last fd), independent of fcntl.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[64];
static int toChild[2], toParent[2];

static const char *ename(int e) {
  switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EINTR: return "EINTR";
    case EDEADLK: return "EDEADLK";
    case EOVERFLOW: return "EOVERFLOW";
    case EFAULT: return "EFAULT";
    default: return strerror(e);
  }
}
static const char *tname(int t) { return t == F_RDLCK ? "RD" : t == F_WRLCK ? "WR" : t == F_UNLCK ? "UN" : "?"; }

static int lk(int fd, int cmd, int type, int whence, long start, long len) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = (short)type;
  fl.l_whence = (short)whence;
  fl.l_start = start;
  fl.l_len = len;
  return fcntl(fd, cmd, &fl) < 0 ? errno : 0;
}
static void setlk(const char *what, int fd, int cmd, int type, int whence, long start, long len) {
  printf("%s: %s\n", what, ename(lk(fd, cmd, type, whence, start, len)));
}
static void getlk(const char *what, int fd, int type, int whence, long start, long len, pid_t holder) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = (short)type;
  fl.l_whence = (short)whence;
  fl.l_start = start;
  fl.l_len = len;
  fl.l_pid = 12345;
  if (fcntl(fd, F_GETLK, &fl) < 0) {
    printf("%s: getlk %s\n", what, ename(errno));
    return;
  }
  if (fl.l_type == F_UNLCK)
    printf("%s: unlocked (start %ld len %ld kept)\n", what, (long)fl.l_start, (long)fl.l_len);
  else
    printf("%s: %s start %ld len %ld whence %d pid %s\n", what, tname(fl.l_type), (long)fl.l_start,
           (long)fl.l_len, fl.l_whence, fl.l_pid == holder ? "holder" : fl.l_pid == -1 ? "-1" : "other");
}
static void send(int fd) {
  char c = 'x';
  if (write(fd, &c, 1) != 1) _exit(90);
}
static void recv1(int fd) {
  char c;
  if (read(fd, &c, 1) != 1) _exit(91);
}
static void reap(pid_t pid) {
  int st;
  waitpid(pid, &st, 0);
  printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
}
static void onalarm(int sig) { (void)sig; }
static void armTimer(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onalarm; // no SA_RESTART: the wait ends with EINTR
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 100000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

/** Child holds record locks; the parent probes them and waits for unlock, close and exit. */
static void records(void) {
  puts("-- records");
  int fd = open(path, O_RDWR);
  pid_t pid = fork();
  if (pid == 0) {
    int mine = open(path, O_RDWR);
    int other = open(path, O_RDONLY);
    lk(mine, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
    lk(mine, F_SETLK, F_RDLCK, SEEK_SET, 20, 10);
    lk(mine, F_SETLK, F_WRLCK, SEEK_SET, 50, 0);
    send(toParent[1]);
    recv1(toChild[0]);
    usleep(20000);
    lk(mine, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
    recv1(toChild[0]);
    usleep(20000);
    close(other); // any fd of the file: all of this process's locks on it go
    lk(mine, F_SETLK, F_WRLCK, SEEK_SET, 200, 10);
    send(toParent[1]);
    recv1(toChild[0]);
    usleep(20000);
    _exit(7);
  }
  recv1(toParent[0]);
  getlk("getlk WR 5+1", fd, F_WRLCK, SEEK_SET, 5, 1, pid);
  getlk("getlk RD 20+10", fd, F_RDLCK, SEEK_SET, 20, 10, pid);
  getlk("getlk WR 25+1", fd, F_WRLCK, SEEK_SET, 25, 1, pid);
  getlk("getlk WR 10+10 gap", fd, F_WRLCK, SEEK_SET, 10, 10, pid);
  getlk("getlk WR 60+0", fd, F_WRLCK, SEEK_SET, 60, 0, pid);
  getlk("getlk WR 1000000+5", fd, F_WRLCK, SEEK_SET, 1000000, 5, pid);
  getlk("getlk RD 0+0", fd, F_RDLCK, SEEK_SET, 0, 0, pid);
  lseek(fd, 40, SEEK_SET);
  getlk("getlk SEEK_CUR 12+1", fd, F_WRLCK, SEEK_CUR, 12, 1, pid);
  getlk("getlk SEEK_CUR -40+5", fd, F_WRLCK, SEEK_CUR, -40, 5, pid);
  getlk("getlk SEEK_END -10+5", fd, F_WRLCK, SEEK_END, -10, 5, pid);
  getlk("getlk start 10 len -5", fd, F_WRLCK, SEEK_SET, 10, -5, pid);
  getlk("getlk start 30 len -10", fd, F_WRLCK, SEEK_SET, 30, -10, pid);
  setlk("setlk WR 0+5", fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 5);
  setlk("setlk RD 9+2", fd, F_SETLK, F_RDLCK, SEEK_SET, 9, 2);
  setlk("setlk RD 15+10 (shared)", fd, F_SETLK, F_RDLCK, SEEK_SET, 15, 10);
  setlk("setlk WR 30+20 (gap)", fd, F_SETLK, F_WRLCK, SEEK_SET, 30, 20);
  setlk("setlk RD 49+2", fd, F_SETLK, F_RDLCK, SEEK_SET, 49, 2);
  setlk("unlock 15+35", fd, F_SETLK, F_UNLCK, SEEK_SET, 15, 35);
  send(toChild[1]);
  setlk("setlkw WR 0+10 (child unlocks)", fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10);
  getlk("getlk WR 20+1 still", fd, F_WRLCK, SEEK_SET, 20, 1, pid);
  send(toChild[1]);
  setlk("setlkw WR 20+1 (child closes another fd)", fd, F_SETLKW, F_WRLCK, SEEK_SET, 20, 1);
  recv1(toParent[0]);
  getlk("getlk WR 50+0 after close", fd, F_WRLCK, SEEK_SET, 50, 0, pid);
  getlk("getlk WR 200+1 retaken", fd, F_WRLCK, SEEK_SET, 200, 1, pid);
  send(toChild[1]);
  setlk("setlkw WR 0+0 (child exits)", fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 0);
  reap(pid);
  close(fd);
}

/** The parent's own ranges split and merge; a child observes them with F_GETLK. */
static void ranges(void) {
  puts("-- ranges");
  int fd = open(path, O_RDWR);
  lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 100);
  lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20);
  lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 200, 10);
  lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 210, 10);
  lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 300, 0);
  lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 400, 10);
  pid_t me = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    int c = open(path, O_RDWR);
    getlk("split: 0+0", c, F_WRLCK, SEEK_SET, 0, 0, me);
    getlk("split: 40+20", c, F_WRLCK, SEEK_SET, 40, 20, me);
    getlk("split: 45+0", c, F_WRLCK, SEEK_SET, 45, 30, me);
    getlk("merged adjacent: 205+1", c, F_WRLCK, SEEK_SET, 205, 1, me);
    getlk("RD to EOF vs RD", c, F_RDLCK, SEEK_SET, 350, 1, me);
    getlk("WR in RD to EOF", c, F_WRLCK, SEEK_SET, 350, 1, me);
    getlk("WR inside RD: 405+1", c, F_WRLCK, SEEK_SET, 405, 1, me);
    send(toParent[1]);
    recv1(toChild[0]);
    getlk("mixed: RD 0+0", c, F_RDLCK, SEEK_SET, 0, 0, me);
    getlk("mixed: WR 50+1", c, F_WRLCK, SEEK_SET, 50, 1, me);
    getlk("mixed: RD 50+1", c, F_RDLCK, SEEK_SET, 50, 1, me);
    send(toParent[1]);
    recv1(toChild[0]);
    getlk("rejoined: WR 0+0", c, F_WRLCK, SEEK_SET, 0, 0, me);
    send(toParent[1]);
    recv1(toChild[0]);
    getlk("downgraded: RD 0+0", c, F_RDLCK, SEEK_SET, 0, 0, me);
    getlk("downgraded: WR 0+0", c, F_WRLCK, SEEK_SET, 0, 0, me);
    _exit(0);
  }
  recv1(toParent[0]);
  lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 40, 20);
  send(toChild[1]);
  recv1(toParent[0]);
  lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 40, 20);
  send(toChild[1]);
  recv1(toParent[0]);
  lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 0);
  send(toChild[1]);
  reap(pid);
  lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
  close(fd);
}

static void errors(void) {
  puts("-- errors");
  int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
  setlk("WR on O_RDONLY", ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
  setlk("RD on O_WRONLY", wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1);
  setlk("UN on O_RDONLY", ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
  setlk("RD on O_RDONLY", ro, F_SETLK, F_RDLCK, SEEK_SET, 0, 1);
  getlk("getlk WR on O_RDONLY", ro, F_WRLCK, SEEK_SET, 0, 1, 0);
  getlk("getlk type UN", ro, F_UNLCK, SEEK_SET, 0, 1, 0);
  setlk("type 7", ro, F_SETLK, 7, SEEK_SET, 0, 1);
  setlk("whence 9", ro, F_SETLK, F_RDLCK, 9, 0, 1);
  setlk("start -1", ro, F_SETLK, F_RDLCK, SEEK_SET, -1, 1);
  setlk("len -5 at 2", ro, F_SETLK, F_RDLCK, SEEK_SET, 2, -5);
  setlk("len overflows", ro, F_SETLK, F_RDLCK, SEEK_SET, 0x7fffffffffffff00L, 0x1000);
  lseek(ro, 40, SEEK_SET);
  setlk("SEEK_CUR start overflows", ro, F_SETLK, F_RDLCK, SEEK_CUR, 0x7fffffffffffffffL, 1);
  setlk("SEEK_END start -200", ro, F_SETLK, F_RDLCK, SEEK_END, -200, 1);
  setlk("bad fd", 99, F_SETLK, F_RDLCK, SEEK_SET, 0, 1);
  printf("bad pointer: %s\n", fcntl(ro, F_SETLK, (void *)8) < 0 ? ename(errno) : "0");
  close(ro);
  close(wo);
}

/** F_SETLKW ends with EINTR on a signal; a two-process cycle gets EDEADLK. */
static void waits(void) {
  puts("-- waits");
  int fd = open(path, O_RDWR);
  lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
  pid_t pid = fork();
  if (pid == 0) {
    int c = open(path, O_RDWR);
    armTimer();
    printf("child setlkw interrupted: %s\n", ename(lk(c, F_SETLKW, F_WRLCK, SEEK_SET, 5, 1)));
    lk(c, F_SETLK, F_WRLCK, SEEK_SET, 10, 10);
    send(toParent[1]);
    printf("child setlkw after parent's EDEADLK: %s\n", ename(lk(c, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10)));
    _exit(0);
  }
  recv1(toParent[0]);
  usleep(300000); // the child is asleep in F_SETLKW by now
  setlk("parent setlkw closing the cycle", fd, F_SETLKW, F_WRLCK, SEEK_SET, 10, 10);
  lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
  reap(pid);
  close(fd);
}

/** Open file description locks: owned by the description, l_pid -1. */
static void ofd(void) {
  puts("-- ofd");
  int a = open(path, O_RDWR), b = open(path, O_RDWR);
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
  printf("ofd setlk a: %s\n", fcntl(a, F_OFD_SETLK, &fl) < 0 ? ename(errno) : "0");
  fl.l_type = F_WRLCK;
  printf("ofd setlk b: %s\n", fcntl(b, F_OFD_SETLK, &fl) < 0 ? ename(errno) : "0");
  fl.l_type = F_RDLCK;
  fl.l_pid = 0;
  fcntl(b, F_OFD_GETLK, &fl);
  printf("ofd getlk b: %s start %ld len %ld pid %d\n", tname(fl.l_type), (long)fl.l_start, (long)fl.l_len,
         (int)fl.l_pid);
  getlk("posix getlk on ofd lock", b, F_RDLCK, SEEK_SET, 0, 1, -1);
  fl.l_type = F_WRLCK;
  fl.l_pid = 5;
  printf("ofd l_pid 5: %s\n", fcntl(b, F_OFD_SETLK, &fl) < 0 ? ename(errno) : "0");
  close(a);
  fl.l_pid = 0;
  printf("ofd setlk b after close a: %s\n", fcntl(b, F_OFD_SETLK, &fl) < 0 ? ename(errno) : "0");
  close(b);
}

static int threadFd;
static void *threadLocks(void *arg) {
  (void)arg;
  // the process's lock: a thread re-locking it is no conflict, and its close releases it
  printf("thread setlk WR 0+10 (held by its process): %s\n", ename(lk(threadFd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
  int other = open(path, O_RDONLY);
  close(other);
  return NULL;
}

/** Threads share their process's record locks. */
static void threads(void) {
  puts("-- threads");
  threadFd = open(path, O_RDWR);
  lk(threadFd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
  pthread_t th;
  pthread_create(&th, NULL, threadLocks, NULL);
  pthread_join(th, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    getlk("child getlk after the thread closed an fd", open(path, O_RDWR), F_WRLCK, SEEK_SET, 0, 0, 0);
    _exit(0);
  }
  reap(pid);
  close(threadFd);
}

static void flocks(void) {
  puts("-- flock");
  int fd1 = open(path, O_RDONLY), fd2 = open(path, O_RDONLY);
  printf("ex fd1: %s\n", ename(flock(fd1, LOCK_EX) ? errno : 0));
  printf("ex|nb fd2: %s\n", ename(flock(fd2, LOCK_EX | LOCK_NB) ? errno : 0));
  printf("sh|nb fd2: %s\n", ename(flock(fd2, LOCK_SH | LOCK_NB) ? errno : 0));
  int fd3 = dup(fd1);
  printf("ex|nb dup of fd1: %s\n", ename(flock(fd3, LOCK_EX | LOCK_NB) ? errno : 0));
  close(fd1);
  printf("after closing fd1, ex|nb fd2: %s\n", ename(flock(fd2, LOCK_EX | LOCK_NB) ? errno : 0));
  getlk("fcntl getlk ignores flock", fd2, F_RDLCK, SEEK_SET, 0, 0, 0);
  printf("fcntl setlk RD ignores flock: %s\n", ename(lk(fd2, F_SETLK, F_RDLCK, SEEK_SET, 0, 0)));
  lk(fd2, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
  printf("bad op: %s\n", ename(flock(fd2, 3) ? errno : 0));
  printf("bad fd: %s\n", ename(flock(99, LOCK_SH) ? errno : 0));
  pid_t pid = fork();
  if (pid == 0) {
    // fd3 is the same description: the lock is the child's too
    recv1(toChild[0]);
    printf("child ex|nb on inherited fd3: %s\n", ename(flock(fd3, LOCK_EX | LOCK_NB) ? errno : 0));
    usleep(20000);
    _exit(3); // the description's last fd goes with the child
  }
  close(fd3);
  printf("parent closed fd3, ex|nb fd2: %s\n", ename(flock(fd2, LOCK_EX | LOCK_NB) ? errno : 0));
  send(toChild[1]);
  printf("ex fd2 waits for the child's exit: %s\n", ename(flock(fd2, LOCK_EX) ? errno : 0));
  reap(pid);
  printf("downgrade fd2 to sh: %s\n", ename(flock(fd2, LOCK_SH) ? errno : 0));
  int fd4 = open(path, O_RDONLY);
  printf("sh|nb fd4: %s\n", ename(flock(fd4, LOCK_SH | LOCK_NB) ? errno : 0));
  printf("ex|nb fd4 (upgrade blocked by fd2): %s\n", ename(flock(fd4, LOCK_EX | LOCK_NB) ? errno : 0));
  printf("un fd2: %s\n", ename(flock(fd2, LOCK_UN) ? errno : 0));
  printf("un fd2 again: %s\n", ename(flock(fd2, LOCK_UN) ? errno : 0));
  printf("ex|nb fd4: %s\n", ename(flock(fd4, LOCK_EX | LOCK_NB) ? errno : 0));
  pid = fork();
  if (pid == 0) {
    int c = open(path, O_RDONLY);
    armTimer();
    printf("child flock ex interrupted: %s\n", ename(flock(c, LOCK_EX) ? errno : 0));
    printf("child flock sh|nb: %s\n", ename(flock(c, LOCK_SH | LOCK_NB) ? errno : 0));
    send(toParent[1]);
    recv1(toChild[0]);
    printf("child flock ex after parent's unlock: %s\n", ename(flock(c, LOCK_EX) ? errno : 0));
    _exit(0);
  }
  recv1(toParent[0]);
  send(toChild[1]);
  usleep(20000);
  flock(fd4, LOCK_UN);
  reap(pid);
  close(fd2);
  close(fd4);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  strcpy(path, "/tmp/lichen-locks-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0 || pipe(toChild) || pipe(toParent)) return 1;
  char buf[100];
  memset(buf, 'a', sizeof buf);
  if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
  close(fd);
  records();
  ranges();
  errors();
  waits();
  ofd();
  threads();
  flocks();
  unlink(path);
  puts("done");
  return 0;
}
