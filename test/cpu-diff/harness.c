/*
 * Lichen CPU differential harness (risu-style), run under qemu-aarch64-static.
 *
 * stdin:  "LCDF" u32 magic, u32 case count, then `count` input records (IN_SIZE bytes each).
 * stdout: "LCDR" u32 magic, u32 case count, then one variable-size output record per case.
 * Layouts (little-endian, packed) are documented in test/cpu-diff/README.md and mirrored in
 * test/cpu-diff/protocol.ts.
 *
 * Every state transition goes through a signal handler running on an alternate stack: the
 * harness executes BRK, the handler loads the case into the ucontext (X0-X30, SP, PC, NZCV,
 * V0-V31, FPCR, FPSR; TPIDR_EL0 is set by hand just before the handler returns) and returns
 * through sigreturn into the test code. The test code ends in BRK (the whole code page is
 * filled with BRK), so the next signal captures the state after the instruction(s). Faults
 * (SIGSEGV, SIGBUS), undefined instructions (SIGILL) and timeouts (SIGVTALRM after 200 ms of
 * CPU time, so a loaded machine does not cause false timeouts) are captured the same way.
 */
#define _GNU_SOURCE
#include <asm/sigcontext.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_ADDR 0x1000000000UL
#define CODE_RESERVE (128UL << 20)
#define CODE_SIZE 4096UL
#define SCRATCH_ADDR 0x2000000000UL
#define SCRATCH_SIZE 65536UL
#define MAX_INSN 8
#define BRK_WORD 0xd4298900u /* brk #0x4c48 */
#define MAX_MEM_CHANGES 4096

/* input record offsets */
#define IN_X 0
#define IN_SP 248
#define IN_TPIDR 256
#define IN_V 264
#define IN_NZCV 776
#define IN_FPCR 780
#define IN_FPSR 784
#define IN_MEMSEED 788
#define IN_NINSN 792
#define IN_INSN 796
#define IN_SIZE 828

/* output record offsets (header part; then nmem u32 entries) */
#define OUT_SIGNO 788
#define OUT_SICODE 792
#define OUT_PC 800
#define OUT_FADDR 808
#define OUT_NMEM 816
#define OUT_HDR 820

static uint8_t *in_buf;
static uint32_t ncases, next_case;
static uint8_t *out_buf;
static size_t out_len, out_cap;
static int running;
static uint64_t harness_tpidr;
static mcontext_t main_ctx;
static uint8_t main_reserved[sizeof(((mcontext_t *)0)->__reserved)];
static uint32_t cur_memseed;

static void die(const char *m) {
  write(2, m, strlen(m));
  write(2, "\n", 1);
  _exit(2);
}

static void out_reserve(size_t n) {
  if (out_len + n > out_cap) {
    size_t c = out_cap ? out_cap * 2 : (1 << 20);
    while (c < out_len + n) c *= 2;
    out_buf = realloc(out_buf, c);
    if (!out_buf) die("harness: out of memory");
    out_cap = c;
  }
}

static uint32_t xorshift(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static void fill_scratch(uint32_t seed) {
  uint32_t s = seed ? seed : 0x9e3779b9u;
  uint32_t *p = (uint32_t *)SCRATCH_ADDR;
  for (size_t i = 0; i < SCRATCH_SIZE / 4; i++) p[i] = xorshift(&s);
}

static struct fpsimd_context *find_fpsimd(ucontext_t *uc) {
  uint8_t *p = (uint8_t *)uc->uc_mcontext.__reserved;
  uint8_t *end = p + sizeof(uc->uc_mcontext.__reserved);
  while (p + sizeof(struct _aarch64_ctx) <= end) {
    struct _aarch64_ctx *h = (struct _aarch64_ctx *)p;
    if (h->magic == 0) break;
    if (h->magic == FPSIMD_MAGIC) return (struct fpsimd_context *)p;
    if (h->size == 0) break;
    p += h->size;
  }
  die("harness: no fpsimd_context in signal frame");
  return 0;
}

static void set_timer(long usec) {
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_usec = usec;
  setitimer(ITIMER_VIRTUAL, &it, 0);
}

static void capture(ucontext_t *uc, int sig, siginfo_t *si, uint64_t tpidr) {
  struct fpsimd_context *fp = find_fpsimd(uc);
  out_reserve(OUT_HDR + 4 * MAX_MEM_CHANGES);
  uint8_t *o = out_buf + out_len;
  memcpy(o + IN_X, uc->uc_mcontext.regs, 31 * 8);
  memcpy(o + IN_SP, &uc->uc_mcontext.sp, 8);
  memcpy(o + IN_TPIDR, &tpidr, 8);
  memcpy(o + IN_V, fp->vregs, 512);
  uint32_t nzcv = (uint32_t)(uc->uc_mcontext.pstate & 0xf0000000u);
  memcpy(o + IN_NZCV, &nzcv, 4);
  memcpy(o + IN_FPCR, &fp->fpcr, 4);
  memcpy(o + IN_FPSR, &fp->fpsr, 4);
  uint32_t signo = (uint32_t)sig, code = (uint32_t)si->si_code, pad = 0;
  memcpy(o + OUT_SIGNO, &signo, 4);
  memcpy(o + OUT_SICODE, &code, 4);
  memcpy(o + 796, &pad, 4);
  memcpy(o + OUT_PC, &uc->uc_mcontext.pc, 8);
  uint64_t faddr = (sig == SIGSEGV || sig == SIGBUS) ? (uint64_t)(uintptr_t)si->si_addr : 0;
  memcpy(o + OUT_FADDR, &faddr, 8);
  /* memory changes against the seeded fill */
  uint32_t s = cur_memseed ? cur_memseed : 0x9e3779b9u;
  uint32_t *p = (uint32_t *)SCRATCH_ADDR;
  uint32_t n = 0;
  uint32_t *ent = (uint32_t *)(o + OUT_HDR);
  for (uint32_t i = 0; i < SCRATCH_SIZE / 4; i++) {
    uint32_t want = xorshift(&s), got = p[i];
    if (want != got) {
      for (uint32_t b = 0; b < 4; b++) {
        uint32_t gb = (got >> (8 * b)) & 0xff, wb = (want >> (8 * b)) & 0xff;
        if (gb != wb && n < MAX_MEM_CHANGES) ent[n++] = (i * 4 + b) | (gb << 16);
      }
    }
  }
  memcpy(o + OUT_NMEM, &n, 4);
  out_len += OUT_HDR + 4 * (size_t)n;
}

static void load_case(ucontext_t *uc, const uint8_t *c) {
  struct fpsimd_context *fp = find_fpsimd(uc);
  memcpy(uc->uc_mcontext.regs, c + IN_X, 31 * 8);
  memcpy(&uc->uc_mcontext.sp, c + IN_SP, 8);
  memcpy(fp->vregs, c + IN_V, 512);
  uint32_t nzcv, fpcr, fpsr, ninsn;
  memcpy(&nzcv, c + IN_NZCV, 4);
  memcpy(&fpcr, c + IN_FPCR, 4);
  memcpy(&fpsr, c + IN_FPSR, 4);
  memcpy(&cur_memseed, c + IN_MEMSEED, 4);
  memcpy(&ninsn, c + IN_NINSN, 4);
  if (ninsn > MAX_INSN) die("harness: too many instructions in a case");
  fp->fpcr = fpcr;
  fp->fpsr = fpsr;
  uc->uc_mcontext.pstate = (uc->uc_mcontext.pstate & ~0xf0000000ULL) | (nzcv & 0xf0000000u);
  uint32_t *code = (uint32_t *)CODE_ADDR;
  for (uint32_t i = 0; i <= MAX_INSN; i++) code[i] = BRK_WORD;
  memcpy(code, c + IN_INSN, 4 * ninsn);
  __builtin___clear_cache((char *)code, (char *)(code + MAX_INSN + 1));
  fill_scratch(cur_memseed);
  uc->uc_mcontext.pc = CODE_ADDR;
}

static void handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  uint64_t cur_tpidr;
  __asm__ volatile("mrs %0, tpidr_el0" : "=r"(cur_tpidr));
  __asm__ volatile("msr tpidr_el0, %0" ::"r"(harness_tpidr));
  if (running) {
    set_timer(0);
    capture(uc, sig, si, cur_tpidr);
  } else {
    if (sig != SIGTRAP) die("harness: unexpected signal outside a test case");
    main_ctx = uc->uc_mcontext;
    memcpy(main_reserved, uc->uc_mcontext.__reserved, sizeof main_reserved);
    main_ctx.pc += 4;
  }
  if (next_case < ncases) {
    const uint8_t *c = in_buf + 8 + (size_t)IN_SIZE * next_case;
    next_case++;
    load_case(uc, c);
    running = 1;
    uint64_t t;
    memcpy(&t, c + IN_TPIDR, 8);
    set_timer(200000);
    __asm__ volatile("msr tpidr_el0, %0" ::"r"(t));
  } else {
    running = 0;
    uc->uc_mcontext = main_ctx;
    memcpy(uc->uc_mcontext.__reserved, main_reserved, sizeof main_reserved);
  }
}

static size_t read_all(int fd, uint8_t *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
}

int main(void) {
  uint8_t hdr[8];
  if (read_all(0, hdr, 8) != 8 || memcmp(hdr, "LCDF", 4) != 0) die("harness: bad input header");
  memcpy(&ncases, hdr + 4, 4);
  in_buf = malloc(8 + (size_t)IN_SIZE * ncases);
  if (!in_buf) die("harness: out of memory");
  memcpy(in_buf, hdr, 8);
  if (read_all(0, in_buf + 8, (size_t)IN_SIZE * ncases) != (size_t)IN_SIZE * ncases) die("harness: short input");

  void *resv = mmap((void *)(CODE_ADDR - CODE_RESERVE), 2 * CODE_RESERVE, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
  if (resv != (void *)(CODE_ADDR - CODE_RESERVE)) die("harness: cannot reserve the code area");
  if (mprotect((void *)CODE_ADDR, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) die("harness: mprotect code");
  uint32_t *code = (uint32_t *)CODE_ADDR;
  for (size_t i = 0; i < CODE_SIZE / 4; i++) code[i] = BRK_WORD;
  void *scr = mmap((void *)SCRATCH_ADDR, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (scr != (void *)SCRATCH_ADDR) die("harness: cannot map the scratch area");

  stack_t ss;
  ss.ss_size = 1 << 20;
  ss.ss_sp = malloc(ss.ss_size);
  ss.ss_flags = 0;
  if (!ss.ss_sp || sigaltstack(&ss, 0) != 0) die("harness: sigaltstack");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  int sigs[] = {SIGTRAP, SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGVTALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (sigaction(sigs[i], &sa, 0) != 0) die("harness: sigaction");

  __asm__ volatile("mrs %0, tpidr_el0" : "=r"(harness_tpidr));
  out_reserve(8);
  memcpy(out_buf, "LCDR", 4);
  memcpy(out_buf + 4, &ncases, 4);
  out_len = 8;
  __asm__ volatile("brk #0x4c47" ::: "memory");
  /* all cases ran; the handler resumed here with main's context */
  size_t off = 0;
  while (off < out_len) {
    ssize_t w = write(1, out_buf + off, out_len - off);
    if (w <= 0) die("harness: write failed");
    off += (size_t)w;
  }
  return 0;
}
