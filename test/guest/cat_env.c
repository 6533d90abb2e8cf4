// fixture: static O2
// Copies each file argument (or stdin for "-") to stdout, then prints the environment
// sorted, and exits 5. "--kill" dies of SIGSEGV instead. Used by the `lichen run` tests.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  char buf[4096];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--kill") == 0) *(volatile int *)0 = 1;
    int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY);
    if (fd < 0) {
      perror(argv[i]);
      return 1;
    }
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
  }
  int n = 0;
  while (environ[n]) n++;
  qsort(environ, n, sizeof environ[0], cmp);
  for (int i = 0; i < n; i++) printf("%s\n", environ[i]);
  return 5;
}
