// fixture: static
// Reopening through /proc/self/fd/N (what /dev/stdin and bash's <(...) do): a pipe's ends open
// again for reading, writing or both, without waiting, and share the pipe; stat through the
// link sees a FIFO; readlink names the pipe; a socket's link gives ENXIO. (/dev/stdin itself is
// left out: the test harness gives qemu a socket as stdin; test/kernel/debian.spec.ts covers it.)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, long r) {
  printf("%-44s -> %ld %s\n", what, r < 0 ? -1 : r, r < 0 ? strerror(errno) : "");
}

static int reopen(int fd, int flags) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  errno = 0;
  return open(p, flags);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char buf[64];
  int p[2];
  if (pipe(p) != 0) return 1;

  printf("-- a pipe's read end, reopened\n");
  if (write(p[1], "first", 5) != 5) return 1;
  int r2 = reopen(p[0], O_RDONLY);
  report("open(/proc/self/fd/<read end>, O_RDONLY)", r2);
  memset(buf, 0, sizeof buf);
  report("read from the new description", read(r2, buf, sizeof buf - 1));
  printf("data: %s\n", buf);

  printf("-- the write end, reopened\n");
  int w2 = reopen(p[1], O_WRONLY);
  report("open(/proc/self/fd/<write end>, O_WRONLY)", w2);
  report("write through it", write(w2, "second", 6));
  memset(buf, 0, sizeof buf);
  report("read from the original read end", read(p[0], buf, sizeof buf - 1));
  printf("data: %s\n", buf);

  printf("-- both ways, and the end of the data\n");
  int rw = reopen(p[0], O_RDWR);
  report("open(/proc/self/fd/<read end>, O_RDWR)", rw);
  report("write through it", write(rw, "third", 5));
  memset(buf, 0, sizeof buf);
  report("read through it", read(rw, buf, sizeof buf - 1));
  printf("data: %s\n", buf);
  close(rw);
  close(w2);
  close(p[1]);
  report("read after every writer closed (EOF)", read(r2, buf, sizeof buf));

  printf("-- stat and readlink through the link\n");
  int q[2];
  if (pipe(q) != 0) return 1;
  struct stat st, fst;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", q[0]);
  report("stat(/proc/self/fd/<pipe>)", stat(path, &st));
  fstat(q[0], &fst);
  printf("S_ISFIFO %d, same inode as fstat %d\n", S_ISFIFO(st.st_mode), st.st_ino == fst.st_ino);
  long n = readlink(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("readlink starts with pipe:[ %d, ends with ] %d\n", strncmp(buf, "pipe:[", 6) == 0,
         n > 0 && buf[n - 1] == ']');

  printf("-- a socket\n");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  report("open(/proc/self/fd/<socket>, O_RDWR)", reopen(sv[0], O_RDWR));

  return 0;
}
