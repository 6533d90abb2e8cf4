// fixture: static O2
/* CPU benchmark: string workload on glibc's (AdvSIMD) memcpy/memset/strlen/memchr/memcmp/strcmp.
 * Argument 1 = rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char src[1 << 16], dst[1 << 16];

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 20;
  unsigned long h = 0;
  for (int i = 0; i < (int)sizeof src; i++) src[i] = 'a' + (i * 7 + i / 13) % 26;
  for (long r = 0; r < rounds; r++) {
    for (int len = 1; len < 4096; len = len * 3 / 2 + 1) {
      for (int off = 0; off < 64; off += 5) {
        memcpy(dst + off, src + r % 64, len);
        dst[off + len] = 0;
        h += strlen(dst + off);
        h += memcmp(dst + off, src + r % 64, len) == 0;
        char *p = memchr(dst + off, 'q', len);
        h += p ? (unsigned long)(p - dst) : 1;
        h += strcmp(dst + off, src) != 0;
        memset(dst + off, 'x', len / 2);
        h = h * 31 + (unsigned char)dst[off + len / 2];
      }
    }
    memmove(dst + 1, dst, sizeof dst - 1);
    h ^= (unsigned char)dst[r % sizeof dst];
  }
  printf("%lx\n", h);
  return 0;
}
