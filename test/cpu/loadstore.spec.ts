import { StopReason, guestAddr } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { DATA, runAsm, sx } from './asm';

const D = DATA;

describe('loads and stores', () => {
  it('every addressing mode and size, signed and unsigned', () => {
    const { cpu, reason } = runAsm(
      [
        'mov x1, #0x40000',
        'movz x2, #0x8182, lsl #48',
        'movk x2, #0x8384, lsl #32',
        'movk x2, #0x8586, lsl #16',
        'movk x2, #0x8788',
        'str x2, [x1]',
        'ldrsb x3, [x1]',
        'ldrsh w4, [x1, #2]',
        'ldrsw x5, [x1, #4]',
        'ldrb w6, [x1, #7]',
        'ldur x7, [x1, #1]',
        'mov x8, #2',
        'ldrh w9, [x1, x8, lsl #1]',
        'mov w10, #-16',
        'add x11, x1, #16',
        'ldr x12, [x11, w10, sxtw]',
        'str x2, [x11, #8]!',
        'ldr w13, [x11], #-4',
        'strh w2, [x1, #0x100]',
        'ldr x14, lit',
        'ldp w15, w16, [x1]',
        'ldpsw x17, x18, [x1]',
        'stp x2, x1, [sp, #-16]!',
        'ldp x19, x20, [sp], #16',
        'brk #0',
        '.align 3',
        'lit: .quad 0x1122334455667788',
      ].join('\n'),
    );
    expect(reason).toBe(StopReason.Breakpoint);
    expect(sx(cpu, 3)).toBe(-0x78n);
    expect(cpu.getX(4)).toBe(0xffff8586n);
    expect(sx(cpu, 5)).toBe(-0x7e7d7c7cn);
    expect(cpu.getX(6)).toBe(0x81n);
    expect(cpu.getX(7)).toBe(0x0081828384858687n);
    expect(cpu.getX(9)).toBe(0x8384n);
    expect(cpu.getX(12)).toBe(0x8182838485868788n);
    expect(cpu.getX(11)).toBe(BigInt(D + 24 - 4));
    expect(cpu.getX(13)).toBe(0x85868788n);
    expect(cpu.getX(14)).toBe(0x1122334455667788n);
    expect(cpu.getX(15)).toBe(0x85868788n);
    expect(cpu.getX(16)).toBe(0x81828384n);
    expect(sx(cpu, 18)).toBe(-0x7e7d7c7cn);
    expect(cpu.getX(19)).toBe(0x8182838485868788n);
    expect(cpu.getX(20)).toBe(BigInt(D));
    expect(cpu.sp).toBe(0x80000);
  });

  it('page-crossing unaligned loads and stores', () => {
    const { cpu } = runAsm(
      ['str x2, [x1]', 'ldr x3, [x1]', 'ldr w4, [x1, #2]', 'ldp x5, x6, [x1, #-8]', 'brk #0'].join('\n'),
      { 1: 0x40ffd, 2: 0x0102030405060708n },
    );
    expect(cpu.getX(3)).toBe(0x0102030405060708n);
    expect(cpu.getX(4)).toBe(0x03040506n);
    expect(cpu.getX(6)).toBe(0x0102030405060708n);
  });

  it('a faulting store pair changes neither memory, registers nor the base (precise)', () => {
    // x1 points 8 bytes below the end of the data area: the second half of STP faults.
    const { cpu, reason, as } = runAsm(['mov x0, #7', 'stp x2, x3, [x1, #8]!', 'mov x0, #9', 'brk #0'].join('\n'), {
      1: D + 0x2000 - 16,
      2: 0x1111n,
      3: 0x2222n,
    });
    expect(reason).toBe(StopReason.Fault);
    expect(cpu.lastFault).toMatchObject({ pc: 0x10004, addr: D + 0x2000, access: 'write', cause: 'not-mapped' });
    expect(cpu.getX(1)).toBe(BigInt(D + 0x2000 - 16));
    expect(cpu.getX(0)).toBe(7n);
    expect(cpu.retired).toBe(1);
    const b = new Uint8Array(8);
    as.read(guestAddr(D + 0x2000 - 8), b);
    expect([...b]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('a faulting load pair leaves both destination registers unchanged', () => {
    const { cpu, reason } = runAsm('ldp x2, x3, [x1]\nbrk #0', { 1: D + 0x2000 - 8, 2: 5n, 3: 6n });
    expect(reason).toBe(StopReason.Fault);
    expect(cpu.getX(2)).toBe(5n);
    expect(cpu.getX(3)).toBe(6n);
  });

  it('exclusive monitor: STXR succeeds once, fails after a store or clearExclusive', () => {
    const { cpu } = runAsm(
      [
        'mov x1, #0x40000',
        'ldxr x2, [x1]',
        'add x2, x2, #5',
        'stxr w3, x2, [x1]', // succeeds: w3 = 0
        'stxr w4, x2, [x1]', // monitor cleared: fails
        'ldaxr x2, [x1]',
        'str xzr, [x1]', // a store to the reserved granule clears it
        'stlxr w5, x2, [x1]',
        'ldxp x6, x7, [x1]',
        'stxp w8, x1, x1, [x1]',
        'ldr x9, [x1]',
        'ldxr w10, [x1]',
        'brk #0',
      ].join('\n'),
    );
    expect(cpu.getX(3)).toBe(0n);
    expect(cpu.getX(4)).toBe(1n);
    expect(cpu.getX(5)).toBe(1n);
    expect(cpu.getX(8)).toBe(0n);
    expect(cpu.getX(9)).toBe(0x40000n);
    cpu.clearExclusive();
    cpu.pc = guestAddr(0x10000 + 4 * 3);
    cpu.setXNumber(1, 0x40000);
    cpu.run(1);
    expect(cpu.getX(3)).toBe(1n);
  });

  it('misaligned exclusives and atomics fault with cause alignment', () => {
    const r = runAsm('ldxr x2, [x1]\nbrk #0', { 1: D + 4 });
    expect(r.reason).toBe(StopReason.Fault);
    expect(r.cpu.lastFault?.cause).toBe('alignment');
    const a = runAsm('ldadd w2, w3, [x1]\nbrk #0', { 1: D + 2 });
    expect(a.cpu.lastFault?.cause).toBe('alignment');
  });

  it('LSE atomics return the old value and store the new one', () => {
    const { cpu, as } = runAsm(
      [
        'mov x1, #0x40000',
        'mov x2, #10',
        'str x2, [x1]',
        'mov x3, #5',
        'ldadd x3, x4, [x1]', // mem 15, x4 10
        'mov x5, #-1',
        'ldsmax x5, x6, [x1]', // mem 15, x6 15
        'ldumax x5, x7, [x1]', // mem -1, x7 15
        'mov x8, #3',
        'ldclral x8, x9, [x1]', // mem -4
        'swpb w3, w10, [x1]', // byte0 = 5, w10 = 0xfc
        'ldeorh w3, w11, [x1]',
        'mov x12, #0',
        'mov x13, #99',
        'cas x12, x13, [x1]', // fails: x12 = old
        'mov x14, x12',
        'casal x14, x13, [x1]', // succeeds
        'ldr x15, [x1]',
        'mov x16, #1',
        'mov x17, #2',
        'mov x18, #99',
        'mov x19, #0',
        'caspal x18, x19, x16, x17, [x1]', // compare (99,0) with (99, mem[8]=0) -> store (1,2)
        'ldp x20, x21, [x1]',
        'ldsminb w5, w22, [x1]',
        'add x24, x1, #1',
        'ldsetb w5, w23, [x24]',
        'brk #0',
      ].join('\n'),
    );
    expect(cpu.getX(4)).toBe(10n);
    expect(cpu.getX(6)).toBe(15n);
    expect(cpu.getX(7)).toBe(15n);
    expect(sx(cpu, 9)).toBe(-1n);
    expect(cpu.getX(10)).toBe(0xfcn);
    expect(cpu.getX(11)).toBe(0xff05n);
    expect(sx(cpu, 12)).toBe(-256n);
    expect(sx(cpu, 14)).toBe(-256n);
    expect(cpu.getX(15)).toBe(99n);
    expect(cpu.getX(20)).toBe(1n);
    expect(cpu.getX(21)).toBe(2n);
    expect(cpu.getX(22)).toBe(1n);
    const b = new Uint8Array(2);
    as.read(guestAddr(D), b);
    expect(b[0]).toBe(0xff);
    expect(cpu.getX(23)).toBe(0n);
    expect(b[1]).toBe(0xff);
  });

  it('DC ZVA zeroes the aligned 64-byte block', () => {
    const { as } = runAsm(
      [
        'mov x1, #0x40000',
        'mov x2, #-1',
        'stp x2, x2, [x1, #64]',
        'stp x2, x2, [x1, #128]',
        'add x3, x1, #70',
        'dc zva, x3',
        'brk #0',
      ].join('\n'),
    );
    const b = new Uint8Array(192);
    as.read(guestAddr(D), b);
    expect(b.subarray(64, 128).every((v) => v === 0)).toBe(true);
    expect(b[128]).toBe(0xff);
  });

  it('self-modifying code: a store to a decoded page drops the decoded instruction', () => {
    const { cpu, reason } = runAsm(
      [
        'b 1f',
        'nop',
        'nop',
        'nop',
        'x: mov x0, #1',
        'ret',
        'nop',
        'nop',
        '1: bl x',
        'ldr w1, patch',
        'adr x2, x',
        'str w1, [x2]',
        'bl x',
        'brk #0',
        'patch: mov x0, #2',
      ].join('\n'),
    );
    // The code page is mapped read+exec; the store faults (W^X), proving writes are checked.
    expect(reason).toBe(StopReason.Fault);
    expect(cpu.getX(0)).toBe(1n);
  });
});

describe('exact 64-bit fault addresses (FaultInfo.addrHi/addrLo = base + offset modulo 2^64)', () => {
  const END = D + 0x2000; // first unmapped byte after the data area
  const cases: [string, string, Record<number, bigint | number>, bigint][] = [
    ['imm9 below zero', 'ldur x0, [x1, #-32]', { 1: 0x10 }, 0xfffffffffffffff0n],
    ['negative pointer (rounded as a double)', 'ldrb w0, [x1]', { 1: 0xfffffffffffffe7en }, 0xfffffffffffffe7en],
    ['imm12 carrying into the tag', 'ldr x0, [x1, #32]', { 1: 0x00fffffffffffff0n }, 0x0100000000000010n],
    ['imm12, non-canonical base above 2^53', 'ldr x0, [x1, #8]', { 1: 0x0123456789abcdefn }, 0x0123456789abcdf7n],
    [
      'tagged base keeps its tag',
      'str x0, [x1, #16]',
      { 1: 0x5a00000000000000n + BigInt(END) },
      0x5a00000000000010n + BigInt(END),
    ],
    ['pre-index, imprecise base', 'ldr x0, [x1, #-8]!', { 1: 0xa5ffffffffffff01n }, 0xa5fffffffffffef9n],
    ['post-index, imprecise base', 'ldr x0, [x1], #-8', { 1: 0xa5ffffffffffff01n }, 0xa5ffffffffffff01n],
    ['register offset wraps below zero', 'ldr x0, [x1, x2, lsl #3]', { 1: 0x10, 2: -4 }, 0xfffffffffffffff0n],
    [
      'register offset, tagged sum',
      'ldrh w0, [x1, w2, sxtw #1]',
      { 1: 0x7700000000001000n, 2: -0x800 },
      0x7700000000000000n,
    ],
    [
      'pair, second element faults',
      'ldp x3, x4, [x1, #8]',
      { 1: 0x3300000000000000n + BigInt(END - 16) },
      0x3300000000000000n + BigInt(END),
    ],
    ['pair, imprecise base', 'stp x3, x4, [x1, #-16]!', { 1: 0x00e0000000000001n }, 0x00dffffffffffff1n],
    [
      'straddling load faults on the next page',
      'ldr x0, [x1]',
      { 1: 0x4200000000000000n + BigInt(END - 4) },
      0x4200000000000000n + BigInt(END),
    ],
    ['exclusive, imprecise base', 'ldxr x0, [x1]', { 1: 0xfffffffffffffe80n }, 0xfffffffffffffe80n],
    ['SIMD structure, imprecise base', 'ld1 {v0.16b}, [x1]', { 1: 0xfedcba9876543210n }, 0xfedcba9876543210n],
    [
      'DC ZVA through a tagged pointer',
      'dc zva, x1',
      { 1: 0x1100000000000000n + BigInt(END + 0x48) },
      0x1100000000000000n + BigInt(END + 0x40),
    ],
  ];
  for (const [name, insn, regs, want] of cases) {
    it(`${name}: ${insn}`, () => {
      const { cpu, reason } = runAsm(['nop', insn, 'brk #0'].join('\n'), regs);
      expect(reason).toBe(StopReason.Fault);
      const f = cpu.lastFault!;
      expect(f.pc).toBe(0x10004);
      expect((BigInt(f.addrHi) << 32n) | BigInt(f.addrLo)).toBe(want);
      expect(f.addr).toBe(Number(want));
    });
  }

  it('the block tier reports the same exact address', () => {
    // x9 counts down: the first 9 passes load from the data area, the 10th (block compiled by
    // then) through the negative pointer in x2.
    const src = ['mov x9, #10', 'loop: subs x9, x9, #1', 'csel x3, x2, x1, eq', 'ldur x0, [x3, #-2]', 'b loop'];
    const { cpu, reason } = runAsm(src.join('\n'), { 1: D + 8, 2: 0xfffffffffffffe80n }, 1_000_000, { jit: true });
    expect(reason).toBe(StopReason.Fault);
    expect(cpu.retired).toBe(1 + 9 * 4 + 2);
    const f = cpu.lastFault!;
    expect((BigInt(f.addrHi) << 32n) | BigInt(f.addrLo)).toBe(0xfffffffffffffe7en);
  });

  it('DC ZVA ignores the top byte of a mapped address', () => {
    const { cpu, reason } = runAsm(['str x2, [x3]', 'dc zva, x1', 'ldr x0, [x3]', 'brk #0'].join('\n'), {
      1: 0x5500000000000000n + BigInt(D + 0x40),
      2: 0x1234n,
      3: D + 0x48,
    });
    expect(reason).toBe(StopReason.Breakpoint);
    expect(cpu.getX(0)).toBe(0n);
  });
});
