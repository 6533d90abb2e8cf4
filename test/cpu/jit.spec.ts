import { StopReason } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { runAsm } from './asm';

// A loop that walks x1 upwards 8 bytes at a time until it leaves the data area and faults.
const WALK = ['mov x1, #0x40000', 'mov x2, #0', '1: ldr x3, [x1], #8', 'add x2, x2, x3', 'add x2, x2, #1', 'b 1b'].join(
  '\n',
);

describe('block compiler', () => {
  it('a fault inside a compiled block retires exactly the instructions before it', () => {
    const jit = runAsm(WALK, {}, 1e7, { jit: true });
    const interp = runAsm(WALK, {}, 1e7, { jit: false });
    expect(jit.reason).toBe(StopReason.Fault);
    expect(interp.reason).toBe(StopReason.Fault);
    expect(jit.cpu.retired).toBe(interp.cpu.retired);
    expect(jit.cpu.retired).toBe(2 + 1024 * 4);
    expect(jit.cpu.pc).toBe(interp.cpu.pc);
    expect(jit.cpu.getX(1)).toBe(0x42000n);
    expect(jit.cpu.getX(2)).toBe(1024n);
  });

  it('compiled direct branches (B, B.cond x16, CBZ/CBNZ W/X, TBZ/TBNZ) decide as the interpreter', () => {
    // Each test is a 20-pass loop (so its block is compiled) whose block ends in the branch;
    // x10 folds in every decision, in order.
    const CONDS = ['eq', 'ne', 'cs', 'cc', 'mi', 'pl', 'vs', 'vc', 'hi', 'ls', 'ge', 'lt', 'gt', 'le', 'al', 'nv'];
    const tests = [
      ...CONDS.map((c) => ['cmp x1, x2', `b.${c} `]),
      ...['cbz x3,', 'cbz w3,', 'cbnz x3,', 'cbnz w3,'].map((b) => ['add x9, x9, #0', b]),
      ...[0, 31, 32, 63].flatMap((bit) => [
        ['add x9, x9, #0', `tbz x3, #${bit},`],
        ['add x9, x9, #0', `tbnz x3, #${bit},`],
      ]),
    ];
    const lines: string[] = [];
    tests.forEach(([first, branch], i) => {
      lines.push(
        `mov x20, #20`,
        `t${i}: ${first}`,
        `${branch} y${i}`,
        `add x10, x10, #${i + 1}`,
        `b n${i}`,
        `y${i}: add x10, x10, x10, lsl #1`,
        `n${i}: subs x20, x20, #1`,
        `b.ne t${i}`,
      );
    });
    lines.push('brk #0');
    const src = lines.join('\n');
    const inputs: [bigint, bigint, bigint][] = [
      [0n, 0n, 0n],
      [1n, 2n, 1n],
      [2n, 1n, 0x1_0000_0000n],
      [0x8000_0000_0000_0000n, 1n, 0x8000_0000n],
      [-1n, 1n, 0x8000_0000_0000_0000n],
      [1n, -1n, -1n],
      [0x7fff_ffff_ffff_ffffn, -1n, 0xffff_fffe_0000_0000n],
    ];
    for (const [a, b, c] of inputs) {
      const regs = { 1: a, 2: b, 3: c };
      const jit = runAsm(src, regs, 1e7, { jit: true });
      const interp = runAsm(src, regs, 1e7, { jit: false });
      expect(jit.reason).toBe(StopReason.Breakpoint);
      expect(interp.reason).toBe(StopReason.Breakpoint);
      expect(jit.cpu.retired).toBe(interp.cpu.retired);
      expect(jit.cpu.getX(10)).toBe(interp.cpu.getX(10));
      expect(jit.cpu.nzcv).toBe(interp.cpu.nzcv);
    }
  });

  it('never runs past the budget: every budget gives the interpreter state', () => {
    for (const budget of [1, 5, 17, 63, 64, 65, 200, 1001]) {
      const a = runAsm(WALK, {}, budget, { jit: true });
      const b = runAsm(WALK, {}, budget, { jit: false });
      expect(a.reason).toBe(StopReason.Budget);
      expect(a.cpu.retired).toBe(budget);
      expect(a.cpu.pc).toBe(b.cpu.pc);
      expect(a.cpu.getX(1)).toBe(b.cpu.getX(1));
      expect(a.cpu.getX(2)).toBe(b.cpu.getX(2));
    }
  });

  it('code rewritten by a store runs the new instructions (compiled block dropped)', () => {
    // Call f 20 times (hot, compiled), then patch f's first instruction and call again.
    const src = [
      'mov x5, #20',
      '1: bl f',
      'subs x5, x5, #1',
      'b.ne 1b',
      'ldr w6, newinsn',
      'adr x7, f',
      'str w6, [x7]',
      'bl f',
      'brk #0',
      'f: add x0, x0, #1',
      'ret',
      'newinsn: add x0, x0, #100',
    ].join('\n');
    const { cpu, reason } = runAsm(src, {}, 1e6, { writableCode: true });
    expect(reason).toBe(StopReason.Breakpoint);
    expect(cpu.getX(0)).toBe(120n);
  });

  it('an undefined instruction inside a hot block reports its word and PC', () => {
    const src = ['mov x1, #30', '1: subs x1, x1, #1', 'b.ne 1b', 'mov x2, #1', '.inst 0x00000000'].join('\n');
    const { cpu, reason } = runAsm(src);
    expect(reason).toBe(StopReason.Undefined);
    expect(cpu.pc).toBe(0x10010);
    expect(cpu.retired).toBe(1 + 60 + 1);
  });
});
