import { createAddressSpace, createCpu, createPhysicalMemory } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import {
  FPSIMD_MAGIC,
  FRAME_UC,
  RT_SIGFRAME_SIZE,
  UC_MCONTEXT,
  restoreMachineContext,
  saveMachineContext,
} from './frame';

function cpu() {
  return createCpu(createAddressSpace(createPhysicalMemory(1 << 20)));
}

describe('aarch64 rt_sigframe layout', () => {
  it('has the kernel sizes: siginfo 128, ucontext 4560, sigcontext at ucontext+176', () => {
    expect(RT_SIGFRAME_SIZE).toBe(4688);
    expect(FRAME_UC).toBe(128);
    expect(UC_MCONTEXT).toBe(176);
  });
  it('stores x0-x30, sp, pc, pstate and an fpsimd_context record at the Linux offsets', () => {
    const c = cpu();
    for (let i = 0; i < 31; i++) c.setX(i, BigInt(i) * 0x1000000001n);
    c.sp = 0x7ff0 as typeof c.sp;
    c.pc = 0x400123 as typeof c.pc;
    c.nzcv = 0x60000000;
    c.fpsr = 0x10;
    c.fpcr = 0x400000;
    c.setV(
      3,
      Uint8Array.from({ length: 16 }, (_, i) => i + 1),
    );
    const f = new Uint8Array(RT_SIGFRAME_SIZE);
    saveMachineContext(c, f, 0xdead);
    const v = new DataView(f.buffer);
    const mc = 128 + 176;
    expect(v.getBigUint64(mc, true)).toBe(0xdeadn); // fault_address
    expect(v.getBigUint64(mc + 8 + 5 * 8, true)).toBe(5n * 0x1000000001n); // regs[5]
    expect(v.getBigUint64(mc + 256, true)).toBe(0x7ff0n); // sp
    expect(v.getBigUint64(mc + 264, true)).toBe(0x400123n); // pc
    expect(v.getBigUint64(mc + 272, true)).toBe(0x60000000n); // pstate
    expect(v.getUint32(mc + 288, true)).toBe(FPSIMD_MAGIC);
    expect(v.getUint32(mc + 292, true)).toBe(528);
    expect(v.getUint32(mc + 296, true)).toBe(0x10); // fpsr
    expect(v.getUint32(mc + 300, true)).toBe(0x400000); // fpcr
    expect(f[mc + 304 + 3 * 16]).toBe(1); // vregs[3] byte 0
    expect(v.getUint32(mc + 288 + 528, true)).toBe(0); // terminating null record
  });
  it('restores every register, and refuses frames with privileged pstate bits', () => {
    const a = cpu();
    for (let i = 0; i < 31; i++) a.setX(i, 0x123456789abcdef0n ^ BigInt(i));
    a.sp = 0x8000 as typeof a.sp;
    a.pc = 0x401000 as typeof a.pc;
    a.nzcv = 0x90000000 | 0;
    a.setV(31, new Uint8Array(16).fill(0xab));
    const f = new Uint8Array(RT_SIGFRAME_SIZE);
    saveMachineContext(a, f, 0);
    const b = cpu();
    expect(restoreMachineContext(b, f)).toBe(true);
    for (let i = 0; i < 31; i++) expect(b.getX(i)).toBe(a.getX(i));
    expect(b.sp).toBe(0x8000);
    expect(b.pc).toBe(0x401000);
    expect(b.nzcv >>> 0).toBe(0x90000000);
    expect([...b.getV(31)]).toEqual(new Array(16).fill(0xab));
    new DataView(f.buffer).setBigUint64(128 + 176 + 272, 0x3c5n, true); // EL1h
    expect(restoreMachineContext(cpu(), f)).toBe(false);
  });
});
