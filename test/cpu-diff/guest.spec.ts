/**
 * The FP/SIMD guest program (test/guest/cpu_fp_simd.c) at -O0, -O2 and -O3 under Lichen
 * (through the CPU tests' static-ELF runner and syscall shim) and under qemu: same output.
 */
import { describe, expect, it } from 'vitest';
import { buildGuest, runLichen, runQemu } from '../cpu/guest-runner';

describe('cpu_fp_simd guest program', () => {
  for (const opt of ['-O0', '-O2', '-O3'] as const) {
    it(`prints the same as qemu at ${opt}`, () => {
      const bin = buildGuest('cpu_fp_simd', opt);
      const ref = runQemu(bin);
      expect(ref.exitCode).toBe(0);
      const got = runLichen(bin);
      expect(got.error).toBeUndefined();
      expect(got.stdout).toBe(ref.stdout);
      expect(got.exitCode).toBe(ref.exitCode);
    }, 120_000);
  }
});
