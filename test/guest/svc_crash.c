// fixture: static
// Grading fixture (service e2e): dereferences NULL (SIGSEGV).
#include <stdio.h>

int main(void) {
  volatile int *p = (int *)0;
  printf("%d\n", *p);
  return 0;
}
