// fixture: static O0 O2 O3 -lm
#include <stdio.h>
int main(void) {
  printf("hello, world %d %ld %s\n", 42, -1234567890123L, "lichen");
  return 3;
}
