// fixture: static dynamic O0 O2 O3 -lm
// Starter guest program: float/double formatting and parsing through glibc's printf/strtod.
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  const double ds[] = {0.0, -0.0, 1.0, -1.5, 3.141592653589793, 1e-300, 1e300, DBL_MAX, DBL_MIN, 5e-324, 1.0 / 3.0};
  for (unsigned i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    printf("%g %.17g %e %a %f\n", ds[i], ds[i], ds[i], ds[i], ds[i] < 1e20 ? ds[i] : 0.0);
  }
  const float fs[] = {0.1f, 1.0f / 3.0f, FLT_MAX, FLT_MIN, 16777217.0f};
  for (unsigned i = 0; i < sizeof fs / sizeof fs[0]; i++) printf("%.9g %a\n", fs[i], fs[i]);
  printf("inf=%f -inf=%f nan=%f\n", INFINITY, -INFINITY, NAN);

  double acc = 0.0;
  for (int i = 1; i <= 1000; i++) acc += 1.0 / ((double)i * i);
  printf("basel %.15f sqrt %.15f\n", acc, sqrt(acc * 6.0));

  const char *in[] = {"0.1", "1e-310", "123456789012345678901234567890", "-2.5e+3", "0x1.8p1", "nan", "-inf"};
  for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) printf("strtod(%s) = %.17g\n", in[i], strtod(in[i], NULL));
  printf("conv %d %u %ld %d\n", (int)-2.7, (unsigned)2.7, (long)1e18, (int)(float)16777217);
  return 0;
}
