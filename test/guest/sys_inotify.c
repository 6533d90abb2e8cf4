// fixture: static
// inotify: init flags, watches on directories and files, the events of creating, writing,
// reading, closing, changing attributes, linking, renaming (cookies) and removing files and
// directories; record layout and name padding, EINVAL for a short buffer, FIONREAD, merging of
// identical events, IN_ONESHOT, IN_MASK_ADD/IN_MASK_CREATE, IN_ONLYDIR, IN_DONT_FOLLOW,
// IN_EXCL_UNLINK, IN_IGNORED, queue overflow, poll/epoll, a blocking read woken by another
// process and one interrupted by a signal. Runs in a fresh directory on tmpfs.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "tmpdir.h"

#define E(x) (errno = 0, report(#x, (long)(x)))
static void report(const char *what, long r) {
  printf("%-52s -> %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static const char *bits[] = {"ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE", "OPEN",
                             "MOVED_FROM", "MOVED_TO", "CREATE", "DELETE", "DELETE_SELF", "MOVE_SELF"};
static unsigned cookies[16];
static int ncookies;

static void show_mask(unsigned m) {
  int first = 1;
  for (int i = 0; i < 12; i++)
    if (m & (1u << i)) printf("%s%s", first ? "" : "|", bits[i]), first = 0;
  if (m & IN_UNMOUNT) printf("%sUNMOUNT", first ? "" : "|"), first = 0;
  if (m & IN_Q_OVERFLOW) printf("%sQ_OVERFLOW", first ? "" : "|"), first = 0;
  if (m & IN_IGNORED) printf("%sIGNORED", first ? "" : "|"), first = 0;
  if (m & IN_ISDIR) printf("%sISDIR", first ? "" : "|"), first = 0;
  if (first) printf("0x%x", m);
}

static char cookie_name(unsigned c) {
  if (c == 0) return '0';
  for (int i = 0; i < ncookies; i++)
    if (cookies[i] == c) return (char)('A' + i);
  if (ncookies < 16) cookies[ncookies++] = c;
  return (char)('A' + ncookies - 1);
}

/** Prints the events in buf[0..n). */
static void show(const char *buf, long n) {
  for (long o = 0; o < n;) {
    const struct inotify_event *e = (const struct inotify_event *)(buf + o);
    printf("  wd=%d ", e->wd);
    show_mask(e->mask);
    printf(" cookie=%c len=%u name='%s'\n", cookie_name(e->cookie), e->len, e->len ? e->name : "");
    o += (long)sizeof *e + e->len;
  }
}

static char evbuf[65536] __attribute__((aligned(8)));

/** Reads and prints everything queued on a non-blocking instance. */
static void drain(const char *label, int fd) {
  int avail = -1;
  ioctl(fd, FIONREAD, &avail);
  printf("%s (FIONREAD %d):\n", label, avail);
  for (;;) {
    long n = read(fd, evbuf, sizeof evbuf);
    if (n < 0) {
      if (errno != EAGAIN) printf("  read error %s\n", strerror(errno));
      break;
    }
    show(evbuf, n);
  }
}

static void touch(const char *p) {
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  close(fd);
}

static void on_alarm(int s) { (void)s; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char dir[64];
  enter_tmpdir("inotify", dir);
  mkdir("d", 0755);

  printf("-- arguments\n");
  E(inotify_init1(0x1));
  int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  printf("init ok: %d, cloexec: %d, nonblock: %d\n", in >= 0, (fcntl(in, F_GETFD) & FD_CLOEXEC) != 0,
         (fcntl(in, F_GETFL) & O_NONBLOCK) != 0);
  E(read(in, evbuf, sizeof evbuf));
  E(inotify_add_watch(in, "d", 0));
  E(inotify_add_watch(in, "missing", IN_ALL_EVENTS));
  E(inotify_add_watch(1, "d", IN_ALL_EVENTS));
  E(inotify_add_watch(99, "d", IN_ALL_EVENTS));
  E(inotify_add_watch(in, "d", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
  E(inotify_rm_watch(in, 42));
  E(inotify_rm_watch(1, 1));
  touch("file");
  E(inotify_add_watch(in, "file", IN_ALL_EVENTS | IN_ONLYDIR));
  E(inotify_add_watch(in, "d", IN_ALL_EVENTS));
  E(inotify_add_watch(in, "d", IN_ALL_EVENTS));
  E(inotify_add_watch(in, "d", IN_ALL_EVENTS | IN_MASK_CREATE));

  printf("-- a directory watch sees its children\n");
  int fd = open("d/f", O_CREAT | O_WRONLY, 0644);
  E(write(fd, "abc", 3));
  E(write(fd, "def", 3));
  close(fd);
  fd = open("d/f", O_RDONLY);
  char b[16];
  E(read(fd, b, sizeof b));
  E(read(fd, b, sizeof b));
  close(fd);
  E(chmod("d/f", 0600));
  E(setxattr("d/f", "user.x", "1", 1, 0));
  E(truncate("d/f", 1));
  E(utimensat(AT_FDCWD, "d/f", NULL, 0));
  E(mkdir("d/sub", 0755));
  E(rename("d/f", "d/g"));
  E(link("d/g", "d/h"));
  E(unlink("d/h"));
  E(unlink("d/g"));
  E(rmdir("d/sub"));
  fd = open("d", O_RDONLY | O_DIRECTORY);
  close(fd);
  DIR *dp = opendir("d");
  while (readdir(dp)) {
  }
  closedir(dp);
  E(open("d/x", O_PATH));
  drain("events", in);

  printf("-- record layout and buffers\n");
  touch("d/fifteen-chars__");
  touch("d/sixteen-chars__x");
  E(ioctl(in, FIONREAD, &fd));
  printf("FIONREAD %d\n", fd);
  E(read(in, evbuf, 15));
  E(read(in, evbuf, 16));
  E(read(in, evbuf, 32));
  show(evbuf, 32);
  long n = read(in, evbuf, sizeof evbuf);
  printf("rest %ld bytes\n", n);
  show(evbuf, n);

  printf("-- a watch on a file; merging; rename over it\n");
  touch("d/target");
  touch("d/src");
  int wt = inotify_add_watch(in, "d/target", IN_ALL_EVENTS);
  int ws = inotify_add_watch(in, "d/src", IN_ALL_EVENTS);
  printf("wd target %d src %d\n", wt, ws);
  fd = open("d/target", O_WRONLY);
  E(write(fd, "1", 1));
  E(write(fd, "2", 1));
  E(write(fd, "3", 1));
  close(fd);
  E(rename("d/src", "d/target"));
  drain("file events", in);

  printf("-- oneshot, mask add, rm_watch\n");
  int w1 = inotify_add_watch(in, "d/target", IN_ATTRIB | IN_ONESHOT);
  E(chmod("d/target", 0644));
  E(chmod("d/target", 0600));
  int w2 = inotify_add_watch(in, "file", IN_ATTRIB);
  E(inotify_add_watch(in, "file", IN_MODIFY | IN_MASK_ADD) == w2);
  fd = open("file", O_WRONLY);
  E(write(fd, "x", 1));
  close(fd);
  E(chmod("file", 0600));
  E(inotify_rm_watch(in, w2));
  E(inotify_rm_watch(in, w2));
  E(chmod("file", 0644));
  printf("oneshot wd %d\n", w1);
  drain("oneshot/mask events", in);

  printf("-- dont_follow, excl_unlink\n");
  symlink("file", "lnk");
  int wl = inotify_add_watch(in, "lnk", IN_ATTRIB | IN_DONT_FOLLOW);
  E(chmod("file", 0600));
  E(lchown("lnk", 0, 0));
  int in2 = inotify_init1(IN_NONBLOCK);
  touch("d/gone");
  int gfd = open("d/gone", O_WRONLY);
  int wex = inotify_add_watch(in2, "d", IN_MODIFY | IN_EXCL_UNLINK);
  E(unlink("d/gone"));
  E(write(gfd, "x", 1));
  close(gfd);
  printf("wd link %d excl %d\n", wl, wex);
  drain("main instance", in);
  drain("excl_unlink instance", in2);
  close(in2);

  printf("-- poll and epoll\n");
  struct pollfd pfd = {.fd = in, .events = POLLIN};
  E(poll(&pfd, 1, 0));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
  E(epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev));
  E(epoll_wait(ep, &ev, 1, 0));
  touch("d/polled");
  E(poll(&pfd, 1, 0));
  printf("revents %#x\n", pfd.revents);
  E(epoll_wait(ep, &ev, 1, 0));
  printf("epoll events %#x data %u\n", ev.events, ev.data.u32);
  drain("polled", in);
  close(ep);

  printf("-- blocking reads\n");
  int bl = inotify_init1(0);
  inotify_add_watch(bl, "d", IN_CREATE);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(50000);
    touch("d/from-child");
    _exit(0);
  }
  n = read(bl, evbuf, sizeof evbuf);
  printf("woken by the child: %ld bytes\n", n);
  show(evbuf, n);
  waitpid(pid, NULL, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  E(read(bl, evbuf, sizeof evbuf));
  close(bl);

  printf("-- overflow\n");
  int ov = inotify_init1(IN_NONBLOCK);
  touch("big");
  inotify_add_watch(ov, "big", IN_MODIFY | IN_ATTRIB);
  fd = open("big", O_WRONLY);
  for (int i = 0; i < 8300; i++) {
    if (write(fd, "x", 1) != 1 || fchmod(fd, (i & 1) ? 0644 : 0600) != 0) return 2;
  }
  close(fd);
  int avail = 0;
  ioctl(ov, FIONREAD, &avail);
  printf("FIONREAD %d\n", avail);
  long total = 0, events = 0;
  struct inotify_event last = {0};
  for (;;) {
    n = read(ov, evbuf, sizeof evbuf);
    if (n <= 0) break;
    total += n;
    for (long o = 0; o < n; events++) {
      last = *(struct inotify_event *)(evbuf + o);
      o += (long)sizeof last + last.len;
    }
  }
  printf("read %ld bytes, %ld events, last wd=%d ", total, events, last.wd);
  show_mask(last.mask);
  printf("\n");
  close(ov);

  printf("-- directories watched themselves\n");
  int in3 = inotify_init1(IN_NONBLOCK);
  mkdir("d/s2", 0755);
  int wdir = inotify_add_watch(in3, "d/s2", IN_ALL_EVENTS);
  E(chmod("d/s2", 0700));
  E(rename("d/s2", "d/s3"));
  E(rmdir("d/s3"));
  printf("wd %d\n", wdir);
  drain("directory events", in3);
  close(in3);

  printf("-- cleanup\n");
  E(close(in));
  const char *files[] = {"d/fifteen-chars__", "d/sixteen-chars__x", "d/target", "d/polled", "d/from-child",
                         "file", "lnk", "big"};
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) unlink(files[i]);
  E(rmdir("d"));
  if (chdir("/") != 0) return 1;
  E(rmdir(dir));
  return 0;
}
