// fixture: static O0 O2 O3 -lm
/* 128-bit integer math (libgcc __divti3/__udivti3/__multi3 paths). */
#include <stdio.h>
#include <stdint.h>

static void put_u128(unsigned __int128 v) {
  char buf[48];
  int i = 47;
  buf[i] = 0;
  do {
    buf[--i] = '0' + (int)(v % 10);
    v /= 10;
  } while (v);
  fputs(buf + i, stdout);
}
static void put_i128(__int128 v) {
  if (v < 0) {
    putchar('-');
    put_u128(-(unsigned __int128)v);
  } else
    put_u128(v);
}

int main(void) {
  unsigned __int128 f = 1;
  for (int i = 1; i <= 34; i++) {
    f *= i;
    printf("%2d! = ", i);
    put_u128(f);
    putchar('\n');
  }
  __int128 a = ((__int128)0x123456789abcdefLL << 64) | 0xfedcba9876543210ULL;
  __int128 vals[] = {a, -a, 12345, -98765, ((__int128)1 << 100) + 3, -((__int128)1 << 90), 7, -1};
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) {
      __int128 x = vals[i], y = vals[j];
      put_i128(x / y);
      putchar(' ');
      put_i128(x % y);
      putchar(' ');
      put_u128((unsigned __int128)x / (unsigned __int128)y);
      putchar(' ');
      put_i128(x * y);
      putchar(' ');
      put_i128(x >> (j * 13));
      putchar('\n');
    }
  uint64_t s = 88172645463325252ULL;
  unsigned __int128 acc = 0;
  for (int i = 0; i < 10000; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    acc += (unsigned __int128)s * s;
    acc ^= acc >> 3;
  }
  put_u128(acc);
  putchar('\n');
  return 0;
}
