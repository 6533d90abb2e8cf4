import { describe, expect, it } from 'vitest';
import { PROT_EXEC, PROT_READ, PROT_WRITE, StopReason, guestAddr } from './api';
import { createAddressSpace, createCpu, createPhysicalMemory } from './cpu';
import { defaultDecoder } from './decode/dispatch';
import { PageCode } from './memory';

// Hand-encoded words (no assembler needed here).
const ADD_X0_X0_1 = 0x91000400; // add x0, x0, #1
const B_MINUS_4 = 0x17ffffff; // b .-4
const SVC_0 = 0xd4000001;
const LDR_X1_X2 = 0xf9400041; // ldr x1, [x2]
const MRS_X3_CNTVCT = 0xd53be043; // mrs x3, cntvct_el0

function machine(words: number[]) {
  const phys = createPhysicalMemory(1 << 20);
  const as = createAddressSpace(phys);
  as.mapAnonymous(guestAddr(0x1000), 0x1000, PROT_READ | PROT_EXEC);
  const code = new Uint8Array(new Uint32Array(words).buffer);
  expect(as.write(guestAddr(0x1000), code)).toBeNull();
  let stopper: (() => void) | undefined;
  const cpu = createCpu(as, {
    readCounter: () => {
      stopper?.();
      return 77;
    },
    counterFrequency: 1_000_000,
  });
  cpu.pc = guestAddr(0x1000);
  return { phys, as, cpu, setStopper: (f: () => void) => (stopper = f) };
}

describe('Cpu API', () => {
  it('register accessors round-trip 64-bit values, negatives and W views', () => {
    const { cpu } = machine([SVC_0]);
    cpu.setX(3, 0xfedcba9876543210n);
    expect(cpu.getX(3)).toBe(0xfedcba9876543210n);
    expect(cpu.getW(3)).toBe(0x76543210);
    cpu.setXNumber(4, -2);
    expect(cpu.getX(4)).toBe(0xfffffffffffffffen);
    expect(cpu.getW(4)).toBe(-2);
    cpu.setXNumber(5, 2 ** 40 + 5);
    expect(cpu.getXNumber(5)).toBe(2 ** 40 + 5);
    expect(cpu.getX(31)).toBe(0n);
    expect(() => cpu.setX(31, 1n)).toThrow(RangeError);
    cpu.sp = guestAddr(0x7fff_0000_1230);
    expect(cpu.sp).toBe(0x7fff_0000_1230);
    cpu.nzcv = 0x60000000;
    expect(cpu.nzcv).toBe(0x60000000);
    cpu.tpidrEl0 = 0x1234_5678_9abc_def0n;
    expect(cpu.tpidrEl0).toBe(0x1234_5678_9abc_def0n);
    const v = new Uint8Array(16).map((_, i) => i + 1);
    cpu.setV(7, v);
    expect([...cpu.getV(7)]).toEqual([...v]);
    cpu.fpcr = 0x03c00000;
    expect(cpu.fpcr).toBe(0x03c00000);
  });

  it('save/restore context brings back every register and clears the exclusive monitor', () => {
    const { cpu, as } = machine([SVC_0]);
    cpu.setX(0, 11n);
    cpu.setX(30, 0xabcdefn);
    cpu.sp = guestAddr(0x8000);
    cpu.nzcv = 0x90000000;
    cpu.setV(31, new Uint8Array(16).fill(9));
    cpu.tpidrEl0 = 42n;
    cpu.fpsr = 0x8000001f;
    const ctx = cpu.saveContext();
    cpu.setX(0, 0n);
    cpu.setX(30, 0n);
    cpu.sp = guestAddr(0);
    cpu.nzcv = 0;
    cpu.setV(31, new Uint8Array(16));
    cpu.tpidrEl0 = 0n;
    cpu.pc = guestAddr(0x5000);
    as.monitorAddr = 0x40000;
    cpu.restoreContext(ctx);
    expect(as.monitorAddr).toBe(-1);
    expect(cpu.getX(0)).toBe(11n);
    expect(cpu.getX(30)).toBe(0xabcdefn);
    expect(cpu.sp).toBe(0x8000);
    expect(cpu.nzcv).toBe(0x90000000);
    expect(cpu.getV(31)[15]).toBe(9);
    expect(cpu.tpidrEl0).toBe(42n);
    expect(cpu.fpsr).toBe(0x8000001f);
    expect(cpu.pc).toBe(0x1000);
  });

  it('run counts exactly, faults precisely, and totalRetired accumulates', () => {
    const { cpu, as } = machine([ADD_X0_X0_1, LDR_X1_X2, B_MINUS_4]);
    cpu.setXNumber(2, 0x1000);
    expect(cpu.run(10)).toBe(StopReason.Budget);
    expect(cpu.retired).toBe(10);
    expect(cpu.getX(0)).toBe(1n); // b .-4 loops over the load only
    cpu.setXNumber(2, 0x9000); // unmapped
    const r = cpu.run(100);
    expect(r).toBe(StopReason.Fault);
    expect(cpu.lastFault).toEqual({
      pc: 0x1004,
      addr: 0x9000,
      addrHi: 0,
      addrLo: 0x9000,
      access: 'read',
      cause: 'not-mapped',
    });
    expect(cpu.pc).toBe(0x1004);
    expect(cpu.totalRetired).toBe(10 + cpu.retired);
    as.mapAnonymous(guestAddr(0x9000), 0x1000, PROT_READ | PROT_WRITE);
    expect(cpu.run(2)).toBe(StopReason.Budget);
    expect(cpu.getX(1)).toBe(0n);
  });

  it('an instruction fetch from a non-executable page faults with access exec', () => {
    const { cpu, as } = machine([B_MINUS_4]);
    as.protect(guestAddr(0x1000), 0x1000, PROT_READ);
    expect(cpu.run(5)).toBe(StopReason.Fault);
    expect(cpu.lastFault).toMatchObject({ pc: 0x1000, addr: 0x1000, access: 'exec', cause: 'permission' });
    expect(cpu.retired).toBe(0);
  });

  it('requestStop from a host callback ends run after the current instruction', () => {
    const m = machine([MRS_X3_CNTVCT, ADD_X0_X0_1, B_MINUS_4]);
    m.setStopper(() => m.cpu.requestStop());
    expect(m.cpu.run(1000)).toBe(StopReason.Interrupted);
    expect(m.cpu.retired).toBe(1);
    expect(m.cpu.getX(3)).toBe(77n);
    expect(m.cpu.pc).toBe(0x1004);
  });

  it('switching address spaces runs the other space (fork + COW)', () => {
    const { cpu, as } = machine([LDR_X1_X2, SVC_0]);
    as.mapAnonymous(guestAddr(0x9000), 0x1000, PROT_READ | PROT_WRITE);
    as.write(guestAddr(0x9000), new Uint8Array([1]));
    const child = as.fork();
    child.write(guestAddr(0x9000), new Uint8Array([2]));
    cpu.setXNumber(2, 0x9000);
    cpu.addressSpace = child;
    expect(cpu.run(10)).toBe(StopReason.Svc);
    expect(cpu.getX(1)).toBe(2n);
    cpu.addressSpace = as;
    cpu.pc = guestAddr(0x1000);
    cpu.run(10);
    expect(cpu.getX(1)).toBe(1n);
  });

  it('invalidateCode drops decoded instructions the kernel rewrote', () => {
    const { cpu, as } = machine([ADD_X0_X0_1, SVC_0]);
    cpu.run(10);
    expect(cpu.getX(0)).toBe(1n);
    const q = as.query(guestAddr(0x1000))!;
    // The kernel writes through physical memory directly (e.g. a file page) and invalidates.
    new DataView(as.memory.bytes.buffer).setUint32(q.frame * 4096, 0x91000800, true); // add x0, x0, #2
    cpu.invalidateCode(guestAddr(0x1000), 4);
    cpu.pc = guestAddr(0x1000);
    cpu.run(10);
    expect(cpu.getX(0)).toBe(3n);
  });
  it('register-offset loads wrap the 64-bit address sum (a huge base plus a large index)', () => {
    // sed's table lookup: x22 = 0xfffdfffffff85f70, x27 = 0xaaaaaaad369f, ldr w0, [x22, x27, lsl #2]
    // must read 0xaaaaaaad39ec (mod 2^64), as qemu does.
    for (const [word, index, expected] of [
      [0xb8627820, 0xaaaaaaad369fn, 0x11223344n], // ldr w0, [x1, x2, lsl #2]
      [0xf8626820, 0x2aaaaaab4da7cn, 0x5566778811223344n], // ldr x0, [x1, x2]
      [0x38626820, 0x2aaaaaab4da7cn, 0x44n], // ldrb w0, [x1, x2]
    ] as const) {
      const { cpu, as } = machine([word, SVC_0]);
      as.mapAnonymous(guestAddr(0xaaaaaaad3000), 0x1000, PROT_READ | PROT_WRITE);
      const data = new Uint8Array([0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55]);
      expect(as.write(guestAddr(0xaaaaaaad39ec), data)).toBeNull();
      cpu.setX(1, 0xfffdfffffff85f70n);
      cpu.setX(2, index);
      expect(cpu.run(10)).toBe(StopReason.Svc);
      expect(cpu.getX(0)).toBe(expected);
    }
  });
});

describe('shared decoded code of filled pages', () => {
  // loop: add x0, x0, #1; sub x1, x1, #1; cbnz x1, loop; svc #0
  const LOOP = [ADD_X0_X0_1, 0xd1000421, 0xb5ffffc1, SVC_0];
  const shared = new PageCode();
  const decoder = defaultDecoder();

  /** A VM whose code page is filled from `LOOP` and linked to `shared`; runs it 20 times round. */
  function vm(change?: (as: ReturnType<typeof createAddressSpace>) => void) {
    const phys = createPhysicalMemory(1 << 20);
    const as = createAddressSpace(phys);
    as.filler = (page, dst, at) => {
      dst.set(new Uint8Array(new Uint32Array(LOOP).buffer), at);
      return page === 0x1000 ? shared : undefined;
    };
    as.mapFilled(guestAddr(0x1000), 0x1000, PROT_READ | PROT_EXEC);
    as.ld32(0x1000); // filled (and linked), not yet executed
    const frame = as.query(guestAddr(0x1000))!.frame;
    change?.(as);
    const cpu = createCpu(as);
    cpu.pc = guestAddr(0x1000);
    cpu.setX(1, 20n);
    expect(cpu.run(1000)).toBe(StopReason.Svc);
    const x0 = cpu.getX(0);
    return { phys, as, frame, x0 };
  }

  it('start from what earlier VMs decoded and compiled at that address', () => {
    const first = vm();
    expect(first.x0).toBe(20n);
    first.phys.retire(); // the page's first frame: not worth tables yet
    expect(shared.code).toBeNull();
    const second = vm();
    expect(second.x0).toBe(20n);
    second.phys.retire(); // gives back what it decoded and compiled
    expect(shared.code?.[0]).toBe(decoder.decode(ADD_X0_X0_1));
    expect(shared.starts).toEqual([0]);
    // the next VM's frame starts with the shared tables
    const phys = createPhysicalMemory(1 << 20);
    const as = createAddressSpace(phys);
    as.filler = (_page, dst, at) => {
      dst.set(new Uint8Array(new Uint32Array(LOOP).buffer), at);
      return shared;
    };
    as.mapFilled(guestAddr(0x1000), 0x1000, PROT_READ | PROT_EXEC);
    as.ld32(0x1000);
    const frame = as.query(guestAddr(0x1000))!.frame;
    expect([...phys.codeOf(frame).subarray(0, 4)]).toEqual(LOOP.map((w) => decoder.decode(w)));
    expect(phys.blocksOf(frame)[0]).toBe(shared.blocks?.[0]);
    phys.retire();
  });

  it('never take from or give back to them once the frame changed or moved', () => {
    const changed = vm((as) => as.write(guestAddr(0x1000), new Uint8Array([0x00, 0x08]))); // add x0, x0, #2
    expect(changed.x0).toBe(40n);
    changed.phys.retire();
    expect(shared.code?.[0]).toBe(decoder.decode(ADD_X0_X0_1));
    const after = vm();
    expect(after.x0).toBe(20n);
    after.phys.retire();
    const moved = vm((as) => {
      const frame = as.query(guestAddr(0x1000))!.frame;
      as.mapFrame(guestAddr(0x3000), frame, PROT_READ | PROT_EXEC);
      expect(as.memory.codeOf(frame)[0]).toBe(0); // unlinked: decodes for itself
    });
    expect(moved.x0).toBe(20n);
    moved.phys.retire();
    expect(shared.starts).toEqual([0]);
  });
});
