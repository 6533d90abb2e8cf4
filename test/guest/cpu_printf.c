// fixture: static O0 O2 O3 -lm
/* printf integer/string formatting, snprintf, and a few libc number conversions. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <inttypes.h>

int main(void) {
  long long vals[] = {0, 1, -1, 42, -42, 1234567890123LL, INT64_MAX, INT64_MIN, 0x7fffffff, -0x80000000LL};
  for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    long long v = vals[i];
    printf("[%lld] [%20lld] [%-20lld] [%+lld] [%llx] [%#llo] [%020llu]\n", v, v, v, v, (unsigned long long)v,
           (unsigned long long)v, (unsigned long long)v);
    printf("[%d] [%5hd] [%hhu] [%x] [%X] [%c]\n", (int)v, (short)v, (unsigned char)v, (unsigned)v, (unsigned)v,
           (int)('A' + (v & 15)));
  }
  printf("[%s] [%10s] [%-10s] [%.3s] [%%]\n", "abc", "right", "left", "truncate");
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%s-%d-%s", "this is long", 123456, "and more text here");
  printf("%d %s\n", n, buf);
  printf("%ld %lu %lld\n", strtol("-12345xyz", NULL, 10), strtoul("ffff", NULL, 16), atoll("9000000000"));
  printf("%" PRId64 " %" PRIu32 " %" PRIx16 "\n", (int64_t)-5, (uint32_t)4000000000u, (uint16_t)0xbeef);
  return 0;
}
