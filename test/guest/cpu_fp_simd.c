// fixture: static O0 O2 O3 -lm
// FP and SIMD behaviour visible to C programs: rounding modes, exception flags, FMA, NaNs,
// conversions, and loops GCC auto-vectorises at -O3 (integer, float, double, narrowing,
// widening, reductions). Output must equal qemu-aarch64-static's.
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 333
static float fa[N], fb[N], fc[N];
static double da[N], db[N];
static int32_t ia[N], ib[N];
static int16_t sa[N];
static uint8_t ua[N], ub[N];
static int64_t la[N];

static void flags(const char *what) {
  int f = fetestexcept(FE_ALL_EXCEPT);
  printf("%s flags:%s%s%s%s%s\n", what, f & FE_INVALID ? " invalid" : "", f & FE_DIVBYZERO ? " divbyzero" : "",
         f & FE_OVERFLOW ? " overflow" : "", f & FE_UNDERFLOW ? " underflow" : "", f & FE_INEXACT ? " inexact" : "");
  feclearexcept(FE_ALL_EXCEPT);
}

int main(int argc, char **argv) {
  (void)argv;
  volatile double one = 1.0, three = 3.0, zero = 0.0, big = 1e308, tiny = 1e-308;
  const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  const char *names[] = {"nearest", "upward", "downward", "towardzero"};
  for (int i = 0; i < 4; i++) {
    fesetround(modes[i]);
    volatile float f = (float)one / (float)three;
    printf("%-10s %.20g %.10a %a %ld %lld\n", names[i], one / three, (double)f, -one / three, lrint(2.5 * argc),
           llrint(-3.5));
  }
  fesetround(FE_TONEAREST);
  feclearexcept(FE_ALL_EXCEPT);
  volatile double r = one / zero;
  flags("1/0");
  r = zero / zero;
  flags("0/0");
  r = big * 10;
  flags("big*10");
  r = tiny / 1e10;
  flags("tiny/1e10");
  r = one / three;
  flags("1/3");
  r = sqrt(-one);
  flags("sqrt(-1)");
  (void)r;
  printf("fma %a %a\n", fma(1 + 0x1p-52, 1 - 0x1p-52, -1.0), fmaf(1 + 0x1p-23f, 1 - 0x1p-23f, -1.0f));
  printf("nan %f %f %d %d\n", NAN, -NAN, isnan(zero / zero), signbit(copysign(NAN, -1.0)) != 0);
  printf("conv %d %u %lld %llu %d\n", (int)1e10, (unsigned)-1.5, (long long)-1e19, (unsigned long long)1e19,
         (int)(float)16777217);
  printf("round %g %g %g %g %g %g\n", round(-2.5), rint(2.5), floor(-0.5), ceil(-0.5), trunc(-1.7), nearbyint(3.5));
  printf("minmax %g %g %g %g\n", fmin(NAN, 1), fmax(-0.0, 0.0), fmin(-0.0, 0.0), fabs(-0.0));
  printf("libm %.17g %.17g %.17g %.17g %.17g\n", exp(1.1), log(10.0), sin(1e6), pow(2.5, 7.25), atan2(-1, -2));
  printf("half %a\n", (double)(_Float16)0.1);

  for (int i = 0; i < N; i++) {
    fa[i] = (float)i * 0.37f - 40.0f;
    fb[i] = 1.0f / (float)(i + 1);
    da[i] = i * 1.5 - 100;
    db[i] = sqrt((double)i);
    ia[i] = i * 7919 - 1000000;
    ib[i] = (i ^ 0x55) - 100;
    ua[i] = (uint8_t)(i * 37);
    ub[i] = (uint8_t)(i * 11 + 3);
  }
  for (int i = 0; i < N; i++) fc[i] = fa[i] * fb[i] + fc[i];
  for (int i = 0; i < N; i++) da[i] = da[i] / 3.0 + db[i];
  for (int i = 0; i < N; i++) sa[i] = (int16_t)(ia[i] >> 5);
  for (int i = 0; i < N; i++) ub[i] = (uint8_t)((ua[i] + ub[i] + 1) >> 1);
  for (int i = 0; i < N; i++) la[i] = (int64_t)ia[i] * ib[i];
  for (int i = 0; i < N; i++) ib[i] = (int)fa[i] + abs(ib[i]);
  for (int i = 0; i < N; i++) fb[i] = fmaxf(fa[i], fb[i] * 3) - (float)ua[i];
  int64_t s64 = 0;
  int32_t s32 = 0, mx = INT32_MIN;
  uint32_t umx = 0, cnt = 0;
  float fs = 0, fm = -INFINITY;
  double ds = 0;
  for (int i = 0; i < N; i++) {
    s64 += la[i];
    s32 += ia[i] * ib[i];
    mx = ia[i] > mx ? ia[i] : mx;
    umx = ua[i] > umx ? ua[i] : umx;
    cnt += __builtin_popcount(ua[i]);
    fs += fc[i];
    fm = fb[i] > fm ? fb[i] : fm;
    ds += da[i] * db[i];
  }
  printf("red %lld %d %d %u %u %.9g %.9g %.17g\n", (long long)s64, s32, mx, umx, cnt, fs, fm, ds);
  uint32_t h = 2166136261u;
  for (int i = 0; i < N; i++) {
    h = (h ^ ub[i]) * 16777619u;
    h = (h ^ (uint16_t)sa[i]) * 16777619u;
    h = (h ^ (uint32_t)ib[i]) * 16777619u;
  }
  printf("hash %08x %.9g %.17g\n", h, fc[N - 1], da[N - 1]);
  char buf[64];
  snprintf(buf, sizeof buf, "%.3f|%8.2e|%g", strtod("3.14159e2", 0), strtof("-1e-40", 0), strtod("0x1.8p1", 0));
  printf("strtod %s %zu\n", buf, strlen(buf));
  return 0;
}
