// fixture: static O0 O2 O3 -lm
/* String and memory functions on every alignment and many lengths, checked against naive code. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>

static unsigned char a[512], b[512], c[512];
static uint32_t seed = 7;
static uint32_t rnd(void) {
  seed = seed * 1664525u + 1013904223u;
  return seed >> 8;
}
static void fill(unsigned char *p, int n) {
  for (int i = 0; i < n; i++) p[i] = 1 + rnd() % 255;
}

int main(void) {
  unsigned long bad = 0, checks = 0, hash = 0;
  for (int sa = 0; sa < 16; sa++)
    for (int da = 0; da < 16; da++)
      for (int len = 0; len < 140; len += (len < 24 ? 1 : 17)) {
        fill(a, 200);
        memset(b, 0x5a, 512);
        memcpy(b + da, a + sa, len);
        for (int i = 0; i < da + len + 8; i++) {
          unsigned char want = (i >= da && i < da + len) ? a[sa + i - da] : 0x5a;
          bad += b[i] != want;
        }
        checks++;
        memcpy(c, a, 512);
        memmove(c + da, c + sa, len);
        for (int i = 0; i < len; i++) bad += c[da + i] != a[sa + i];
        memset(c + da, sa, len);
        for (int i = 0; i < len; i++) bad += c[da + i] != sa;
        /* strlen/strchr/strrchr/memchr */
        fill(a + sa, len + 16);
        a[sa + len] = 0;
        bad += strlen((char *)a + sa) != (size_t)len;
        if (len > 0) {
          unsigned char ch = a[sa + len / 2];
          char *p = strchr((char *)a + sa, ch);
          int first = -1, last = -1;
          for (int i = 0; i < len; i++)
            if (a[sa + i] == ch) {
              if (first < 0) first = i;
              last = i;
            }
          bad += p != (char *)a + sa + first;
          bad += strrchr((char *)a + sa, ch) != (char *)a + sa + last;
          bad += memchr(a + sa, ch, len) != a + sa + first;
        }
        bad += strchr((char *)a + sa, 0) != (char *)a + sa + len;
        /* memcmp / strcmp / strncmp */
        memcpy(b + da, a + sa, len + 1);
        bad += memcmp(a + sa, b + da, len) != 0;
        bad += strcmp((char *)a + sa, (char *)b + da) != 0;
        if (len > 0) {
          int k = rnd() % len;
          b[da + k] = a[sa + k] == 200 ? 100 : 200;
          int want = a[sa + k] < b[da + k] ? -1 : 1;
          int got = memcmp(a + sa, b + da, len);
          bad += (got < 0 ? -1 : 1) != want;
          got = strcmp((char *)a + sa, (char *)b + da);
          bad += (got < 0 ? -1 : 1) != want;
          bad += strncmp((char *)a + sa, (char *)b + da, k) != 0;
        }
        strcpy((char *)c + da, (char *)a + sa);
        bad += strcmp((char *)c + da, (char *)a + sa) != 0;
        for (int i = 0; i < len; i++) hash = hash * 131 + c[da + i];
      }
  printf("checks %lu bad %lu hash %lx\n", checks, bad, hash);
  char s[64];
  strcpy(s, "The quick brown fox");
  strcat(s, " jumps");
  printf("%s|%zu|%s|%s\n", s, strlen(s), strstr(s, "brown"), strpbrk(s, "xyz"));
  printf("%zu %zu\n", strspn(s, "The qu"), strcspn(s, "f"));
  return bad != 0;
}
