// fixture: static O2
// Waits for stdin with poll() (no timeout), then copies what arrived to stdout.
// Regression for poll on piped host stdin: the wait must end when input arrives.
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  struct pollfd p = {.fd = 0, .events = POLLIN};
  int n = poll(&p, 1, -1);
  printf("poll=%d revents_in=%d\n", n, (p.revents & POLLIN) != 0);
  fflush(stdout);
  char buf[256];
  ssize_t r;
  while ((r = read(0, buf, sizeof buf)) > 0) write(1, buf, (size_t)r);
  return 0;
}
