// fixture: static O0 O2 O3 -lm
/* qsort of integers, structs and strings with custom comparators; bsearch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint32_t seed = 12345;
static uint32_t rnd(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 8;
}
static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}
struct rec {
  int64_t key;
  char name[13];
  short tag;
};
static int cmp_rec(const void *a, const void *b) {
  const struct rec *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return strcmp(x->name, y->name);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
  enum { N = 20000 };
  static int v[N];
  for (int i = 0; i < N; i++) v[i] = (int)(rnd() % 100000) - 50000;
  qsort(v, N, sizeof v[0], cmp_int);
  long sum = 0;
  for (int i = 0; i < N; i++) sum = sum * 31 + v[i];
  printf("ints: min %d max %d median %d hash %ld\n", v[0], v[N - 1], v[N / 2], sum);
  for (int k = -50000; k < 50000; k += 9973) {
    int *p = bsearch(&k, v, N, sizeof v[0], cmp_int);
    printf("bsearch %d: %s\n", k, p ? "found" : "absent");
  }
  static struct rec r[3000];
  for (int i = 0; i < 3000; i++) {
    r[i].key = (int64_t)(rnd() % 50) << 33;
    for (int j = 0; j < 12; j++) r[i].name[j] = 'a' + rnd() % 26;
    r[i].name[12] = 0;
    r[i].tag = (short)i;
  }
  qsort(r, 3000, sizeof r[0], cmp_rec);
  for (int i = 0; i < 3000; i += 250) printf("%lld %s %d\n", (long long)r[i].key, r[i].name, r[i].tag);
  static char buf[1000][20];
  static char *sp[1000];
  for (int i = 0; i < 1000; i++) {
    int len = 1 + rnd() % 18;
    for (int j = 0; j < len; j++) buf[i][j] = 'A' + rnd() % 58;
    buf[i][len] = 0;
    sp[i] = buf[i];
  }
  qsort(sp, 1000, sizeof sp[0], cmp_str);
  for (int i = 0; i < 1000; i += 97) printf("%s\n", sp[i]);
  return 0;
}
