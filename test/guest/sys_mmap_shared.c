// fixture: static
#define _GNU_SOURCE
// Shared memory mappings: MAP_SHARED|MAP_ANONYMOUS and /dev/zero across fork (lazy pages
// too), mremap and partial munmap of shared memory, MAP_SHARED file mappings coherent with
// read/write/pwrite and with other mappings (same and other process), msync and write-back,
// SIGBUS past end of file, zero-filled tail, ftruncate shrink/grow, EACCES rules, MAP_PRIVATE
// copy-on-write, memfd_create, madvise(MADV_DONTNEED) on shared and private memory.
// With argument "persist PATH": maps PATH shared, writes through the mapping and exits without
// msync/munmap (the run's end must still write the data back).
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

static sigjmp_buf jb;
static volatile int lastSig, lastCode;
static void onfault(int s, siginfo_t *si, void *uc) {
  (void)uc;
  lastSig = s;
  lastCode = si->si_code;
  siglongjmp(jb, 1);
}

/** Reads one byte at p; prints the signal (SIGBUS/SIGSEGV with si_code) if it faults. */
static int probe(const char *what, volatile char *p) {
  lastSig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    int v = *p;
    printf("%s: read %d\n", what, v);
    return v;
  }
  printf("%s: %s code %d\n", what, lastSig == SIGBUS ? "SIGBUS" : lastSig == SIGSEGV ? "SIGSEGV" : "signal", lastCode);
  return -1;
}

static int waitChild(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char dir[64];
static char pathA[96];

static void sharedAnon(void) {
  // 64 MiB, touched sparsely: shared memory is allocated lazily, not at mmap or fork
  size_t len = 64u << 20;
  char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    perror("mmap shared anon");
    return;
  }
  strcpy(m, "parent-before-fork");
  pid_t pid = fork();
  if (pid == 0) {
    printf("child sees: %s\n", m);
    strcpy(m + 100, "child-write");
    strcpy(m + (32u << 20), "untouched-before-fork");  // a page neither side had touched
    strcpy(m + len - 16, "last-page");
    _exit(0);
  }
  printf("child status %d\n", waitChild(pid));
  printf("parent sees: %s | %s | %s\n", m + 100, m + (32u << 20), m + len - 16);
  // writes after fork go both ways, in a second child
  pid = fork();
  if (pid == 0) {
    while (m[200] == 0) usleep(1000);
    strcpy(m + 300, "ack");
    _exit(0);
  }
  m[200] = 1;
  printf("child status %d, ack: %s\n", waitChild(pid), m + 300);
  munmap(m, len);

  // /dev/zero MAP_SHARED behaves the same; MAP_PRIVATE of /dev/zero is private
  int z = open("/dev/zero", O_RDWR);
  char *zs = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
  char *zp = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
  close(z);
  zs[PG + 5] = 'z';
  zp[0] = 'p';
  pid = fork();
  if (pid == 0) {
    zs[PG + 6] = 'Z';
    zp[0] = 'q';
    _exit(zs[PG + 5] == 'z' ? 0 : 1);
  }
  printf("/dev/zero: child status %d, shared %c%c, private %c\n", waitChild(pid), zs[PG + 5], zs[PG + 6], zp[0]);
  munmap(zs, 2 * PG);
  munmap(zp, PG);
}

static void sharedRemap(void) {
  char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  strcpy(m, "page0");
  strcpy(m + 2 * PG, "page2");
  // grow (may move): contents stay and stay shared; the object keeps its size, so the grown
  // tail past it is SIGBUS (Linux: the shmem object of a shared anonymous mapping is not resized)
  char *g = mremap(m, 3 * PG, 8 * PG, MREMAP_MAYMOVE);
  if (g == MAP_FAILED) {
    perror("mremap");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    strcpy(g + 2 * PG, "page2-by-child");
    _exit(0);
  }
  waitChild(pid);
  printf("after mremap: %s %s\n", g, g + 2 * PG);
  probe("grown tail", g + 7 * PG);
  // partial munmap: the hole faults, the rest stays shared
  munmap(g + PG, PG);
  pid = fork();
  if (pid == 0) {
    strcpy(g + 2 * PG, "after-hole");
    _exit(0);
  }
  waitChild(pid);
  printf("partial munmap: %s\n", g + 2 * PG);
  probe("hole", g + PG);
  munmap(g, 8 * PG);
}

static void fileMappings(void) {
  int fd = open(pathA, O_RDWR | O_CREAT | O_TRUNC, 0644);
  char buf[PG];
  for (int i = 0; i < 2; i++) {
    memset(buf, 'a' + i, PG);
    write(fd, buf, PG);
  }
  write(fd, "tail-of-file", 12);  // size 2 pages + 12 bytes
  char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    perror("mmap file");
    return;
  }
  printf("file map: %c %c %.12s, tail byte %d\n", m[0], m[PG], m + 2 * PG, m[2 * PG + 100]);
  // writes through the mapping are seen by read(2)
  memcpy(m + 10, "MAPPED", 6);
  char r[16] = {0};
  pread(fd, r, 6, 10);
  printf("pread after store: %s\n", r);
  // write(2)/pwrite are seen by the mapping
  pwrite(fd, "PWRITE", 6, PG + 20);
  lseek(fd, 30, SEEK_SET);
  write(fd, "WRITE", 5);
  printf("mapping after pwrite/write: %.6s %.5s\n", m + PG + 20, m + 30);
  // a second, independent open and mapping of the same file sees the same bytes
  int fd2 = open(pathA, O_RDWR);
  char *m2 = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, PG);
  memcpy(m2 + 40, "SECOND", 6);
  printf("second mapping: %.6s, first sees %.6s\n", m2 + 20, m + PG + 40);
  // another process maps it on its own and writes
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open(pathA, O_RDWR);
    char *cm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
    memcpy(cm + 50, "CHILD", 5);
    munmap(cm, PG);
    close(cfd);
    _exit(0);
  }
  waitChild(pid);
  memset(r, 0, sizeof r);
  pread(fd2, r, 5, 50);
  printf("child's mapping write: map %.5s, pread %s\n", m + 50, r);
  // past EOF: the last partial page is zero-filled; a page wholly beyond EOF is SIGBUS
  m[2 * PG + 200] = 'X';  // not written to the file
  probe("page past EOF", m + 3 * PG);
  if (msync(m, 4 * PG, MS_SYNC) != 0) perror("msync");
  printf("msync flags MS_SYNC|MS_ASYNC: %s\n", msync(m, PG, MS_SYNC | MS_ASYNC) == 0 ? "ok" : strerror(errno));
  struct stat st;
  fstat(fd, &st);
  printf("size after msync: %lld\n", (long long)st.st_size);
  munmap(m2, 2 * PG);
  close(fd2);
  munmap(m, 4 * PG);
  // everything reached the file
  char whole[3 * PG];
  ssize_t n = pread(fd, whole, sizeof whole, 0);
  printf("file after munmap: %zd bytes, %.6s %.5s %.5s %.6s %.6s %.12s\n", n, whole + 10, whole + 30, whole + 50,
         whole + PG + 20, whole + PG + 40, whole + 2 * PG);

  // ftruncate while mapped: shrinking makes the cut pages SIGBUS, growing back reads zero
  m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  m[PG + 1] = 'K';
  ftruncate(fd, PG);
  probe("after shrink, page 1", m + PG);
  probe("after shrink, page 0", m);
  ftruncate(fd, 3 * PG);
  probe("after grow, page 1", m + PG + 1);
  m[2 * PG] = 'G';
  munmap(m, 3 * PG);
  pread(fd, r, 1, 2 * PG);
  printf("grown page written back: %c\n", r[0]);
  // truncate(2) by path and open(O_TRUNC) cut mapped pages too
  m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  m[PG] = 'T';
  truncate(pathA, 100);
  probe("after truncate(path), page 1", m + PG);
  probe("after truncate(path), byte 50", m + 50);
  probe("after truncate(path), byte 200", m + 200);
  close(open(pathA, O_WRONLY | O_TRUNC));
  probe("after O_TRUNC, page 0", m);
  munmap(m, 3 * PG);
  memset(buf, 'a', PG);
  pwrite(fd, buf, PG, 0);  // one page of 'a' again for the tests below
  close(fd);
}

static void accessRules(void) {
  int ro = open(pathA, O_RDONLY);
  void *w = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
  printf("O_RDONLY + MAP_SHARED + PROT_WRITE: %s\n", w == MAP_FAILED ? strerror(errno) : "mapped");
  char *r = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
  printf("O_RDONLY + MAP_SHARED + PROT_READ: %s\n", r == MAP_FAILED ? strerror(errno) : "mapped");
  if (r != MAP_FAILED) {
    printf("mprotect PROT_WRITE: %s\n", mprotect(r, PG, PROT_READ | PROT_WRITE) == 0 ? "ok" : strerror(errno));
    munmap(r, PG);
  }
  int ap = open(pathA, O_RDWR | O_APPEND);
  w = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ap, 0);
  printf("O_APPEND + MAP_SHARED + PROT_WRITE: %s\n", w == MAP_FAILED ? strerror(errno) : "mapped");
  close(ap);
  // MAP_PRIVATE of a read-only fd may be written: copy-on-write, the file is unchanged
  char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  char before = p[0];
  p[0] = '#';
  char now;
  pread(ro, &now, 1, 0);
  printf("MAP_PRIVATE write: mapping %c, file %c (was %c)\n", p[0], now, before);
  pid_t pid = fork();
  if (pid == 0) {
    p[0] = '%';
    _exit(0);
  }
  waitChild(pid);
  printf("MAP_PRIVATE after child write: %c\n", p[0]);
  munmap(p, PG);
  close(ro);
}

static void memfd(void) {
  int fd = memfd_create("lichen-test", MFD_CLOEXEC);
  if (fd < 0) {
    perror("memfd_create");
    return;
  }
  printf("memfd cloexec: %d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  char link[128] = {0};
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  readlink(proc, link, sizeof link - 1);
  printf("memfd link: %s\n", link);
  ftruncate(fd, 2 * PG);
  struct stat st;
  fstat(fd, &st);
  printf("memfd size %lld, regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  pid_t pid = fork();
  if (pid == 0) {
    strcpy(m + PG, "memfd-child");
    _exit(0);
  }
  waitChild(pid);
  char r[16] = {0};
  pread(fd, r, 11, PG);
  printf("memfd: map %s, pread %s\n", m + PG, r);
  pwrite(fd, "PW", 2, 0);
  printf("memfd mapping after pwrite: %.2s\n", m);
  // a second mapping of the memfd is the same memory
  char *m2 = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, PG);
  printf("memfd second mapping: %s\n", m2);
  munmap(m2, PG);
  munmap(m, 2 * PG);
  close(fd);
  printf("memfd bad flags: %s\n", memfd_create("x", 0x100) < 0 ? strerror(errno) : "ok");
}

static void dontneed(void) {
  char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  s[0] = 's';
  p[0] = 'p';
  madvise(s, PG, MADV_DONTNEED);
  madvise(p, PG, MADV_DONTNEED);
  printf("MADV_DONTNEED: shared %d, private %d\n", s[0], p[0]);
  int fd = open(pathA, O_RDWR);
  char *f = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  f[5] = 'D';
  madvise(f, PG, MADV_DONTNEED);
  printf("MADV_DONTNEED shared file: %c\n", f[5]);
  munmap(f, PG);
  munmap(s, PG);
  munmap(p, PG);
  close(fd);
}

static int persist(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 2;
  ftruncate(fd, PG + 10);
  char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return 3;
  strcpy(m, "persisted through the mapping");
  memcpy(m + PG, "0123456789", 10);
  return 0;  // no msync, no munmap, no close
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 3 && strcmp(argv[1], "persist") == 0) return persist(argv[2]);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = onfault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  strcpy(dir, "/tmp/mmapshXXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(pathA, sizeof pathA, "%s/a", dir);
  sharedAnon();
  sharedRemap();
  fileMappings();
  accessRules();
  memfd();
  dontneed();
  unlink(pathA);
  rmdir(dir);
  printf("done\n");
  return 0;
}
