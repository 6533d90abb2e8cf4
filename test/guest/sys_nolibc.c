// fixture: static O2 -nostdlib -ffreestanding -fno-builtin -mgeneral-regs-only -fno-stack-protector
// Kernel core without libc (no FP/SIMD): write, getpid, brk, mmap/munmap/mprotect, pipe2,
// fork + wait4 (exit status, signal status), signal handler with a custom restorer and
// rt_sigreturn, kill, clock_gettime, execve failure codes, uname, futex wake on an unshared
// word, bad pointers (EFAULT), unknown syscall (ENOSYS). Prints one line per check.
typedef unsigned long u64;
typedef long i64;

static i64 sys6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f) {
  register i64 x8 __asm__("x8") = n;
  register i64 x0 __asm__("x0") = a;
  register i64 x1 __asm__("x1") = b;
  register i64 x2 __asm__("x2") = c;
  register i64 x3 __asm__("x3") = d;
  register i64 x4 __asm__("x4") = e;
  register i64 x5 __asm__("x5") = f;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
#define sys(n, a, b, c) sys6(n, (i64)(a), (i64)(b), (i64)(c), 0, 0, 0)

static u64 slen(const char *s) {
  u64 n = 0;
  while (s[n]) n++;
  return n;
}
static void puts_(const char *s) { sys(64, 1, s, slen(s)); }
static void putnum(i64 v) {
  char b[24];
  int i = 23;
  int neg = v < 0;
  u64 u = neg ? (u64)(-v) : (u64)v;
  b[i] = 0;
  do {
    b[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) b[--i] = '-';
  puts_(b + i);
}
static void check(const char *what, i64 v) {
  puts_(what);
  puts_(" = ");
  putnum(v);
  puts_("\n");
}

static volatile int got_signal;
static void handler(int sig) { got_signal = sig; }
__asm__(".text\n.global restorer\nrestorer:\n mov x8, #139\n svc #0\n");
void restorer(void);

struct ksigaction {
  void (*handler)(int);
  u64 flags;
  void (*restorer)(void);
  u64 mask;
};

void cmain(void) {
  check("getpid positive", sys(172, 0, 0, 0) > 0);
  check("gettid is pid", sys(178, 0, 0, 0) == sys(172, 0, 0, 0));
  i64 brk0 = sys(214, 0, 0, 0);
  i64 brk1 = sys(214, brk0 + 8192, 0, 0);
  check("brk grows", brk1 - brk0);
  ((char *)brk0)[8000] = 7;
  check("brk memory", ((char *)brk0)[8000]);
  char *m = (char *)sys6(222, 0, 65536, 3, 0x22, -1, 0);
  m[65535] = 42;
  check("mmap rw", m[65535] + m[0]);
  check("mprotect", sys(226, m, 4096, 1));
  check("munmap", sys(215, m, 65536, 0));
  check("write EFAULT", sys(64, 1, 16, 5));
  check("unknown syscall", sys(999, 0, 0, 0));
  check("bad fd", sys(64, 99, "x", 1));

  int fds[2];
  check("pipe2", sys(59, fds, 0, 0));
  check("pipe write", sys(64, fds[1], "abc", 3));
  char buf[8];
  check("pipe read", sys(63, fds[0], buf, 8));
  check("pipe byte", buf[2]);

  i64 pid = sys6(220, 17 /* SIGCHLD */, 0, 0, 0, 0, 0);
  if (pid == 0) {
    sys(64, fds[1], "child", 5);
    sys(94, 3, 0, 0);
  }
  int status = 0;
  check("wait4 pid matches", sys6(260, pid, (i64)&status, 0, 0, 0, 0) == pid);
  check("child exit status", status);
  check("child wrote", sys(63, fds[0], buf, 8));

  pid = sys6(220, 17, 0, 0, 0, 0, 0);
  if (pid == 0) {
    *(volatile int *)8 = 1; // SIGSEGV
    sys(94, 0, 0, 0);
  }
  sys6(260, pid, (i64)&status, 0, 0, 0, 0);
  check("child killed by", status & 0x7f);

  struct ksigaction sa = {handler, 0x04000000 /* SA_RESTORER */, restorer, 0};
  check("sigaction", sys6(134, 10, (i64)&sa, 0, 8, 0, 0));
  check("kill self", sys(129, sys(172, 0, 0, 0), 10, 0));
  check("handler ran", got_signal);

  u64 ts[2] = {0, 0};
  check("clock_gettime", sys(113, 1, ts, 0));
  check("clock nonneg", (i64)ts[0] >= 0);
  check("execve missing", sys(221, "/nonexistent", 0, 0));
  char uts[65 * 6];
  check("uname", sys(160, uts, 0, 0));
  puts_(uts);
  puts_(" ");
  puts_(uts + 65 * 4);
  puts_("\n");
  int word = 0;
  check("futex wake", sys6(98, (i64)&word, 1 | 128, 1, 0, 0, 0));
  check("futex wait EAGAIN", sys6(98, (i64)&word, 0 | 128, 5, 0, 0, 0));
  sys(94, 0, 0, 0);
}

__asm__(".text\n.global _start\n_start:\n mov x29, #0\n bl cmain\n mov x0, #1\n mov x8, #94\n svc #0\n");
