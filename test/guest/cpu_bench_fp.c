// fixture: static O2 -nostdlib -fno-stack-protector -fno-math-errno
/* CPU benchmark: floating-point kernel (n-body steps + dense matrix multiply, double precision).
 * Freestanding; prints integer checksums of the results via write(2). Argument 1 = rounds. */
typedef unsigned long u64;

static long sys3(long nr, long a, long b, long c) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}

#define NB 5
static double px[NB], py[NB], pz[NB], vx[NB], vy[NB], vz[NB], ms[NB];
#define M 48
static double A[M][M], B[M][M], C[M][M];

static double fsqrt(double x) { return __builtin_sqrt(x); }

static void nbody(int steps, double dt) {
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < NB; i++)
      for (int j = i + 1; j < NB; j++) {
        double dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * fsqrt(d2));
        vx[i] -= dx * ms[j] * mag;
        vy[i] -= dy * ms[j] * mag;
        vz[i] -= dz * ms[j] * mag;
        vx[j] += dx * ms[i] * mag;
        vy[j] += dy * ms[i] * mag;
        vz[j] += dz * ms[i] * mag;
      }
    for (int i = 0; i < NB; i++) {
      px[i] += dt * vx[i];
      py[i] += dt * vy[i];
      pz[i] += dt * vz[i];
    }
  }
}

static void matmul(void) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++) {
      double s = 0;
      for (int k = 0; k < M; k++) s += A[i][k] * B[k][j];
      C[i][j] = s;
    }
}

static char *hex(char *p, u64 v) {
  for (int i = 60; i >= 0; i -= 4) *p++ = "0123456789abcdef"[(v >> i) & 15];
  return p;
}
static long parse(const char *s) {
  long v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

void cstart(long argc, char **argv) {
  long rounds = argc > 1 ? parse(argv[1]) : 4;
  for (int i = 0; i < NB; i++) {
    px[i] = i * 1.5 - 3;
    py[i] = (i * 7 % 5) * 0.75;
    pz[i] = -i * 0.25;
    vx[i] = 0.01 * i;
    vy[i] = -0.02 * i;
    vz[i] = 0.005;
    ms[i] = 1.0 + i * 0.1;
  }
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++) {
      A[i][j] = (double)((i * 31 + j * 17) % 97) / 13.0;
      B[i][j] = (double)((i * 7 + j * 29) % 89) / 11.0 - 3.0;
    }
  double acc = 0;
  for (long r = 0; r < rounds; r++) {
    nbody(2000, 0.001);
    matmul();
    acc += C[r % M][(r * 5) % M];
    for (int i = 0; i < M; i++) A[i][(i + r) % M] += C[i][i] * 1e-6;
  }
  double e = 0;
  for (int i = 0; i < NB; i++) e += ms[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
  union {
    double d;
    u64 u;
  } c1 = {acc}, c2 = {e};
  char out[64], *p = out;
  p = hex(p, c1.u);
  *p++ = ' ';
  p = hex(p, c2.u);
  *p++ = '\n';
  sys3(64, 1, (long)out, p - out);
  sys3(93, 0, 0, 0);
  for (;;) {
  }
}
__asm__(".globl _start\n_start:\n  ldr x0, [sp]\n  add x1, sp, #8\n  bl cstart\n");
