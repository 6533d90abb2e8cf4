// fixture: static dynamic O2
// Test-support guest program: exercises the qemu helper (and later the Lichen VM) on process
// boundaries. Usage: probe exit N | probe kill SIGNUM | probe spin | probe env NAME... |
// probe cat | probe argv ARGS... | probe stderr TEXT
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe exit N | kill SIG | spin | env NAME... | cat | argv ARGS... | stderr TEXT\n");
    return 64;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "exit") == 0 && argc > 2) return atoi(argv[2]);
  if (strcmp(cmd, "kill") == 0 && argc > 2) {
    fflush(stdout);
    kill(getpid(), atoi(argv[2]));
    return 100; /* only reached if the signal is ignored */
  }
  if (strcmp(cmd, "spin") == 0) {
    volatile unsigned long x = 0;
    for (;;) x++;
  }
  if (strcmp(cmd, "env") == 0) {
    for (int i = 2; i < argc; i++) {
      const char *v = getenv(argv[i]);
      printf("%s=%s\n", argv[i], v ? v : "(unset)");
    }
    return 0;
  }
  if (strcmp(cmd, "cat") == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
      if (write(1, buf, (size_t)n) != n) return 1;
    }
    return n < 0 ? 1 : 0;
  }
  if (strcmp(cmd, "argv") == 0) {
    for (int i = 2; i < argc; i++) printf("[%s]\n", argv[i]);
    return 0;
  }
  if (strcmp(cmd, "stderr") == 0 && argc > 2) {
    fprintf(stderr, "%s\n", argv[2]);
    return 0;
  }
  fprintf(stderr, "probe: unknown command %s\n", cmd);
  return 64;
}
