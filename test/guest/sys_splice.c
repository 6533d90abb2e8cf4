// fixture: static
// splice, tee, vmsplice, copy_file_range, posix_fadvise, readahead, sched_rr_get_interval:
// file<->pipe, pipe<->pipe, socket<->pipe with and without offsets, tee duplicating without
// consuming, vmsplice into and out of a pipe, copy_file_range with offsets, EOF, overlap,
// RLIMIT_FSIZE; Linux's errors (EINVAL/ESPIPE/EBADF/EFAULT/EAGAIN/EPIPE+SIGPIPE, flags, huge
// lengths, bad pointers); blocking on an empty or full pipe until a child acts, and EINTR.
// Transfers stay below a page so that Linux's page-buffer pipes and Lichen's byte-counted ones
// agree. Works in a fresh directory on tmpfs (tmpdir.h).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tmpdir.h"

static const char *ename(int e) {
  switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ESPIPE: return "ESPIPE";
    case EPIPE: return "EPIPE";
    case EFAULT: return "EFAULT";
    case EINTR: return "EINTR";
    case EISDIR: return "EISDIR";
    case EFBIG: return "EFBIG";
    case ESRCH: return "ESRCH";
    case EOVERFLOW: return "EOVERFLOW";
    case EXDEV: return "EXDEV";
    default: return strerror(e);
  }
}

#define E(x) (errno = 0, report(#x, (long)(x)))
static void report(const char *what, long r) { printf("%s -> %ld %s\n", what, r, r < 0 ? ename(errno) : ""); }
/** posix_fadvise returns the error number itself. */
#define P(x) printf("%s -> %s\n", #x, ename(x))

static char buf[70000];

/** Prints (and consumes) what a pipe holds, without blocking. */
static void show_pipe(const char *label, int fd) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  ssize_t n = read(fd, buf, sizeof buf);
  fcntl(fd, F_SETFL, fl);
  printf("%s: [%.*s] (%zd)\n", label, n > 0 ? (int)n : 0, buf, n);
}

static void show_file(const char *name) {
  int fd = open(name, O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  printf("file %s: [%.*s] (%zd)\n", name, n > 0 ? (int)n : 0, buf, n);
}

static int mkfile(const char *name, const char *content) {
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (content) write(fd, content, strlen(content));
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/** Fills a pipe to capacity with page-sized writes; returns the byte count. */
static long fill(int fd) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  long total = 0;
  ssize_t n;
  memset(buf, 'f', 4096);
  while ((n = write(fd, buf, 4096)) > 0) total += n;
  fcntl(fd, F_SETFL, fl);
  return total;
}

/** Signals caught, by number. */
static int caught[65];
static void on_signal(int s) { caught[s]++; }

/** A child that waits a little, then runs `act` and exits. */
static pid_t later(void (*act)(int), int fd) {
  pid_t c = fork();
  if (c == 0) {
    usleep(50000);
    act(fd);
    _exit(0);
  }
  return c;
}
static void write_late(int fd) { write(fd, "late", 4); }
static void read_page(int fd) { read(fd, buf, 4096); }

static void file_to_pipe(int src, int p[2]) {
  printf("-- splice file -> pipe\n");
  loff_t off;
  E(splice(src, NULL, p[1], NULL, 5, 0));
  E(lseek(src, 0, SEEK_CUR));
  off = 10;
  E(splice(src, &off, p[1], NULL, 4, SPLICE_F_MOVE | SPLICE_F_MORE));
  printf("off %lld pos %lld\n", (long long)off, (long long)lseek(src, 0, SEEK_CUR));
  show_pipe("pipe", p[0]);
  off = 20;
  E(splice(src, &off, p[1], NULL, 4, 0));
  off = 1000;
  E(splice(src, &off, p[1], NULL, 4, 0));
  printf("off %lld\n", (long long)off);
  off = -1;
  E(splice(src, &off, p[1], NULL, 4, 0));
  E(splice(src, NULL, p[1], NULL, (size_t)-1, 0));
  show_pipe("pipe", p[0]);
  E(splice(src, NULL, p[1], NULL, 4, 0));
  int d = open(".", O_RDONLY | O_DIRECTORY);
  E(splice(d, NULL, p[1], NULL, 4, 0));
  close(d);
  int null = open("/dev/zero", O_RDONLY);
  E(splice(null, NULL, p[1], NULL, 3, 0));
  ssize_t n = read(p[0], buf, sizeof buf);
  printf("read %zd:", n);
  for (ssize_t i = 0; i < n; i++) printf(" %d", buf[i]);
  printf("\n");
  close(null);
}

static void pipe_to_file(int p[2]) {
  printf("-- splice pipe -> file\n");
  int dst = mkfile("dst", NULL);
  loff_t off;
  write(p[1], "hello", 5);
  E(splice(p[0], NULL, dst, NULL, 100, 0));
  E(lseek(dst, 0, SEEK_CUR));
  write(p[1], "XY", 2);
  off = 1;
  E(splice(p[0], NULL, dst, &off, 2, 0));
  printf("off %lld pos %lld\n", (long long)off, (long long)lseek(dst, 0, SEEK_CUR));
  write(p[1], "tail", 4);
  E(splice(p[0], NULL, dst, NULL, 2, 0));
  show_file("dst");
  show_pipe("left in pipe", p[0]);
  write(p[1], "x", 1);
  E(splice(p[0], NULL, dst, NULL, (size_t)-1, SPLICE_F_NONBLOCK));
  off = -5;
  E(splice(p[0], NULL, dst, &off, 1, SPLICE_F_NONBLOCK));
  E(splice(p[0], NULL, dst, NULL, 1UL << 62, SPLICE_F_NONBLOCK));
  show_file("dst");
  int dn = open("/dev/null", O_WRONLY);
  write(p[1], "gone", 4);
  E(splice(p[0], NULL, dn, NULL, 100, 0));
  close(dn);
  close(dst);
}

static void pipe_to_pipe(int p[2], int q[2]) {
  printf("-- splice pipe -> pipe, tee\n");
  write(p[1], "abcdef", 6);
  E(splice(p[0], NULL, q[1], NULL, 4, 0));
  show_pipe("q", q[0]);
  E(splice(p[0], NULL, q[1], NULL, (size_t)-1, 0));
  show_pipe("q", q[0]);
  E(splice(p[0], NULL, p[1], NULL, 1, SPLICE_F_NONBLOCK));
  write(p[1], "tee-data", 8);
  E(tee(p[0], q[1], 100, 0));
  E(tee(p[0], q[1], 3, SPLICE_F_MOVE));
  show_pipe("q after tee", q[0]);
  show_pipe("p after tee", p[0]);
  E(tee(p[0], p[1], 1, SPLICE_F_NONBLOCK));
}

static void vm(int p[2], int src) {
  printf("-- vmsplice\n");
  char a[] = "vm", b[] = "splice";
  struct iovec iv[2] = {{a, 2}, {b, 6}};
  E(vmsplice(p[1], iv, 2, 0));
  show_pipe("p", p[0]);
  write(p[1], "readback", 8);
  char o1[4] = {0}, o2[10] = {0};
  struct iovec ov[2] = {{o1, 3}, {o2, sizeof o2}};
  E(vmsplice(p[0], ov, 2, SPLICE_F_NONBLOCK));
  printf("out [%s] [%s]\n", o1, o2);
  E(vmsplice(p[1], iv, 0, 0));
  E(vmsplice(src, iv, 2, 0));
  E(vmsplice(p[1], iv, 2, 0x10));
  E(vmsplice(p[1], (struct iovec *)8, 1, 0));
  E(vmsplice(p[1], iv, 1025, 0));
  struct iovec huge = {a, 1UL << 62}, neg = {a, (size_t)-1}, unmapped = {(void *)0x1000, 4};
  E(vmsplice(p[1], &huge, 1, 0));
  E(vmsplice(p[1], &neg, 1, 0));
  E(vmsplice(p[1], &unmapped, 1, 0));
  write(p[1], "xy", 2);
  E(vmsplice(p[0], &unmapped, 1, 0));
  show_pipe("still there", p[0]);
  E(vmsplice(-1, iv, 1, 0));
}

static void errors(int src, int p[2], int q[2]) {
  printf("-- splice/tee errors\n");
  int dst = open("dst", O_RDWR);
  loff_t off = 0;
  E(splice(src, NULL, dst, NULL, 1, 0));
  E(splice(p[0], &off, dst, NULL, 1, 0));
  E(splice(src, NULL, p[1], &off, 1, 0));
  E(splice(-1, NULL, p[1], NULL, 1, 0));
  E(splice(src, NULL, 99, NULL, 1, 0));
  E(splice(src, NULL, p[0], NULL, 1, 0));
  int wo = open("dst", O_WRONLY);
  E(splice(wo, NULL, p[1], NULL, 1, 0));
  int ap = open("dst", O_WRONLY | O_APPEND);
  write(p[1], "z", 1);
  E(splice(p[0], NULL, ap, NULL, 1, 0));
  E(splice(p[0], NULL, dst, NULL, 1, 0x10));
  E(splice(-1, NULL, -1, NULL, 0, 0));
  E(splice(p[0], NULL, dst, NULL, 0, 0x10));
  E(splice(p[0], NULL, dst, (loff_t *)8, 1, 0));
  E(splice(src, (loff_t *)8, p[1], NULL, 1, 0));
  int op = open("dst", O_PATH);
  E(splice(op, NULL, p[1], NULL, 1, 0));
  close(op);
  show_pipe("z stays", p[0]);
  E(tee(src, q[1], 1, 0));
  E(tee(p[0], dst, 1, 0));
  E(tee(p[1], q[1], 1, 0));
  E(tee(p[0], q[0], 1, 0));
  E(tee(-1, q[1], 1, 0));
  E(tee(p[0], q[1], 1, 0x10));
  E(tee(p[0], q[1], 0, 0));
  E(tee(-1, -1, 0, 0));
  close(wo);
  close(ap);
  close(dst);
}

static void nonblocking(int src, int p[2], int q[2]) {
  printf("-- nonblocking, EOF, EPIPE\n");
  int dst = open("dst", O_RDWR);
  loff_t off = 0;
  E(splice(p[0], NULL, dst, NULL, 1, SPLICE_F_NONBLOCK));
  E(splice(p[0], NULL, q[1], NULL, 1, SPLICE_F_NONBLOCK));
  E(tee(p[0], q[1], 1, SPLICE_F_NONBLOCK));
  char c;
  struct iovec one = {&c, 1};
  E(vmsplice(p[0], &one, 1, SPLICE_F_NONBLOCK));
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  E(splice(p[0], NULL, dst, NULL, 1, 0));
  E(splice(p[0], NULL, q[1], NULL, 1, 0));
  E(tee(p[0], q[1], 1, 0));
  fcntl(p[0], F_SETFL, 0);

  int f[2];
  pipe(f);
  printf("filled %ld\n", fill(f[1]));
  E(splice(src, &off, f[1], NULL, 1, SPLICE_F_NONBLOCK));
  E(vmsplice(f[1], &one, 1, SPLICE_F_NONBLOCK));
  write(p[1], "a", 1);
  E(splice(p[0], NULL, f[1], NULL, 1, SPLICE_F_NONBLOCK));
  E(tee(p[0], f[1], 1, SPLICE_F_NONBLOCK));
  fcntl(f[1], F_SETFL, O_NONBLOCK);
  E(splice(src, &off, f[1], NULL, 1, 0));
  close(f[0]);
  close(f[1]);

  int e[2];
  pipe(e);
  close(e[1]);
  E(splice(e[0], NULL, dst, NULL, 10, 0));
  E(splice(e[0], NULL, q[1], NULL, 10, 0));
  E(tee(e[0], q[1], 10, 0));
  E(vmsplice(e[0], &one, 1, 0));
  close(e[0]);

  signal(SIGPIPE, on_signal);
  int g[2];
  pipe(g);
  close(g[0]);
  E(splice(src, &off, g[1], NULL, 1, 0));
  E(vmsplice(g[1], &one, 1, 0));
  E(tee(p[0], g[1], 1, 0));
  E(splice(p[0], NULL, g[1], NULL, 1, 0));
  printf("SIGPIPE x%d\n", caught[SIGPIPE]);
  show_pipe("a stays", p[0]);
  close(g[1]);
  signal(SIGPIPE, SIG_DFL);
  close(dst);
}

static void blocking(int src, int q[2]) {
  printf("-- blocking\n");
  int dst = mkfile("blk", NULL);
  int b[2];
  pipe(b);
  pid_t c = later(write_late, b[1]);
  E(splice(b[0], NULL, dst, NULL, 100, 0));
  waitpid(c, NULL, 0);
  show_file("blk");

  c = later(write_late, b[1]);
  E(splice(b[0], NULL, q[1], NULL, 100, 0));
  waitpid(c, NULL, 0);
  show_pipe("q", q[0]);

  c = later(write_late, b[1]);
  E(tee(b[0], q[1], 100, 0));
  waitpid(c, NULL, 0);
  show_pipe("q", q[0]);
  show_pipe("b", b[0]);

  // vmsplice out of a pipe waits for data even on an O_NONBLOCK pipe (only the flag counts)
  c = later(write_late, b[1]);
  fcntl(b[0], F_SETFL, O_NONBLOCK);
  char o[8] = {0};
  struct iovec ov = {o, sizeof o - 1};
  E(vmsplice(b[0], &ov, 1, 0));
  fcntl(b[0], F_SETFL, 0);
  waitpid(c, NULL, 0);
  printf("vmspliced [%s]\n", o);
  show_pipe("b", b[0]);

  int f[2];
  pipe(f);
  printf("filled %ld\n", fill(f[1]));
  c = later(read_page, f[0]);
  loff_t off = 0;
  E(splice(src, &off, f[1], NULL, 20, 0));
  waitpid(c, NULL, 0);
  printf("off %lld\n", (long long)off);
  close(f[0]);
  close(f[1]);

  // vmsplice into a full pipe waits for room even with O_NONBLOCK on it (only the flag counts)
  pipe(f);
  printf("filled %ld\n", fill(f[1]));
  fcntl(f[1], F_SETFL, O_NONBLOCK);
  c = later(read_page, f[0]);
  char a[] = "vmsplice";
  struct iovec iv = {a, 8};
  E(vmsplice(f[1], &iv, 1, 0));
  waitpid(c, NULL, 0);
  close(f[0]);
  close(f[1]);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  E(splice(b[0], NULL, dst, NULL, 100, 0));
  setitimer(ITIMER_REAL, &it, NULL);
  E(tee(b[0], q[1], 100, 0));
  printf("alarms %d\n", caught[SIGALRM]);
  close(b[0]);
  close(b[1]);
  close(dst);
}

static void sockets(int p[2]) {
  printf("-- sockets\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(sv[1], "sock", 4);
  E(splice(sv[0], NULL, p[1], NULL, 100, 0));
  show_pipe("p", p[0]);
  write(p[1], "back", 4);
  E(splice(p[0], NULL, sv[1], NULL, 100, 0));
  ssize_t n = read(sv[0], buf, sizeof buf);
  printf("socket got [%.*s]\n", (int)n, buf);
  E(splice(sv[0], NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK));
  loff_t off = 0;
  E(splice(sv[0], &off, p[1], NULL, 1, SPLICE_F_NONBLOCK));
  E(splice(p[0], NULL, sv[1], &off, 1, SPLICE_F_NONBLOCK));
  E(copy_file_range(sv[0], NULL, p[1], NULL, 1, 0));
  close(sv[0]);
  close(sv[1]);
}

/**
 * `sys_splice xdev`: copy_file_range from a tmpfs file to a memfd (another filesystem). Linux
 * 5.19+ gives EXDEV between two filesystems without a copy_file_range method; Lichen copies.
 */
static int xdev(void) {
  int src = open("/proc/self/exe", O_RDONLY);
  int mf = memfd_create("m", 0);
  loff_t oi = 1;
  E(copy_file_range(src, &oi, mf, NULL, 3, 0));
  lseek(mf, 0, SEEK_SET);
  ssize_t n = read(mf, buf, sizeof buf);
  printf("memfd [%.*s] off %lld\n", (int)n, buf, (long long)oi);
  return 0;
}

/** copy_file_range with both offsets given: the result and where it left the offsets. */
static void copy_at(int in, loff_t from, int out, loff_t to, size_t len) {
  loff_t oi = from, oo = to;
  errno = 0;
  long r = copy_file_range(in, &oi, out, &oo, len, 0);
  printf("copy_file_range(in@%lld, out@%lld, %zu) -> %ld %s offsets %lld %lld\n", (long long)from, (long long)to, len,
         r, r < 0 ? ename(errno) : "", (long long)oi, (long long)oo);
}

static void copy_range(int p[2]) {
  printf("-- copy_file_range\n");
  int src = mkfile("csrc", "0123456789abcdefghij");
  int dst = mkfile("cdst", NULL);
  E(copy_file_range(src, NULL, dst, NULL, 4, 0));
  printf("pos %lld %lld\n", (long long)lseek(src, 0, SEEK_CUR), (long long)lseek(dst, 0, SEEK_CUR));
  loff_t oi = 10, oo = 2;
  E(copy_file_range(src, &oi, dst, &oo, 3, 0));
  printf("offs %lld %lld pos %lld %lld\n", (long long)oi, (long long)oo, (long long)lseek(src, 0, SEEK_CUR),
         (long long)lseek(dst, 0, SEEK_CUR));
  show_file("cdst");
  E(copy_file_range(src, NULL, dst, NULL, (size_t)-1, 0));
  show_file("cdst");
  E(copy_file_range(src, NULL, dst, NULL, 10, 0));
  oi = 100;
  E(copy_file_range(src, &oi, dst, NULL, 10, 0));
  printf("off %lld\n", (long long)oi);
  copy_at(src, 0, dst, 30, 5);
  struct stat st;
  fstat(dst, &st);
  printf("sparse size %lld\n", (long long)st.st_size);
  oi = 0;
  E(copy_file_range(src, &oi, dst, NULL, 5, 1));
  E(copy_file_range(src, NULL, dst, NULL, 0, 0));

  printf("same file\n");
  copy_at(src, 0, src, 5, 10);
  copy_at(src, 0, src, 10, 10);
  copy_at(src, 0, src, 30, 10);
  copy_at(src, 12, src, 2, 10);
  show_file("csrc");

  printf("errors\n");
  E(copy_file_range(-1, NULL, dst, NULL, 1, 0));
  E(copy_file_range(src, NULL, 99, NULL, 1, 0));
  int d = open(".", O_RDONLY | O_DIRECTORY);
  E(copy_file_range(d, NULL, dst, NULL, 1, 0));
  E(copy_file_range(src, NULL, d, NULL, 1, 0));
  close(d);
  E(copy_file_range(p[0], NULL, dst, NULL, 1, 0));
  E(copy_file_range(src, NULL, p[1], NULL, 1, 0));
  int ro = open("cdst", O_RDONLY), wo = open("csrc", O_WRONLY), ap = open("cdst", O_WRONLY | O_APPEND);
  E(copy_file_range(src, NULL, ro, NULL, 1, 0));
  E(copy_file_range(wo, NULL, dst, NULL, 1, 0));
  E(copy_file_range(src, NULL, ap, NULL, 1, 0));
  close(ro);
  close(wo);
  close(ap);
  oi = -1;
  E(copy_file_range(src, &oi, dst, NULL, 5, 0));
  oi = -100;
  E(copy_file_range(src, &oi, dst, NULL, 5, 0));
  oi = 1;
  E(copy_file_range(src, &oi, dst, NULL, (size_t)-1, 0));
  oo = -3;
  E(copy_file_range(src, NULL, dst, &oo, 5, 0));
  E(copy_file_range(src, (loff_t *)8, dst, NULL, 5, 0));
  E(copy_file_range(src, NULL, dst, (loff_t *)8, 5, 0));
  copy_at(src, 0, dst, 0x7fffffffffffffffLL, 100);

  printf("RLIMIT_FSIZE\n");
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, rl = {25, RLIM_INFINITY};
  getrlimit(RLIMIT_FSIZE, &old);
  setrlimit(RLIMIT_FSIZE, &rl);
  int lim = mkfile("lim", NULL);
  copy_at(src, 0, lim, 20, 10);
  copy_at(src, 0, lim, 25, 10);
  write(p[1], "0123456789", 10);
  oo = 22;
  E(splice(p[0], NULL, lim, &oo, 10, 0));
  show_pipe("over the limit", p[0]);
  fstat(lim, &st);
  printf("size %lld\n", (long long)st.st_size);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_DFL);
  close(lim);
  close(src);
  close(dst);
}

static void advice(int p[2]) {
  printf("-- fadvise64, readahead\n");
  int f = mkfile("adv", "some bytes");
  for (int a = 0; a <= 7; a++) printf("advice %d -> %s\n", a, ename(posix_fadvise(f, 0, 0, a)));
  P(posix_fadvise(f, -10, 100, POSIX_FADV_WILLNEED));
  P(posix_fadvise(f, 0, -1, POSIX_FADV_NORMAL));
  P(posix_fadvise(f, 0, 0, -1));
  P(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL));
  P(posix_fadvise(p[1], 0, 0, 99));
  P(posix_fadvise(-1, 0, 0, POSIX_FADV_NORMAL));
  int d = open(".", O_RDONLY | O_DIRECTORY);
  P(posix_fadvise(d, 0, 0, POSIX_FADV_DONTNEED));
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  P(posix_fadvise(sv[0], 0, 0, POSIX_FADV_SEQUENTIAL));
  int dn = open("/dev/null", O_RDWR);
  P(posix_fadvise(dn, 0, 0, POSIX_FADV_RANDOM));
  int op = open("adv", O_PATH);
  P(posix_fadvise(op, 0, 0, POSIX_FADV_NORMAL));
  E(syscall(SYS_fadvise64, f, 0L, 0L, 2));
  E(syscall(SYS_fadvise64, f, 0L, 0L, 6));

  E(readahead(f, 0, 4096));
  E(readahead(f, -4096, 10));
  E(readahead(f, 1L << 40, 1UL << 40));
  E(readahead(f, 0, (size_t)-1));
  E(readahead(p[0], 0, 10));
  E(readahead(d, 0, 10));
  E(readahead(sv[0], 0, 10));
  E(readahead(dn, 0, 10));
  E(readahead(op, 0, 10));
  E(readahead(-1, 0, 10));
  int wo = open("adv", O_WRONLY);
  E(readahead(wo, 0, 10));
  close(wo);
  close(op);
  close(dn);
  close(sv[0]);
  close(sv[1]);
  close(d);
  close(f);
}

static void rr_interval(void) {
  printf("-- sched_rr_get_interval\n");
  struct timespec ts;
  int r = sched_rr_get_interval(0, &ts);
  printf("self: %d sane %d\n", r, r == 0 && ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
  r = sched_rr_get_interval(getpid(), &ts);
  printf("getpid: %d sane %d\n", r, r == 0 && ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
  pid_t c = fork();
  if (c == 0) {
    pause();
    _exit(0);
  }
  E(sched_rr_get_interval(c, &ts));
  kill(c, SIGKILL);
  waitpid(c, NULL, 0);
  E(sched_rr_get_interval(c, &ts));
  E(sched_rr_get_interval(-1, &ts));
  E(sched_rr_get_interval(-1, NULL));
  E(sched_rr_get_interval(0, NULL));
  E(sched_rr_get_interval(0, (struct timespec *)8));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "xdev") == 0) return xdev();
  char dir[64];
  enter_tmpdir("splice", dir);
  int src = mkfile("src", "0123456789abcdefghij");
  int p[2], q[2];
  pipe(p);
  pipe(q);
  file_to_pipe(src, p);
  pipe_to_file(p);
  pipe_to_pipe(p, q);
  vm(p, src);
  errors(src, p, q);
  nonblocking(src, p, q);
  blocking(src, q);
  sockets(p);
  copy_range(p);
  advice(p);
  rr_interval();
  // leave nothing behind
  const char *names[] = {"src", "dst", "blk", "csrc", "cdst", "lim", "adv"};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) unlink(names[i]);
  chdir("/");
  printf("rmdir %d\n", rmdir(dir));
  return 0;
}
