// fixture: static dynamic O0 O2 O3
// Starter guest program: integer arithmetic, overflow, division and 128-bit math.
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

static volatile int64_t vmin = INT64_MIN;
static volatile int64_t vminus1 = -1;

int main(void) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a over 0..9999 */
  for (uint32_t i = 0; i < 10000; i++) {
    h ^= i & 0xff;
    h *= 1099511628211ull;
  }
  printf("fnv %016" PRIx64 "\n", h);

  int64_t vals[] = {0, 1, -1, 7, -7, 1000000007, INT64_MAX, INT64_MIN + 1};
  for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    for (unsigned j = 0; j < sizeof vals / sizeof vals[0]; j++) {
      int64_t a = vals[i], b = vals[j];
      int64_t sum;
      int ovf = __builtin_add_overflow(a, b, &sum);
      printf("%" PRId64 " %" PRId64 ": add=%" PRId64 "%s", a, b, sum, ovf ? "(ovf)" : "");
      if (b != 0) printf(" div=%" PRId64 " rem=%" PRId64, a / b, a % b);
      printf(" udiv=%" PRIu64 "\n", b ? (uint64_t)a / (uint64_t)b : 0);
    }
  }

  unsigned __int128 p = (unsigned __int128)0xfedcba9876543210ull * 0x0123456789abcdefull;
  printf("mul128 %016" PRIx64 "%016" PRIx64 "\n", (uint64_t)(p >> 64), (uint64_t)p);
  __int128 q = (__int128)INT64_MIN * 3;
  printf("smul128 %016" PRIx64 "%016" PRIx64 "\n", (uint64_t)((unsigned __int128)q >> 64), (uint64_t)q);

  /* aarch64 SDIV of INT64_MIN by -1 gives INT64_MIN, division by zero gives 0 (no trap) */
  int64_t q1, q2;
  __asm__ volatile("sdiv %0, %1, %2" : "=r"(q1) : "r"(vmin), "r"(vminus1));
  __asm__ volatile("udiv %0, %1, %2" : "=r"(q2) : "r"(vmin), "r"((int64_t)0));
  printf("sdiv-min %" PRId64 " udiv-zero %" PRId64 "\n", q1, q2);
  for (int s = 0; s < 64; s += 13) printf("shift %d %016" PRIx64 " %016" PRIx64 "\n", s, h << s, h >> s);
  printf("clz %d ctz %d popcount %d\n", __builtin_clzll(h), __builtin_ctzll(h), __builtin_popcountll(h));
  return 0;
}
