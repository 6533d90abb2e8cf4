// fixture: static O2
// Fault addresses in siginfo: si_addr and si_code of SIGSEGV for (a) a load through a tagged
// pointer (top byte 0x5a, TBI) to an unmapped page, (b) an 8-byte load starting 4 bytes
// before the end of a mapped page followed by a PROT_NONE page, (c) a store to a read-only
// page, (d) a store through a tagged pointer to that page, (e) a load whose base + offset
// carries into the tag byte (0x00fffffffffffff0 + 0x20: the fault address is 0x10 once the tag
// 0x01 is cleared). Addresses are printed relative to the mapping so the output does not depend
// on where mmap placed it. Argument `wrap` adds (f): a load whose base - offset wraps below
// zero (0x10 - 0x20 = 0xfffffffffffffff0, bit 55 set so Linux keeps the top byte) and (g): a
// load through the negative pointer 0xfffffffffffffe7e (bit 55 set: reported unchanged).
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile uintptr_t got_addr;
static volatile int got_code;
static volatile int got_signo;

static void handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  got_signo = sig;
  got_code = si->si_code;
  got_addr = (uintptr_t)si->si_addr;
  siglongjmp(env, 1);
}

static void report(const char *name, uintptr_t base) {
  printf("%s: signo=%d code=%d addr=base%+ld tag=0x%lx\n", name, got_signo, got_code,
         (long)((got_addr & 0x00ffffffffffffffUL) - base), (unsigned long)(got_addr >> 56));
}

int main(int argc, char **argv) {
  int wrap = argc > 1 && strcmp(argv[1], "wrap") == 0;
  long pg = sysconf(_SC_PAGESIZE);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) {
    perror("sigaction");
    return 1;
  }
  // Three pages: [0] read-write, [1] PROT_NONE, [2] read-only; a fourth is unmapped.
  unsigned char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  uintptr_t base = (uintptr_t)m;
  memset(m, 0x11, pg);
  if (mprotect(m + pg, pg, PROT_NONE) != 0 || mprotect(m + 2 * pg, pg, PROT_READ) != 0 ||
      munmap(m + 3 * pg, pg) != 0) {
    perror("mprotect/munmap");
    return 1;
  }

  // (a) load through a tagged pointer to the unmapped page.
  got_signo = 0;
  if (sigsetjmp(env, 1) == 0) {
    volatile unsigned char *p = (volatile unsigned char *)((base + 3 * pg + 0x80) | (0x5aUL << 56));
    unsigned char v = *p;
    printf("a: no fault (%u)\n", v);
  } else {
    report("a tagged load, unmapped", base);
  }

  // (a') the tagged pointer to a mapped page works (top byte ignored).
  {
    volatile unsigned char *p = (volatile unsigned char *)((base + 8) | (0x5aUL << 56));
    printf("a': tagged load of mapped byte = 0x%x\n", *p);
  }

  // (b) 8-byte load straddling the read-write page and the PROT_NONE page.
  got_signo = 0;
  if (sigsetjmp(env, 1) == 0) {
    volatile uint64_t *p = (volatile uint64_t *)(base + pg - 4);
    uint64_t v = *p;
    printf("b: no fault (%llx)\n", (unsigned long long)v);
  } else {
    report("b straddling load", base);
  }

  // (c) store to the read-only page.
  got_signo = 0;
  if (sigsetjmp(env, 1) == 0) {
    volatile unsigned char *p = (volatile unsigned char *)(base + 2 * pg + 0x10);
    *p = 1;
    printf("c: no fault\n");
  } else {
    report("c store to read-only", base);
  }

  // (d) store through a tagged pointer to the read-only page.
  got_signo = 0;
  if (sigsetjmp(env, 1) == 0) {
    volatile unsigned char *p = (volatile unsigned char *)((base + 2 * pg + 0x20) | (0xa5UL << 56));
    *p = 1;
    printf("d: no fault\n");
  } else {
    report("d tagged store to read-only", base);
  }
  // (e) base + immediate offset carries into the tag byte.
  got_signo = 0;
  if (sigsetjmp(env, 1) == 0) {
    uint64_t v, p = 0x00fffffffffffff0UL;
    __asm__ volatile("ldr %0, [%1, #32]" : "=r"(v) : "r"(p) : "memory");
    printf("e: no fault (%llx)\n", (unsigned long long)v);
  } else {
    printf("e carry into tag: signo=%d code=%d addr=0x%lx\n", got_signo, got_code, (unsigned long)got_addr);
  }

  // (f) base - offset wraps below zero.
  if (wrap) {
    got_signo = 0;
    if (sigsetjmp(env, 1) == 0) {
      uint64_t v, p = 0x10;
      __asm__ volatile("ldur %0, [%1, #-32]" : "=r"(v) : "r"(p) : "memory");
      printf("f: no fault (%llx)\n", (unsigned long long)v);
    } else {
      printf("f wrap below zero: signo=%d code=%d addr=0x%lx\n", got_signo, got_code, (unsigned long)got_addr);
    }
    // (g) a negative pointer (bit 55 set, not a multiple of 8): -386.
    got_signo = 0;
    if (sigsetjmp(env, 1) == 0) {
      uint64_t v, p = 0xfffffffffffffe7eUL;
      __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(p) : "memory");
      printf("g: no fault (%llx)\n", (unsigned long long)v);
    } else {
      printf("g negative pointer: signo=%d code=%d addr=0x%lx\n", got_signo, got_code, (unsigned long)got_addr);
    }
  }
  return 0;
}
