// fixture: static dynamic O2
// Processes: fork/wait status forms, vfork, execve of a missing file,
// waitpid WNOHANG, orphan reaping, process groups and sessions, getppid, exit codes.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, int status) {
  if (WIFEXITED(status)) printf("%s: exited %d\n", what, WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) printf("%s: killed by %d\n", what, WTERMSIG(status));
  else if (WIFSTOPPED(status)) printf("%s: stopped by %d\n", what, WSTOPSIG(status));
  else printf("%s: other %#x\n", what, status);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t me = getpid();
  pid_t p = fork();
  if (p == 0) {
    printf("child sees parent: %d\n", getppid() == me);
    _exit(7);
  }
  int st;
  printf("waitpid returns child: %d\n", waitpid(p, &st, 0) == p);
  show("fork", st);

  p = fork();
  if (p == 0) {
    abort();
  }
  waitpid(p, &st, 0);
  show("abort", st);

  p = fork();
  if (p == 0) {
    pause();
    _exit(0);
  }
  printf("WNOHANG while running: %d\n", waitpid(p, &st, WNOHANG));
  kill(p, SIGTERM);
  waitpid(p, &st, 0);
  show("SIGTERM", st);

  p = vfork();
  if (p == 0) {
    _exit(9);
  }
  waitpid(p, &st, 0);
  show("vfork", st);

  errno = 0;
  char *none[] = {"/nonexistent", NULL};
  printf("execv missing: %d errno=%s\n", execv("/nonexistent", none), strerror(errno));
  printf("waitpid no children: %d errno=%s\n", waitpid(-1, &st, WNOHANG), strerror(errno == ECHILD ? ECHILD : errno));

  p = fork();
  if (p == 0) {
    setpgid(0, 0);
    printf("child pgid is own pid: %d\n", getpgid(0) == getpid());
    printf("setsid in group leader: %d errno=%s\n", setsid(), strerror(errno));
    _exit(0);
  }
  waitpid(p, &st, 0);
  show("pgid", st);

  p = fork();
  if (p == 0) {
    printf("setsid in a new child: %d\n", setsid() == getpid());
    errno = 0;
    printf("setsid again (session leader): %d errno=%s\n", setsid(), strerror(errno));
    _exit(0);
  }
  waitpid(p, &st, 0);
  show("session", st);

  // grandchild orphaned: the child exits first, the grandchild still runs
  int fds[2];
  pipe(fds);
  p = fork();
  if (p == 0) {
    if (fork() == 0) {
      close(fds[0]);
      usleep(1000);
      write(fds[1], "orphan ok\n", 10);
      _exit(0);
    }
    _exit(0);
  }
  close(fds[1]);
  waitpid(p, &st, 0);
  char buf[32];
  ssize_t n = read(fds[0], buf, sizeof buf);
  printf("%.*s", (int)n, buf);
  return 3;
}
