// fixture: static
// Extended attributes: set/get/list/remove and the l*/f* forms; XATTR_CREATE/REPLACE, size
// queries, ERANGE/E2BIG limits, namespaces (user on regular files and directories only,
// trusted for root, security written by root), an unprivileged child, fds of pipes and
// O_PATH, procfs/sysfs/devfs. Runs in a fresh directory on tmpfs (/dev/shm when it exists,
// else /tmp): the same filesystem type under Linux and Lichen, so limits agree.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "tmpdir.h"

#define E(x) (errno = 0, report(#x, (long)(x)))
static void report(const char *what, long r) {
  printf("%-58s -> %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/** Prints a listxattr result sorted (filesystems list in their own order). */
static void show_list(const char *label, const char *buf, long n) {
  const char *names[64];
  int k = 0;
  for (long i = 0; i < n && k < 64; i += (long)strlen(buf + i) + 1) names[k++] = buf + i;
  qsort(names, k, sizeof names[0], cmp);
  printf("%s (%ld bytes):", label, n);
  for (int i = 0; i < k; i++) printf(" %s", names[i]);
  printf("\n");
}

static char big[65537];

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char dir[64];
  enter_tmpdir("xattr", dir);
  int fd = open("f", O_RDWR | O_CREAT, 0644);
  close(fd);
  mkdir("d", 0755);
  symlink("f", "l");
  mkfifo("p", 0644);
  char buf[256];
  char lbuf[1024];

  printf("-- basics\n");
  E(setxattr("f", "user.a", "hello", 5, 0));
  E(getxattr("f", "user.a", NULL, 0));
  E(getxattr("f", "user.a", buf, 2));
  memset(buf, 0, sizeof buf);
  E(getxattr("f", "user.a", buf, sizeof buf));
  printf("value '%s'\n", buf);
  E(getxattr("f", "user.missing", buf, sizeof buf));
  E(setxattr("f", "user.a", "x", 1, XATTR_CREATE));
  E(setxattr("f", "user.b", "x", 1, XATTR_REPLACE));
  E(setxattr("f", "user.b", "x", 1, XATTR_CREATE | XATTR_REPLACE));
  E(setxattr("f", "user.a", "again", 5, XATTR_CREATE | XATTR_REPLACE));
  E(setxattr("f", "user.a", "world!", 6, XATTR_REPLACE));
  memset(buf, 0, sizeof buf);
  E(getxattr("f", "user.a", buf, sizeof buf));
  printf("value '%s'\n", buf);
  E(setxattr("f", "user.b", "bee", 3, XATTR_CREATE));
  E(setxattr("f", "user.a", "x", 1, 4));
  E(setxattr("f", "user.empty", NULL, 0, 0));
  E(getxattr("f", "user.empty", buf, sizeof buf));

  printf("-- names and sizes\n");
  E(setxattr("f", "", "x", 1, 0));
  E(getxattr("f", "", buf, sizeof buf));
  char name[300];
  strcpy(name, "user.");
  memset(name + 5, 'n', 250);
  name[255] = 0;
  E(setxattr("f", name, "long", 4, 0));
  E(getxattr("f", name, NULL, 0));
  E(removexattr("f", name));
  name[255] = 'n';
  name[256] = 0;
  E(setxattr("f", name, "long", 4, 0));
  E(getxattr("f", name, buf, sizeof buf));
  E(removexattr("f", name));
  E(setxattr("f", "foo.bar", "x", 1, 0));
  E(getxattr("f", "foo.bar", buf, sizeof buf));
  E(setxattr("f", "user.", "x", 1, 0));
  E(getxattr("f", "user.", buf, sizeof buf));
  E(setxattr("f", "system.other", "x", 1, 0));
  memset(big, 'v', sizeof big);
  E(setxattr("f", "user.big", big, 65537, 0));
  E(setxattr("f", "user.big", big, 65536, 0));
  E(getxattr("f", "user.big", NULL, 0));
  E(getxattr("f", "user.big", big, 65536));
  E(getxattr("f", "user.big", big, 70000));
  E(getxattr("f", "user.big", big, 100));
  E(removexattr("f", "user.big"));
  E(getxattr("f", (const char *)8, buf, sizeof buf));
  E(setxattr("f", "user.c", (const char *)8, 4, 0));
  E(getxattr("nonexistent", "user.a", buf, sizeof buf));

  printf("-- list and remove\n");
  long n = listxattr("f", NULL, 0);
  printf("list size %ld\n", n);
  E(listxattr("f", lbuf, 3));
  n = listxattr("f", lbuf, sizeof lbuf);
  show_list("f", lbuf, n);
  E(removexattr("f", "user.b"));
  E(removexattr("f", "user.b"));
  E(removexattr("f", ""));
  n = listxattr("f", lbuf, sizeof lbuf);
  show_list("f after remove", lbuf, n);

  printf("-- symlinks, fifos, directories\n");
  E(lsetxattr("l", "user.x", "1", 1, 0));
  E(lgetxattr("l", "user.x", buf, sizeof buf));
  E(lremovexattr("l", "user.x"));
  E(setxattr("l", "user.vialink", "2", 1, 0));
  E(getxattr("f", "user.vialink", buf, sizeof buf));
  E(lsetxattr("l", "trusted.t", "lt", 2, 0));
  E(lgetxattr("l", "trusted.t", buf, sizeof buf));
  n = llistxattr("l", lbuf, sizeof lbuf);
  show_list("l", lbuf, n);
  E(getxattr("l", "trusted.t", buf, sizeof buf));
  E(setxattr("p", "user.x", "1", 1, 0));
  E(getxattr("p", "user.x", buf, sizeof buf));
  E(setxattr("p", "trusted.x", "1", 1, 0));
  E(getxattr("p", "trusted.x", buf, sizeof buf));
  E(setxattr("d", "user.dir", "dv", 2, 0));
  E(getxattr("d", "user.dir", buf, sizeof buf));
  E(setxattr("d", "security.s", "sv", 2, 0));
  E(setxattr("f", "trusted.t", "tv", 2, 0));
  E(setxattr("f", "security.s", "sv", 2, 0));
  n = listxattr("f", lbuf, sizeof lbuf);
  show_list("f as root", lbuf, n);

  printf("-- fds\n");
  fd = open("f", O_RDWR);
  E(fsetxattr(fd, "user.fd", "fdv", 3, 0));
  memset(buf, 0, sizeof buf);
  E(fgetxattr(fd, "user.fd", buf, sizeof buf));
  printf("value '%s'\n", buf);
  n = flistxattr(fd, lbuf, sizeof lbuf);
  show_list("fd", lbuf, n);
  E(fremovexattr(fd, "user.fd"));
  E(fremovexattr(fd, "user.fd"));
  close(fd);
  int pfd = open("f", O_PATH);
  E(fgetxattr(pfd, "user.a", buf, sizeof buf));
  E(fsetxattr(pfd, "user.a", "x", 1, 0));
  E(flistxattr(pfd, lbuf, sizeof lbuf));
  close(pfd);
  int pp[2];
  if (pipe(pp) != 0) return 1;
  E(fgetxattr(pp[0], "user.x", buf, sizeof buf));
  E(fsetxattr(pp[0], "user.x", "1", 1, 0));
  E(fgetxattr(pp[0], "security.x", buf, sizeof buf));
  E(flistxattr(pp[0], lbuf, sizeof lbuf));
  E(fgetxattr(99, "user.x", buf, sizeof buf));

  printf("-- special filesystems\n");
  E(getxattr("/proc/self/status", "user.x", buf, sizeof buf));
  E(setxattr("/proc/self/status", "user.x", "1", 1, 0));
  E(listxattr("/proc/self/status", lbuf, sizeof lbuf));
  E(getxattr("/dev/null", "user.x", buf, sizeof buf));
  E(setxattr("/dev/null", "user.x", "1", 1, 0));
  E(getxattr("/sys/kernel/mm/transparent_hugepage/enabled", "user.x", buf, sizeof buf));

  printf("-- unprivileged\n");
  chmod(".", 0777);
  fd = open("secret", O_CREAT | O_WRONLY, 0600);
  close(fd);
  setxattr("secret", "user.s", "1", 1, 0);
  mkdir("sticky", 01777);
  setxattr("sticky", "user.s", "1", 1, 0);
  pid_t pid = fork();
  if (pid == 0) {
    if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) _exit(3);
    E(getxattr("f", "trusted.t", buf, sizeof buf));
    E(setxattr("f", "trusted.t2", "x", 1, 0));
    E(getxattr("f", "security.s", buf, sizeof buf));
    E(setxattr("f", "security.s", "x", 1, 0));
    E(removexattr("f", "security.s"));
    E(getxattr("f", "user.a", buf, sizeof buf));
    E(setxattr("f", "user.a", "x", 1, 0));
    E(getxattr("secret", "user.s", buf, sizeof buf));
    n = listxattr("secret", lbuf, sizeof lbuf);
    show_list("secret as user", lbuf, n);
    n = listxattr("f", lbuf, sizeof lbuf);
    show_list("f as user", lbuf, n);
    E(setxattr("sticky", "user.s", "x", 1, 0));
    E(getxattr("sticky", "user.s", buf, sizeof buf));
    fd = open("mine", O_CREAT | O_WRONLY, 0600);
    E(fsetxattr(fd, "user.mine", "m", 1, 0));
    E(fgetxattr(fd, "user.mine", buf, sizeof buf));
    close(fd);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("child exit %d\n", WEXITSTATUS(status));

  printf("-- cleanup\n");
  const char *files[] = {"f", "l", "p", "secret", "mine"};
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) unlink(files[i]);
  rmdir("d");
  rmdir("sticky");
  if (chdir("/") != 0) return 1;
  E(rmdir(dir));
  return 0;
}
