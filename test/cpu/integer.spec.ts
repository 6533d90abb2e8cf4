import { StopReason } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { runAsm, sx } from './asm';

const M64 = (1n << 64n) - 1n;
const u = (v: bigint): bigint => v & M64;
const nzcv = (n: number, z: number, c: number, v: number): number =>
  ((n << 31) | (z << 30) | (c << 29) | (v << 28)) >>> 0;

describe('integer data processing', () => {
  it('ADDS/SUBS set NZCV on every overflow case (64 and 32 bit)', () => {
    const cases: [string, bigint, bigint, bigint, number][] = [
      ['adds x0, x1, x2', 0x7fffffffffffffffn, 1n, 0x8000000000000000n, nzcv(1, 0, 0, 1)],
      ['adds x0, x1, x2', -1n, 1n, 0n, nzcv(0, 1, 1, 0)],
      ['adds x0, x1, x2', 0x8000000000000000n, 0x8000000000000000n, 0n, nzcv(0, 1, 1, 1)],
      ['subs x0, x1, x2', 0n, 1n, M64, nzcv(1, 0, 0, 0)],
      ['subs x0, x1, x2', 5n, 5n, 0n, nzcv(0, 1, 1, 0)],
      ['subs x0, x1, x2', 0x8000000000000000n, 1n, 0x7fffffffffffffffn, nzcv(0, 0, 1, 1)],
      ['adds w0, w1, w2', 0x7fffffffn, 1n, 0x80000000n, nzcv(1, 0, 0, 1)],
      ['adds w0, w1, w2', 0xffffffffn, 1n, 0n, nzcv(0, 1, 1, 0)],
      ['subs w0, w1, w2', 0x80000000n, 1n, 0x7fffffffn, nzcv(0, 0, 1, 1)],
      ['subs w0, w1, w2', 0x100000000n, 1n, 0xffffffffn, nzcv(1, 0, 0, 0)],
    ];
    for (const [op, a, b, r, f] of cases) {
      const { cpu, reason } = runAsm(`${op}\nbrk #0`, { 1: a, 2: b });
      expect(reason, op).toBe(StopReason.Breakpoint);
      expect(cpu.getX(0), `${op} ${a} ${b}`).toBe(u(r));
      expect(cpu.nzcv.toString(16), `${op} ${a} ${b}`).toBe(f.toString(16));
    }
  });

  it('ADC/SBC chain carries through 128-bit arithmetic', () => {
    const { cpu } = runAsm('adds x0, x1, x3\nadc x2, x2, x4\nsubs x5, x1, x3\nsbc x6, x2, x4\nbrk #0', {
      1: -1n,
      2: 5n,
      3: 1n,
      4: 7n,
    });
    expect(cpu.getX(0)).toBe(0n);
    expect(cpu.getX(2)).toBe(13n);
    expect(cpu.getX(5)).toBe(u(-2n));
    expect(cpu.getX(6)).toBe(6n);
  });

  it('variable shifts use the amount modulo the register width', () => {
    const { cpu } = runAsm(
      'lsl x0, x1, x2\nlsr x3, x1, x2\nasr x4, x5, x6\nror x7, x1, x6\nlsl w8, w1, w9\nasr w10, w5, w9\nbrk #0',
      { 1: 0x8000000000000001n, 2: 64n, 5: -8n, 6: 65n, 9: 33n },
    );
    expect(cpu.getX(0)).toBe(0x8000000000000001n);
    expect(cpu.getX(3)).toBe(0x8000000000000001n);
    expect(sx(cpu, 4)).toBe(-4n);
    expect(cpu.getX(7)).toBe(0xc000000000000000n);
    expect(cpu.getX(8)).toBe(2n);
    expect(cpu.getX(10)).toBe(0xfffffffcn);
  });

  it('division by zero gives 0 and INT_MIN / -1 gives INT_MIN', () => {
    const { cpu } = runAsm(
      'sdiv x0, x1, x2\nudiv x3, x1, x2\nsdiv x4, x1, x5\nsdiv w6, w7, w5\nudiv w8, w7, w2\nsdiv x9, x10, x11\nudiv x12, x13, x14\nbrk #0',
      { 1: 0x8000000000000000n, 2: 0n, 5: -1n, 7: 0x80000000n, 10: -7n, 11: 2n, 13: -1n, 14: 3n },
    );
    expect(cpu.getX(0)).toBe(0n);
    expect(cpu.getX(3)).toBe(0n);
    expect(cpu.getX(4)).toBe(0x8000000000000000n);
    expect(cpu.getX(6)).toBe(0x80000000n);
    expect(cpu.getX(8)).toBe(0n);
    expect(sx(cpu, 9)).toBe(-3n);
    expect(cpu.getX(12)).toBe(M64 / 3n);
  });

  it('multiplies: MUL, MADD/MSUB, SMULH/UMULH, SMADDL/UMADDL/SMSUBL', () => {
    const a = 0xfedcba9876543210n;
    const b = 0x0123456789abcdefn;
    const { cpu } = runAsm(
      'mul x0, x1, x2\numulh x3, x1, x2\nsmulh x4, x1, x2\nmsub x5, x1, x2, x6\nsmaddl x7, w1, w2, x6\numaddl x8, w1, w2, x6\nsmsubl x9, w1, w2, x6\nsmulh x10, x1, x1\nbrk #0',
      { 1: a, 2: b, 6: 1000n },
    );
    const sa = BigInt.asIntN(64, a);
    expect(cpu.getX(0)).toBe(u(a * b));
    expect(cpu.getX(3)).toBe((a * b) >> 64n);
    expect(sx(cpu, 4)).toBe((sa * b) >> 64n);
    expect(cpu.getX(5)).toBe(u(1000n - a * b));
    const wa = BigInt.asIntN(32, a);
    const wb = BigInt.asIntN(32, b);
    expect(sx(cpu, 7)).toBe(1000n + wa * wb);
    expect(cpu.getX(8)).toBe(u(1000n + (a & 0xffffffffn) * (b & 0xffffffffn)));
    expect(sx(cpu, 9)).toBe(1000n - wa * wb);
    expect(cpu.getX(10)).toBe(u((sa * sa) >> 64n));
  });

  it('bitfield, extract and bit operations', () => {
    const { cpu } = runAsm(
      [
        'ubfx x0, x1, #4, #8',
        'sbfx x2, x1, #60, #4',
        'bfi x3, x1, #8, #16',
        'ubfiz w4, w1, #24, #8',
        'extr x5, x1, x6, #12',
        'clz x7, x6',
        'cls x8, x9',
        'rbit x10, x1',
        'rev x11, x1',
        'rev16 w12, w1',
        'cls w13, w9',
        'sxtb x14, w1',
        'sxth w15, w1',
        'sxtw x16, w17',
        'brk #0',
      ].join('\n'),
      { 1: 0xf123456789abcdefn, 3: 0x1111111111111111n, 6: 0x00000000000000ffn, 9: -2n, 17: 0x80000000n },
    );
    expect(cpu.getX(0)).toBe(0xden);
    expect(sx(cpu, 2)).toBe(-1n);
    expect(cpu.getX(3)).toBe(0x1111111111cdef11n);
    expect(cpu.getX(4)).toBe(0xef000000n);
    expect(cpu.getX(5)).toBe(0xdef0000000000000n);
    expect(cpu.getX(7)).toBe(56n);
    expect(cpu.getX(8)).toBe(62n);
    expect(cpu.getX(10)).toBe(0xf7b3d591e6a2c48fn);
    expect(cpu.getX(11)).toBe(0xefcdab89674523f1n);
    expect(cpu.getX(12)).toBe(0xab89efcdn);
    expect(cpu.getX(13)).toBe(30n);
    expect(sx(cpu, 14)).toBe(-17n);
    expect(cpu.getX(15)).toBe(0xffffcdefn);
    expect(sx(cpu, 16)).toBe(-0x80000000n);
  });

  it('logical immediates, move wide, conditional select/compare', () => {
    const { cpu } = runAsm(
      [
        'mov x0, #0x5555555555555555',
        'and x1, x2, #0xff00ff00ff00ff00',
        'orr w3, wzr, #0x1e',
        'movz x4, #0x1234, lsl #48',
        'movk x4, #0xbeef',
        'movn w5, #0',
        'cmp x2, #5',
        'csel x6, x2, x3, hi',
        'csinc x7, x2, x3, lo',
        'csneg x8, x2, x3, eq',
        'ccmp x2, #10, #4, ne',
        'cset x9, eq',
        'brk #0',
      ].join('\n'),
      { 2: 0x123456789n },
    );
    expect(cpu.getX(0)).toBe(0x5555555555555555n);
    expect(cpu.getX(1)).toBe(0x123456789n & 0xff00ff00ff00ff00n);
    expect(cpu.getX(3)).toBe(0x1en);
    expect(cpu.getX(4)).toBe(0x123400000000beefn);
    expect(cpu.getX(5)).toBe(0xffffffffn);
    expect(cpu.getX(6)).toBe(0x123456789n);
    expect(cpu.getX(7)).toBe(0x1fn);
    expect(sx(cpu, 8)).toBe(-0x1en);
    expect(cpu.getX(9)).toBe(0n);
  });

  it('CRC32 and CRC32C match the reference polynomials', () => {
    const crc = (poly: number, init: number, bytes: number[]): bigint => {
      let c = init >>> 0;
      for (const b of bytes) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
      }
      return BigInt(c >>> 0);
    };
    const { cpu } = runAsm('crc32x w0, w1, x2\ncrc32cb w3, w1, w4\ncrc32h w5, w1, w4\nbrk #0', {
      1: 0xffffffffn,
      2: 0x0807060504030201n,
      4: 0x1234n,
    });
    expect(cpu.getX(0)).toBe(crc(0xedb88320, -1, [1, 2, 3, 4, 5, 6, 7, 8]));
    expect(cpu.getX(3)).toBe(crc(0x82f63b78, -1, [0x34]));
    expect(cpu.getX(5)).toBe(crc(0xedb88320, -1, [0x34, 0x12]));
  });

  it('branches: BL/RET, CBZ, TBNZ, B.cond loops count exactly', () => {
    const { cpu, reason } = runAsm(
      [
        'mov x0, #0',
        'mov x1, #10',
        '1: add x0, x0, #3',
        'subs x1, x1, #1',
        'b.ne 1b',
        'bl f',
        'tbnz x0, #40, 2f',
        'brk #1',
        '2: brk #0',
        'f: orr x0, x0, #0x10000000000',
        'ret',
      ].join('\n'),
    );
    expect(reason).toBe(StopReason.Breakpoint);
    expect(cpu.svcImmediate).toBe(0);
    expect(cpu.getX(0)).toBe(0x1000000001en);
    expect(cpu.retired).toBe(2 + 30 + 4);
  });

  it('system registers: NZCV, TPIDR_EL0, CNTVCT_EL0, DCZID_EL0, MIDR_EL1', () => {
    const { cpu } = runAsm(
      'msr nzcv, x1\nmrs x0, nzcv\nmsr tpidr_el0, x2\nmrs x3, tpidr_el0\nmrs x4, cntvct_el0\nmrs x5, dczid_el0\nmrs x6, midr_el1\nmrs x7, id_aa64isar0_el1\nmrs x8, cntfrq_el0\nbrk #0',
      { 1: 0xa0000000n, 2: 0x123456789abcn },
    );
    expect(cpu.getX(0)).toBe(0xa0000000n);
    expect(cpu.getX(3)).toBe(0x123456789abcn);
    expect(cpu.getX(4)).toBe(12345n);
    expect(cpu.getX(5)).toBe(4n);
    expect(cpu.getX(6)).toBe(0x413fd0c1n);
    expect(cpu.getX(7)).toBe(0x210000n);
    expect(cpu.getX(8)).toBe(1000n);
    expect(cpu.tpidrEl0).toBe(0x123456789abcn);
  });

  it('an unallocated encoding stops as Undefined with PC at it and nothing retired after', () => {
    const { cpu, reason } = runAsm('mov x0, #1\n.inst 0x00000000\nmov x0, #2\nbrk #0');
    expect(reason).toBe(StopReason.Undefined);
    expect(cpu.pc).toBe(0x10004);
    expect(cpu.undefinedInsn).toBe(0);
    expect(cpu.retired).toBe(1);
    expect(cpu.getX(0)).toBe(1n);
  });

  it('SVC stops with the immediate and PC after it; budget stops are exact', () => {
    const r = runAsm('mov x0, #1\nsvc #0x42\nbrk #0');
    expect(r.reason).toBe(StopReason.Svc);
    expect(r.cpu.svcImmediate).toBe(0x42);
    expect(r.cpu.pc).toBe(0x10008);
    expect(r.cpu.retired).toBe(2);
    const b = runAsm('1: add x0, x0, #1\nb 1b', {}, 1001);
    expect(b.reason).toBe(StopReason.Budget);
    expect(b.cpu.retired).toBe(1001);
    expect(b.cpu.getX(0)).toBe(501n);
  });
});
