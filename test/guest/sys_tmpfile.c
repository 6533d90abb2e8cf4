// fixture: static
// open(O_TMPFILE): an unnamed file in a directory (nlink 0, no directory entry, umask applied,
// /proc/self/fd shows DIR/#INO (deleted)), named later by linkat with AT_EMPTY_PATH or through
// /proc/self/fd with AT_SYMLINK_FOLLOW, not nameable with O_EXCL; the flag combinations Linux
// refuses, O_PATH (which drops the rest), a path that is not a directory, a filesystem without
// O_TMPFILE. (__O_TMPFILE without O_DIRECTORY is left out: qemu drops the lone bit.) Runs in a fresh
// directory on tmpfs (/dev/shm when it exists, else /tmp), as under Linux.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tmpdir.h"

#define E(x) (errno = 0, report(#x, (long)(x)))
static void report(const char *what, long r) {
  printf("%-66s -> %ld %s\n", what, r < 0 ? r : r > 2 ? 3 : r, r < 0 ? strerror(errno) : "");
}

static char dir[64];

static void show(const char *label, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    perror("fstat");
    exit(1);
  }
  printf("%-12s mode %o nlink %ld size %lld\n", label, st.st_mode, (long)st.st_nlink, (long long)st.st_size);
}

/** /proc/self/fd/N's target with the directory's random name cut and numbers shown as N. */
static void show_link(int fd) {
  char p[64], t[256];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  long n = readlink(p, t, sizeof t - 1);
  if (n < 0) {
    perror("readlink");
    return;
  }
  t[n] = 0;
  const char *rest = strncmp(t, dir, strlen(dir)) == 0 ? t + strlen(dir) : t;
  printf("fd link: DIR");
  // A run of digits (the inode number, whatever its length) prints as one N.
  for (const char *c = rest; *c; c++)
    if (*c < '0' || *c > '9') putchar(*c);
    else if (c[1] < '0' || c[1] > '9') putchar('N');
  printf("\n");
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/** The directory's entries, sorted (filesystems list in their own order). */
static void list_dir(void) {
  DIR *d = opendir(".");
  struct dirent *e;
  char *names[16];
  int n = 0;
  while ((e = readdir(d)) != NULL && n < 16)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  printf("entries:");
  for (int i = 0; i < n; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("%s\n", n ? "" : " (none)");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_tmpdir("tmpfile", dir);
  umask(022);

  printf("-- an unnamed file\n");
  int fd = open(".", O_TMPFILE | O_RDWR, 0777);
  report("open(\".\", O_TMPFILE | O_RDWR, 0777)", fd);
  show("tmpfile", fd);
  E(write(fd, "hello", 5));
  char buf[16] = {0};
  E(pread(fd, buf, sizeof buf - 1, 0));
  printf("read back: %s\n", buf);
  int fl = fcntl(fd, F_GETFL);
  printf("F_GETFL: accmode %d directory %d tmpfile %d\n", fl & O_ACCMODE, !!(fl & O_DIRECTORY),
         (fl & O_TMPFILE) == O_TMPFILE);
  show_link(fd);
  list_dir();

  printf("-- named by linkat\n");
  E(linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH));
  show("after link", fd);
  list_dir();
  E(linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH));
  E(linkat(fd, "", AT_FDCWD, "second", AT_EMPTY_PATH));
  show("two names", fd);
  int nf = open("named", O_RDONLY);
  memset(buf, 0, sizeof buf);
  E(read(nf, buf, sizeof buf - 1));
  printf("named holds: %s\n", buf);
  close(nf);
  close(fd);

  printf("-- through /proc/self/fd\n");
  fd = open(".", O_TMPFILE | O_WRONLY, 0600);
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  E(linkat(AT_FDCWD, p, AT_FDCWD, "via-proc", AT_SYMLINK_FOLLOW));
  show("via proc", fd);
  close(fd);

  printf("-- O_EXCL\n");
  fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
  report("open(\".\", O_TMPFILE | O_RDWR | O_EXCL, 0600)", fd);
  E(linkat(fd, "", AT_FDCWD, "never", AT_EMPTY_PATH));
  close(fd);
  list_dir();

  printf("-- unnamed and closed\n");
  fd = open(".", O_TMPFILE | O_RDWR, 0600);
  E(write(fd, "gone", 4));
  close(fd);
  list_dir();

  printf("-- refused\n");
  E(open(".", O_TMPFILE | O_RDONLY, 0600));
  E(open(".", O_TMPFILE | O_RDWR | O_CREAT, 0600));
  E(open(".", O_TMPFILE | O_RDWR | O_PATH, 0600));
  E(open("named", O_TMPFILE | O_RDWR, 0600));
  E(open("missing", O_TMPFILE | O_RDWR, 0600));
  E(open("/proc", O_TMPFILE | O_RDWR, 0600));

  unlink("named");
  unlink("second");
  unlink("via-proc");
  if (chdir("/") != 0 || rmdir(dir) != 0) perror("rmdir");
  return 0;
}
