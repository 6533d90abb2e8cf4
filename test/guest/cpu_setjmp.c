// fixture: static O0 O2 O3 -lm
/* setjmp/longjmp across recursion levels, with callee-saved register state. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int depth_reached;

__attribute__((noinline)) static long recurse(int n, long acc) {
  volatile long local[8];
  for (int i = 0; i < 8; i++) local[i] = acc + i * n;
  if (n == 0) {
    depth_reached = 1;
    longjmp(env, (int)(acc % 1000) + 1);
  }
  return recurse(n - 1, acc * 3 + local[n % 8]) + local[0];
}

int main(void) {
  for (int round = 0; round < 5; round++) {
    register long keep = 1000 + round;
    volatile int count = 0;
    int r = setjmp(env);
    count++;
    if (r == 0) {
      recurse(10 + round * 7, round);
      printf("not reached\n");
    } else {
      printf("round %d: longjmp returned %d count %d keep %ld depth %d\n", round, r, count, keep, depth_reached);
    }
  }
  jmp_buf e2;
  volatile int n = 0;
  if (setjmp(e2) < 3) {
    n++;
    longjmp(e2, n);
  }
  printf("loop via longjmp: %d\n", n);
  return 0;
}
