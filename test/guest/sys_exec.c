// fixture: static dynamic O2
// execve under Lichen (qemu-user cannot exec aarch64 binaries without binfmt_misc, so the
// expected output is fixed in test/kernel/guest.spec.ts): exec of itself through
// /proc/self/exe, argv/envp passing, a #! script with an argument, CLOEXEC closing.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    printf("child argc=%d argv2=%s env=%s\n", argc, argv[2], getenv("LICHEN_X") ? getenv("LICHEN_X") : "-");
    printf("cloexec fd closed: %d, plain fd open: %d\n", fcntl(5, F_GETFD) < 0, fcntl(6, F_GETFD) >= 0);
    return 42;
  }
  if (argc > 1 && strcmp(argv[1], "script") == 0) {
    printf("via script: argc=%d argv1=%s argv2=%s\n", argc, argv[1], argc > 2 ? argv[2] : "-");
    return 0;
  }
  (void)envp;
  setvbuf(stdout, NULL, _IONBF, 0);
  int a = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int b = open("/proc/self/exe", O_RDONLY);
  dup2(a, 5);
  fcntl(5, F_SETFD, FD_CLOEXEC);
  dup2(b, 6);
  pid_t p = fork();
  if (p == 0) {
    char *args[] = {"self", "child", "two", NULL};
    char *env[] = {"LICHEN_X=yes", NULL};
    execve("/proc/self/exe", args, env);
    _exit(99);
  }
  int st;
  waitpid(p, &st, 0);
  printf("exec status %d\n", WEXITSTATUS(st));
  // a #! script whose interpreter is this program
  char self[256];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n] = 0;
  FILE *f = fopen("/tmp/s.sh", "w");
  fprintf(f, "#!%s script\n", self);
  fclose(f);
  chmod("/tmp/s.sh", 0755);
  p = fork();
  if (p == 0) {
    char *args[] = {"/tmp/s.sh", NULL};
    execv("/tmp/s.sh", args);
    _exit(98);
  }
  waitpid(p, &st, 0);
  printf("script status %d\n", WEXITSTATUS(st));
  return 0;
}
