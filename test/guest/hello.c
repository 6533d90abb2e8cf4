// fixture: static dynamic static-pie O0 O2
// Starter guest program: the smallest thing that must work everywhere.
#include <stdio.h>

int main(void) {
  printf("hello, world\n");
  return 0;
}
