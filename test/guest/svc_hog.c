// fixture: static
// Grading fixture (service e2e): touches ever more memory (memory limit → OOM kill).
#include <stdlib.h>
#include <string.h>

int main(void) {
  for (;;) {
    char *p = malloc(8 << 20);
    if (!p) return 3;
    memset(p, 1, 8 << 20);
  }
}
