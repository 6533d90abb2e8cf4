import { describe, expect, it } from 'vitest';
import { buildGuest, runLichen, runQemu } from './guest-runner';

const PROGRAMS = [
  'cpu_hello',
  'cpu_intmath',
  'cpu_int128',
  'cpu_qsort',
  'cpu_setjmp',
  'cpu_strings',
  'cpu_printf',
  'cpu_atomics',
];
const OPTS = ['-O0', '-O2', '-O3'] as const;

describe('static guest programs match qemu-aarch64-static', () => {
  for (const name of PROGRAMS) {
    for (const opt of OPTS) {
      it(`${name} ${opt}`, () => {
        const bin = buildGuest(name, opt);
        const want = runQemu(bin);
        const got = runLichen(bin);
        expect(got.error).toBeUndefined();
        expect(got.stdout).toBe(want.stdout);
        expect(got.exitCode).toBe(want.exitCode);
      });
    }
  }

  // The same programs with the block compiler off: the interpreter alone must agree too.
  for (const name of ['cpu_intmath', 'cpu_qsort', 'cpu_setjmp']) {
    it(`${name} -O2 (interpreter only)`, () => {
      const bin = buildGuest(name, '-O2');
      const want = runQemu(bin);
      const got = runLichen(bin, [], { onCpu: (cpu) => (cpu.jit = false) });
      expect(got.error).toBeUndefined();
      expect(got.stdout).toBe(want.stdout);
      expect(got.exitCode).toBe(want.exitCode);
    });
  }
});
