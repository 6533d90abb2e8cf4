// fixture: static O0 O2 O3 -lm
/* Integer arithmetic, overflow, shifts, bit tricks: prints results for a set of edge values. */
#include <stdint.h>
#include <stdio.h>
#include <limits.h>

static const int64_t V64[] = {0, 1, -1, 2, -2, 3, 7, -7, 100, -100, 0x7f, 0x80, 0xff, 0x7fff, 0x8000,
                              0x7fffffff, -0x7fffffff - 1, 0xffffffffLL, 0x100000000LL, 0x123456789abcdefLL,
                              INT64_MAX, INT64_MIN, INT64_MIN + 1, -0x123456789LL, 0x5555555555555555LL};
#define N (sizeof V64 / sizeof V64[0])

static uint64_t h = 1469598103934665603ULL;
static void mix(uint64_t v) { h = (h ^ v) * 1099511628211ULL; }

__attribute__((noinline)) static int64_t sdiv(int64_t a, int64_t b) {
  if (b == 0 || (a == INT64_MIN && b == -1)) return 0;
  return a / b;
}
__attribute__((noinline)) static int64_t smod(int64_t a, int64_t b) {
  if (b == 0 || (a == INT64_MIN && b == -1)) return 0;
  return a % b;
}

int main(void) {
  for (unsigned i = 0; i < N; i++) {
    for (unsigned j = 0; j < N; j++) {
      int64_t a = V64[i], b = V64[j];
      uint64_t ua = a, ub = b;
      int32_t a32 = (int32_t)a, b32 = (int32_t)b;
      int64_t r;
      int32_t r32;
      mix(ua + ub);
      mix(ua - ub);
      mix(ua * ub);
      mix(sdiv(a, b));
      mix(smod(a, b));
      mix(ub ? ua / ub : 0);
      mix(ub ? ua % ub : 0);
      mix(__builtin_add_overflow(a, b, &r));
      mix(r);
      mix(__builtin_sub_overflow(a, b, &r));
      mix(__builtin_mul_overflow(a, b, &r));
      mix(r);
      mix(__builtin_add_overflow(a32, b32, &r32));
      mix(__builtin_mul_overflow(a32, b32, &r32));
      mix((uint32_t)r32);
      mix((uint32_t)a32 * (uint32_t)b32);
      mix(b32 ? (uint32_t)a32 / (uint32_t)b32 : 7);
      mix((b32 && !(a32 == INT_MIN && b32 == -1)) ? a32 / b32 : 9);
      mix(ua << (ub & 63));
      mix(ua >> (ub & 63));
      mix(a >> (ub & 63));
      mix((uint32_t)a32 << (b & 31));
      mix(a32 >> (b & 31));
      mix((ua >> (ub & 63)) | (ua << ((64 - (ub & 63)) & 63)));
      mix(a < b);
      mix(ua < ub);
      mix(a32 <= b32);
      mix((unsigned __int128)ua * ub >> 64);
      mix((__int128)a * b >> 64);
      mix(a > b ? a : b);
    }
    uint64_t ua = V64[i];
    mix(ua ? __builtin_clzll(ua) : 64);
    mix(ua ? __builtin_ctzll(ua) : 64);
    mix(__builtin_clrsbll(V64[i]));
    mix(__builtin_bswap64(ua));
    mix(__builtin_bswap32((uint32_t)ua));
    mix(__builtin_bswap16((uint16_t)ua));
    mix((int8_t)ua);
    mix((int16_t)ua);
    mix((uint8_t)ua);
    printf("%2u %20lld %016llx\n", i, (long long)V64[i], (unsigned long long)h);
  }
  printf("final %016llx\n", (unsigned long long)h);
  return 0;
}
