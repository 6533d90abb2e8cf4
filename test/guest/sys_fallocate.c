// fixture: static
// fallocate(2): mode 0 (extends), KEEP_SIZE (allocates past the end), PUNCH_HOLE|KEEP_SIZE
// (frees whole pages, zeroes the rest, seen through a shared mapping and SEEK_HOLE), the mode
// combinations Linux refuses, bad ranges, file types (pipe ends, FIFO, directory, /dev/null,
// socket), read-only fds, RLIMIT_FSIZE, posix_fallocate. Runs in a fresh directory on tmpfs
// (/dev/shm when it exists, else /tmp), the same filesystem type under Linux and Lichen, so
// sizes, block counts and the EOPNOTSUPP of ZERO_RANGE agree.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tmpdir.h"

#define E(x) (errno = 0, report(#x, (long)(x)))
static void report(const char *what, long r) {
  printf("%-62s -> %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static void show(const char *label, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    perror("fstat");
    exit(1);
  }
  printf("%-20s size %lld blocks %lld\n", label, (long long)st.st_size, (long long)st.st_blocks);
}

/** Bytes at the given offsets, as characters ('.' for zero). */
static void bytes_at(int fd, const long *offs, int n) {
  printf("bytes:");
  for (int i = 0; i < n; i++) {
    unsigned char c = 0xff;
    long r = pread(fd, &c, 1, offs[i]);
    printf(" %ld=%c", offs[i], r != 1 ? '?' : c ? (char)c : '.');
  }
  printf("\n");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char dir[64];
  enter_tmpdir("falloc", dir);
  static char data[10000];
  memset(data, 'A', sizeof data);
  int fd = open("f", O_RDWR | O_CREAT, 0644);
  if (write(fd, data, sizeof data) != (long)sizeof data) return 1;
  show("written", fd);

  printf("-- allocate\n");
  E(fallocate(fd, 0, 0, 20000));
  show("mode 0 to 20000", fd);
  E(fallocate(fd, 0, 100, 50));
  show("mode 0 inside", fd);
  E(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 40960));
  show("keep size to 40960", fd);
  E(fallocate(fd, FALLOC_FL_KEEP_SIZE, 81920, 4096));
  show("keep size, far", fd);
  E(lseek(fd, 0, SEEK_END));
  E(fallocate(fd, 0, 30000, 1));
  show("mode 0 to 30001", fd);
  long offs1[] = {9999, 10000, 19999, 30000};
  bytes_at(fd, offs1, 4);

  printf("-- punch\n");
  char *map = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  map[5000] = 'M';
  map[9000] = 'N';
  E(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 8192));
  show("punched 100+8192", fd);
  long offs2[] = {99, 100, 4095, 4096, 8191, 8291, 8292, 9000};
  bytes_at(fd, offs2, 8);
  E(lseek(fd, 0, SEEK_HOLE));
  E(lseek(fd, 4096, SEEK_DATA));
  // Read through the mapping last: on tmpfs a read fault allocates the page again.
  printf("map: 99=%c 100=%d 5000=%d 8292=%c 9000=%c\n", map[99], map[100], map[5000], map[8292], map[9000]);
  munmap(map, 16384);
  E(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1L << 40));
  show("punched everything", fd);
  bytes_at(fd, offs2, 8);
  E(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1L << 30, 4096));
  show("punched past the end", fd);

  printf("-- modes\n");
  E(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_INSERT_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_UNSHARE_RANGE, 0, 4096));
  E(fallocate(fd, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  E(fallocate(fd, 0x04, 0, 4096));
  E(fallocate(fd, 0x80, 0, 4096));
  E(fallocate(fd, -1, 0, 4096));

  printf("-- ranges\n");
  E(fallocate(fd, 0, -1, 4096));
  E(fallocate(fd, 0, 0, 0));
  E(fallocate(fd, 0, 0, -4096));
  E(fallocate(fd, 0, LLONG_MAX - 10, 100));
  E(fallocate(fd, FALLOC_FL_KEEP_SIZE, 1LL << 62, 1LL << 62));
  E(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, -5, 10));
  show("after bad ranges", fd);

  printf("-- files\n");
  int ro = open("f", O_RDONLY);
  E(fallocate(ro, 0, 0, 4096));
  E(fallocate(ro, 0x80, 0, 4096));
  E(fallocate(ro, 0, -1, 4096));
  E(fallocate(9999, 0, 0, 4096));
  E(fallocate(-1, 0, 0, 4096));
  int ap = open("f", O_WRONLY | O_APPEND);
  E(fallocate(ap, 0, 0, 40000));
  show("O_APPEND fd", ap);
  int dfd = open(".", O_RDONLY | O_DIRECTORY);
  E(fallocate(dfd, 0, 0, 4096));
  int pfd = open(".", O_PATH);
  E(fallocate(pfd, 0, 0, 4096));
  int p[2];
  if (pipe(p) != 0) return 1;
  E(fallocate(p[0], 0, 0, 4096));
  E(fallocate(p[1], 0, 0, 4096));
  mkfifo("fifo", 0644);
  int ff = open("fifo", O_RDWR);
  E(fallocate(ff, 0, 0, 4096));
  int nul = open("/dev/null", O_WRONLY);
  E(fallocate(nul, 0, 0, 4096));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  E(fallocate(sv[0], 0, 0, 4096));
  E(fallocate(sv[0], FALLOC_FL_PUNCH_HOLE, 0, 4096));

  printf("-- RLIMIT_FSIZE\n");
  signal(SIGXFSZ, SIG_IGN);
  int g = open("g", O_RDWR | O_CREAT, 0644);
  struct rlimit rl = {16384, 16384};
  E(setrlimit(RLIMIT_FSIZE, &rl));
  E(fallocate(g, 0, 0, 20000));
  E(fallocate(g, 0, 0, 16384));
  E(fallocate(g, FALLOC_FL_KEEP_SIZE, 0, 65536));
  E(fallocate(g, FALLOC_FL_KEEP_SIZE, 0, 8192));
  E(fallocate(g, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 65536));
  E(fallocate(g, 0, 8192, 4096));
  show("g", g);
  rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
  setrlimit(RLIMIT_FSIZE, &rl);

  printf("-- posix_fallocate\n");
  int h = open("h", O_RDWR | O_CREAT, 0644);
  printf("posix_fallocate(h, 0, 12345) -> %d\n", posix_fallocate(h, 0, 12345));
  show("h", h);
  printf("posix_fallocate(ro, 0, 1) -> %d\n", posix_fallocate(ro, 0, 1));

  unlink("f");
  unlink("g");
  unlink("h");
  unlink("fifo");
  if (chdir("/") != 0 || rmdir(dir) != 0) perror("rmdir");
  return 0;
}
