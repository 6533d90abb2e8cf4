// fixture: static O0 O2 O3 -lm
/* C11 atomics and __sync builtins (outline atomics pick LSE when HWCAP_ATOMICS is set). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>

int main(void) {
  _Atomic uint64_t a = 0;
  _Atomic uint32_t b = 0;
  _Atomic uint8_t c = 0;
  _Atomic uint16_t d = 0;
  for (int i = 0; i < 1000; i++) {
    atomic_fetch_add(&a, (uint64_t)i * 0x100000001ULL);
    atomic_fetch_sub(&b, i);
    atomic_fetch_xor(&c, i);
    atomic_fetch_or(&d, i);
    uint64_t exp = atomic_load(&a);
    atomic_compare_exchange_strong(&a, &exp, exp ^ 0x5555);
  }
  printf("%llx %x %x %x\n", (unsigned long long)atomic_load(&a), atomic_load(&b), atomic_load(&c), atomic_load(&d));
  uint64_t x = atomic_exchange(&a, 7);
  printf("%llx %llx\n", (unsigned long long)x, (unsigned long long)a);
  long s = 10;
  printf("%ld %ld %d\n", __sync_fetch_and_add(&s, 5), __sync_add_and_fetch(&s, 5), __sync_bool_compare_and_swap(&s, 20, 3));
  printf("%ld\n", s);
  return 0;
}
