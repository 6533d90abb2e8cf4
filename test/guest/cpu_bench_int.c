// fixture: static O2 -nostdlib -fno-stack-protector
/* CPU benchmark: integer mix (FNV/xorshift hashing, table CRC32, insertion+heap sort).
 * Freestanding (no libc): runs before any libc/SIMD support and measures the integer core.
 * Prints one checksum line via write(2). */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

static long sys3(long nr, long a, long b, long c) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}

#define N 4096
static u32 crc_table[256];
static u8 buf[65536];
static u32 arr[N];

static u32 crc32(const u8 *p, long n, u32 crc) {
  crc = ~crc;
  for (long i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static void sift(u32 *a, long start, long end) {
  long root = start;
  while (2 * root + 1 <= end) {
    long child = 2 * root + 1;
    if (child + 1 <= end && a[child] < a[child + 1]) child++;
    if (a[root] < a[child]) {
      u32 t = a[root];
      a[root] = a[child];
      a[child] = t;
      root = child;
    } else
      return;
  }
}
static void heapsort(u32 *a, long n) {
  for (long s = (n - 2) / 2; s >= 0; s--) sift(a, s, n - 1);
  for (long e = n - 1; e > 0; e--) {
    u32 t = a[e];
    a[e] = a[0];
    a[0] = t;
    sift(a, 0, e - 1);
  }
}

static char *hex(char *p, u64 v) {
  for (int i = 60; i >= 0; i -= 4) *p++ = "0123456789abcdef"[(v >> i) & 15];
  return p;
}

static int bench(int rounds) {
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    crc_table[i] = c;
  }
  u64 x = 88172645463325252ULL, h = 1469598103934665603ULL;
  u32 crc = 0;
  for (int r = 0; r < rounds; r++) {
    for (long i = 0; i < (long)sizeof buf; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = (u8)x;
      h = (h ^ (u8)x) * 1099511628211ULL;
    }
    crc = crc32(buf, sizeof buf, crc);
    for (long i = 0; i < N; i++) arr[i] = (u32)(x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 3;
    heapsort(arr, N);
    for (long i = 1; i < N; i++) h += arr[i] < arr[i - 1];
    h ^= arr[N / 2];
  }
  char out[64], *p = out;
  p = hex(p, h);
  *p++ = ' ';
  p = hex(p, crc);
  *p++ = '\n';
  sys3(64, 1, (long)out, p - out);
  return 0;
}

static long parse(const char *s) {
  long v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

/* Entry: x0 = argc, x1 = argv (set up by the asm stub below). Argument 1 = rounds. */
void cstart(long argc, char **argv) {
  long rounds = argc > 1 ? parse(argv[1]) : 10;
  long rc = bench((int)rounds);
  sys3(93, rc, 0, 0);
  for (;;) {
  }
}
__asm__(".globl _start\n_start:\n  ldr x0, [sp]\n  add x1, sp, #8\n  bl cstart\n");
