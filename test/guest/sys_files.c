// fixture: static dynamic O2
// Files over the VFS: create/write/read/lseek/pread/pwrite, O_APPEND, O_EXCL, stat fields,
// ftruncate, rename, link/unlink, symlink/readlink, mkdir/rmdir/getdents (sorted), dup/dup2,
// fcntl flags, getcwd/chdir, access, errors (ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EBADF).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
#define E(x) printf("%-28s -> %d %s\n", #x, (int)(x), errno ? strerror(errno) : ""), errno = 0

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  errno = 0;
  E(mkdir("/tmp/d", 0755));
  E(chdir("/tmp/d"));
  char cwd[64];
  printf("cwd %s\n", getcwd(cwd, sizeof cwd));
  int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0640);
  printf("open fd >= 3: %d\n", fd >= 3);
  E(write(fd, "hello world", 11));
  E(lseek(fd, 0, SEEK_CUR));
  E(lseek(fd, 6, SEEK_SET));
  char buf[64] = {0};
  E(read(fd, buf, 5));
  printf("read '%s'\n", buf);
  E(pwrite(fd, "W", 1, 6));
  memset(buf, 0, sizeof buf);
  E(pread(fd, buf, 64, 0));
  printf("pread '%s'\n", buf);
  struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
  E(lseek(fd, 0, SEEK_END));
  E(writev(fd, iov, 2));
  struct stat st;
  E(fstat(fd, &st));
  printf("size %ld mode %o nlink %ld regular %d\n", (long)st.st_size, st.st_mode & 07777, (long)st.st_nlink, S_ISREG(st.st_mode));
  E(ftruncate(fd, 5));
  E(fstat(fd, &st));
  printf("size after truncate %ld\n", (long)st.st_size);
  E(open("f", O_CREAT | O_EXCL | O_WRONLY, 0600));
  int ap = open("f", O_WRONLY | O_APPEND);
  E(write(ap, "XY", 2));
  E(close(ap));
  memset(buf, 0, sizeof buf);
  E(pread(fd, buf, 64, 0));
  printf("after append '%s'\n", buf);
  int d = dup(fd);
  E(lseek(d, 1, SEEK_SET));
  E(lseek(fd, 0, SEEK_CUR));
  E(dup2(fd, 10));
  E(fcntl(10, F_GETFD));
  E(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND));
  printf("flags append %d nonblock %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  E(close(10));
  E(close(10));
  E(link("f", "g"));
  E(stat("g", &st));
  printf("nlink %ld\n", (long)st.st_nlink);
  E(symlink("f", "s"));
  memset(buf, 0, sizeof buf);
  E(readlink("s", buf, sizeof buf));
  printf("readlink '%s'\n", buf);
  E(lstat("s", &st));
  printf("lstat is link %d\n", S_ISLNK(st.st_mode));
  E(rename("g", "h"));
  E(access("h", R_OK | W_OK));
  E(access("g", F_OK));
  E(mkdir("sub", 0700));
  E(open("sub/x", O_CREAT | O_WRONLY, 0600));
  E(rmdir("sub"));
  E(unlink("sub/x"));
  E(rmdir("sub"));
  E(open("f/x", O_RDONLY));
  E(open("/tmp", O_WRONLY));
  E(mkdir("f", 0700));
  E(unlink("nonexistent"));
  E(read(99, buf, 1));
  DIR *dir = opendir(".");
  char *names[16];
  int n = 0;
  struct dirent *de;
  while ((de = readdir(dir)) && n < 16) names[n++] = strdup(de->d_name);
  closedir(dir);
  qsort(names, n, sizeof names[0], cmp);
  printf("dir:");
  for (int i = 0; i < n; i++) printf(" %s", names[i]);
  printf("\n");
  E(unlink("f"));
  E(unlink("h"));
  E(unlink("s"));
  E(chdir("/"));
  E(rmdir("/tmp/d"));
  return 0;
}
