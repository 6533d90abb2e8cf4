// fixture: static
// Grading fixture (service e2e): never terminates (CPU-step limit).
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
