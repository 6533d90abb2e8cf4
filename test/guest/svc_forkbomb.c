// fixture: static
// Grading fixture (service e2e): forks until fork fails (process limit), then every copy exits 1.
#include <stdio.h>
#include <unistd.h>

int main(void) {
  for (;;) {
    if (fork() < 0) {
      perror("fork");
      return 1;
    }
  }
}
