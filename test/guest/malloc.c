// fixture: static dynamic O0 O2
// Starter guest program: heap allocation through brk and mmap (large blocks), realloc, free.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  enum { N = 2000 };
  static char *blocks[N];
  uint64_t sum = 0;
  for (int i = 0; i < N; i++) {
    size_t size = 1 + (size_t)(i * 37) % 4096;
    blocks[i] = malloc(size);
    if (!blocks[i]) return 2;
    memset(blocks[i], i & 0xff, size);
  }
  for (int i = 0; i < N; i += 2) {
    free(blocks[i]);
    blocks[i] = NULL;
  }
  for (int i = 1; i < N; i += 2) {
    size_t size = 1 + (size_t)(i * 37) % 4096;
    blocks[i] = realloc(blocks[i], size * 2);
    if (!blocks[i]) return 3;
    for (size_t k = 0; k < size; k++) sum += (unsigned char)blocks[i][k];
  }
  printf("small sum %llu\n", (unsigned long long)sum);

  /* A block above the mmap threshold */
  size_t big = 8u << 20;
  unsigned char *p = malloc(big);
  if (!p) return 4;
  for (size_t k = 0; k < big; k += 4096) p[k] = (unsigned char)(k >> 12);
  uint64_t bsum = 0;
  for (size_t k = 0; k < big; k += 4096) bsum += p[k];
  printf("big sum %llu\n", (unsigned long long)bsum);
  free(p);

  int *z = calloc(1000, sizeof *z);
  int nz = 0;
  for (int i = 0; i < 1000; i++) nz += z[i] != 0;
  printf("calloc nonzero %d\n", nz);
  free(z);
  for (int i = 1; i < N; i += 2) free(blocks[i]);
  printf("done\n");
  return 0;
}
