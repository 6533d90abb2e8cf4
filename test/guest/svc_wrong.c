// fixture: static
// Grading fixture (service e2e): a wrong solution, off by one.
#include <stdio.h>

int main(void) {
  long long sum = 0, x;
  while (scanf("%lld", &x) == 1) sum += x;
  printf("%lld\n", sum + 1);
  return 0;
}
