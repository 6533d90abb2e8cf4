import { describe, expect, it } from 'vitest';
import { PROT_EXEC, PROT_READ, PROT_WRITE, guestAddr } from './api';
import { CompiledBlock } from './decode/blocks';
import { AddressSpaceImpl, PageCode, PhysicalMemoryImpl } from './memory';
import { FAULT_SIGNAL } from './state';

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

const RW = PROT_READ | PROT_WRITE;
const A = guestAddr(0x10000);

describe('physical memory', () => {
  it('allocates zeroed frames with refcounts and reports exhaustion as -1', () => {
    const pm = new PhysicalMemoryImpl(3 * 4096);
    const f = pm.allocFrame();
    pm.bytes[f * 4096] = 7;
    pm.retain(f);
    expect(pm.refCount(f)).toBe(2);
    pm.release(f);
    pm.release(f);
    expect(pm.freeFrames).toBe(3);
    const g = [pm.allocFrame(), pm.allocFrame(), pm.allocFrame()];
    expect(pm.bytes[g.find((x) => x === f)! * 4096]).toBe(0);
    expect(pm.allocFrame()).toBe(-1);
    expect(pm.peakFramesUsed).toBe(3);
    expect(() => pm.release(99)).toThrow(RangeError);
  });
});

describe('retiring physical memory', () => {
  it('cuts every address space off the memory and refuses new frames and mappings', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const as = new AddressSpaceImpl(pm);
    const child = as.fork() as AddressSpaceImpl;
    as.mapAnonymous(A, 4096, RW);
    as.st8(0x10000, 42);
    const frame = as.query(A)?.frame ?? -1;
    pm.retire();
    expect(thrown(() => as.ld8(0x10000))).toBe(FAULT_SIGNAL);
    expect(as.query(A)).toBeUndefined();
    expect(pm.allocFrame()).toBe(-1);
    expect(() => as.mapFrame(A, frame, RW)).toThrow(/destroyed/);
    expect(() => child.mapAnonymous(A, 4096, RW)).toThrow(/destroyed/);
    expect(() => new AddressSpaceImpl(pm)).toThrow(/retired/);
  });

  it('hands the next memory a zeroed buffer', () => {
    const old = new PhysicalMemoryImpl(1 << 20);
    const as = new AddressSpaceImpl(old);
    as.mapAnonymous(A, 8 * 4096, RW);
    for (let i = 0; i < 8; i++) as.st8(0x10000 + i * 4096 + 123, 0xaa);
    old.retire();
    const next = new PhysicalMemoryImpl(1 << 20);
    expect(next.buffer).toBe(old.buffer);
    expect(next.bytes.every((b) => b === 0)).toBe(true);
    next.retire();
  });

  it('unlinks frames from shared page code when it retires, taken by the CPU or not', () => {
    const old = new PhysicalMemoryImpl(1 << 20);
    const shared = new PageCode();
    shared.code = new Int32Array(1024).fill(5);
    old.link(old.allocFrame(), shared); // never executed (e.g. read-only data in a text segment)
    old.retire();
    const next = new PhysicalMemoryImpl(1 << 20);
    const f = next.allocFrame();
    expect(next.codeOf(f).every((x) => x === 0)).toBe(true);
    next.retire();
  });

  it('hands the next memory clean frame metadata and decode caches', () => {
    const old = new PhysicalMemoryImpl(1 << 20);
    const frames = [old.allocFrame(), old.allocFrame(), old.allocFrame()];
    old.retain(frames[1]);
    old.release(frames[2]);
    for (const f of frames.slice(0, 2)) {
      old.codeOf(f).fill(7);
      old.blocksOf(f).fill(new CompiledBlock(() => undefined, 1));
      (old.heat[f] as Uint8Array).fill(3);
    }
    // a drop while the CPU still holds the tables: it may dirty them again without a mark
    old.dropCode(frames[0]);
    (old.heat[frames[0]] as Uint8Array)[5] = 1;
    old.retire();
    old.release(frames[1]); // late releases of the old VM must not reach the next one
    expect(() => old.retain(frames[1])).toThrow(/retired/);
    const next = new PhysicalMemoryImpl(1 << 20);
    expect(next.buffer).toBe(old.buffer);
    expect(next.freeFrames).toBe(256);
    for (let i = 0; i < 3; i++) {
      const f = next.allocFrame();
      expect(f).toBe(i);
      expect(next.refCount(f)).toBe(1);
      expect(next.codeMark[f]).toBe(0);
      expect(next.codeOf(f).every((x) => x === 0)).toBe(true);
      expect(next.blocksOf(f).every((b) => b === undefined)).toBe(true);
      expect((next.heat[f] as Uint8Array).every((x) => x === 0)).toBe(true);
    }
    next.retire();
  });
});

describe('frames holding a code page across memories', () => {
  const PAGE = 4096;
  const CODE = guestAddr(0x400000);
  const bytesOf = (tag: number): Uint8Array => new Uint8Array(PAGE).fill(tag, 0, 100);

  /** A memory whose space fills CODE with `page` (bytes `tag`), counting the fills that copied. */
  function run(page: PageCode, tag: number, log: { copies: number; held: (PageCode | undefined)[] }) {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const as = new AddressSpaceImpl(pm);
    as.filler = (_va, dst, at, held) => {
      log.held.push(held);
      if (held !== undefined) return held === page ? page : undefined;
      log.copies++;
      dst.set(bytesOf(tag), at);
      return page;
    };
    as.mapFilled(CODE, PAGE, PROT_READ);
    return { pm, as };
  }

  it('keep the page unchanged for the next memory, which fills it again without a copy', () => {
    const page = new PageCode();
    const log = { copies: 0, held: [] as (PageCode | undefined)[] };
    const first = run(page, 0x11, log);
    expect(first.as.ld8(CODE)).toBe(0x11);
    first.pm.retire();
    const second = run(page, 0x11, log);
    expect(second.pm.buffer).toBe(first.pm.buffer);
    expect(second.as.ld8(CODE)).toBe(0x11);
    expect(second.as.ld8(CODE + 99)).toBe(0x11);
    expect(second.as.ld8(CODE + 100)).toBe(0);
    expect(log).toEqual({ copies: 1, held: [undefined, page] });
    second.pm.retire();
    // a frame that is not filled with that page again is zero when handed out
    const third = new PhysicalMemoryImpl(1 << 20);
    const f = third.allocFrame();
    expect(third.bytes.subarray(f * PAGE, f * PAGE + PAGE).every((b) => b === 0)).toBe(true);
    third.retire();
    expect(new PhysicalMemoryImpl(1 << 20).bytes.every((b) => b === 0)).toBe(true);
  });

  it('zero the frame before another page fills it', () => {
    const page = new PageCode();
    const log = { copies: 0, held: [] as (PageCode | undefined)[] };
    const first = run(page, 0x22, log);
    first.as.ld8(CODE);
    first.pm.retire();
    const other = new PageCode();
    const second = run(other, 0x33, { copies: 0, held: log.held });
    const pm = second.pm;
    // the filler declines the held page, and then fills a zeroed frame
    second.as.filler = (_va, dst, at, held) => {
      log.held.push(held);
      if (held !== undefined) return undefined;
      dst.set(new Uint8Array([0x33]), at + 200);
      return other;
    };
    expect(second.as.ld8(CODE + 200)).toBe(0x33);
    expect(second.as.ld8(CODE)).toBe(0);
    expect(log.held).toEqual([undefined, page, undefined]);
    second.as.mapAnonymous(CODE, PAGE, RW); // the frame goes back to the free list
    pm.retire();
    new PhysicalMemoryImpl(1 << 20).retire();
  });

  it('never keep a page that changed, nor give one to anonymous memory', () => {
    const page = new PageCode();
    const log = { copies: 0, held: [] as (PageCode | undefined)[] };
    const first = run(page, 0x44, log);
    first.as.mapFilled(CODE, PAGE, RW);
    first.as.st8(CODE + 1000, 0x55); // filled, then changed: unlinked
    first.as.mapFilled(guestAddr(CODE + PAGE), PAGE, PROT_READ);
    first.as.ld8(CODE + PAGE); // filled and unchanged: kept
    first.pm.retire();
    const next = new PhysicalMemoryImpl(1 << 20);
    expect(next.bytes.some((b) => b === 0x55)).toBe(false);
    const as = new AddressSpaceImpl(next);
    as.mapAnonymous(A, 2 * PAGE, RW);
    for (let i = 0; i < 2; i++) for (let o = 0; o < PAGE; o += 64) expect(as.ld8(A + i * PAGE + o)).toBe(0);
    next.retire();
    expect(new PhysicalMemoryImpl(1 << 20).bytes.every((b) => b === 0)).toBe(true);
  });
});

describe('reused page tables and TLBs', () => {
  it('a destroyed space keeps no translation, and the space that takes its arrays starts empty', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const old = new AddressSpaceImpl(pm);
    old.mapAnonymous(A, 4 * 4096, RW);
    for (let i = 0; i < 4; i++) old.st8(0x10000 + i * 4096, 0x5a); // fills the read and write TLBs
    expect(old.ld8(0x10000)).toBe(0x5a);
    old.destroy();
    const next = new AddressSpaceImpl(pm); // takes the pooled TLB and page-table leaf
    for (let i = 0; i < 4; i++) {
      expect(next.query(guestAddr(0x10000 + i * 4096))).toBeUndefined();
      expect(thrown(() => next.ld8(0x10000 + i * 4096))).toBe(FAULT_SIGNAL);
      expect(thrown(() => next.st8(0x10000 + i * 4096, 1))).toBe(FAULT_SIGNAL);
    }
    next.mapAnonymous(A, 4096, RW);
    expect(next.ld8(0x10000)).toBe(0); // a fresh zero page, not the old frame
    next.st8(0x10000, 7);
    // the destroyed space does not see the new space's translations either
    expect(thrown(() => old.ld8(0x10000))).toBe(FAULT_SIGNAL);
    expect(thrown(() => old.st8(0x10000, 1))).toBe(FAULT_SIGNAL);
    expect(next.ld8(0x10000)).toBe(7);
    pm.retire();
  });
});

describe('address space', () => {
  it('lazily zero-fills on first touch and counts resident pages', () => {
    const as = new AddressSpaceImpl(new PhysicalMemoryImpl(1 << 20));
    as.mapAnonymous(A, 3 * 4096, RW);
    expect(as.residentPages).toBe(0);
    expect(as.query(A)).toEqual({ prot: RW, frame: -1 });
    expect(as.ld32(0x10ffc)).toBe(0);
    expect(as.residentPages).toBe(1);
  });

  it('reports unmapped, permission and no-memory faults', () => {
    const pm = new PhysicalMemoryImpl(4096);
    const as = new AddressSpaceImpl(pm);
    as.mapAnonymous(A, 2 * 4096, PROT_READ);
    expect(thrown(() => as.st8(0x10000, 1))).toBe(FAULT_SIGNAL);
    expect(as.fault).toMatchObject({ addr: 0x10000, access: 'write', cause: 'permission' });
    expect(thrown(() => as.ld8(0x5000))).toBe(FAULT_SIGNAL);
    expect(as.fault).toMatchObject({ addr: 0x5000, access: 'read', cause: 'not-mapped' });
    as.ld8(0x10000);
    expect(thrown(() => as.ld8(0x11000))).toBe(FAULT_SIGNAL);
    expect(as.fault.cause).toBe('no-memory');
    expect(thrown(() => as.ld8(2 ** 48))).toBe(FAULT_SIGNAL);
    // an address computation that wrapped below zero faults (empty TLB entries never match)
    expect(thrown(() => as.ld64(-94))).toBe(FAULT_SIGNAL);
    expect(as.fault).toMatchObject({ access: 'read', cause: 'not-mapped' });
    expect(thrown(() => as.st8(-1, 0))).toBe(FAULT_SIGNAL);
  });

  it('unaligned and page-crossing accesses are correct and all-or-nothing', () => {
    const as = new AddressSpaceImpl(new PhysicalMemoryImpl(1 << 20));
    as.mapAnonymous(A, 2 * 4096, RW);
    for (let off = 4096 - 9; off < 4096 + 1; off++) {
      as.st64(0x10000 + off, 0x44332211, 0x88776655 | 0);
      expect(as.ld64(0x10000 + off)).toBe(0x44332211);
      expect(as.hi).toBe(0x88776655 | 0);
      expect(as.ld32(0x10000 + off + 1)).toBe(0x55443322);
      expect(as.ld16(0x10000 + off + 3)).toBe(0x5544);
    }
    as.unmap(guestAddr(0x11000), 4096);
    as.st32(0x10ffc, 0);
    expect(thrown(() => as.st64(0x10ffc, -1, -1))).toBe(FAULT_SIGNAL);
    expect(as.fault).toMatchObject({ addr: 0x11000, access: 'write', cause: 'not-mapped' });
    expect(as.ld32(0x10ffc)).toBe(0);
  });

  it('fork shares frames copy-on-write and copies on the first write by either side', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const parent = new AddressSpaceImpl(pm);
    parent.mapAnonymous(A, 2 * 4096, RW);
    parent.st32(0x10000, 111);
    const used = pm.frameCount - pm.freeFrames;
    const child = parent.fork() as AddressSpaceImpl;
    const f = parent.query(A)!.frame;
    expect(child.query(A)!.frame).toBe(f);
    expect(pm.refCount(f)).toBe(2);
    expect(child.ld32(0x10000)).toBe(111);
    child.st32(0x10000, 222);
    expect(parent.ld32(0x10000)).toBe(111);
    expect(child.ld32(0x10000)).toBe(222);
    expect(pm.refCount(f)).toBe(1);
    parent.st32(0x10000, 333); // sole owner now: no copy
    expect(parent.query(A)!.frame).toBe(f);
    expect(pm.frameCount - pm.freeFrames).toBe(used + 1);
    // the lazy page stays lazy and private on both sides
    child.st8(0x11000, 5);
    expect(parent.ld8(0x11000)).toBe(0);
    child.destroy();
    parent.destroy();
    expect(pm.freeFrames).toBe(pm.frameCount);
  });

  it('filled pages take their contents from the filler on first touch, in any space', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const as = new AddressSpaceImpl(pm);
    const calls: number[] = [];
    const filler = (page: number, dst: Uint8Array, at: number): undefined => {
      calls.push(page);
      expect(dst.subarray(at, at + 4096).every((b) => b === 0)).toBe(true);
      dst[at + 1] = page / 4096;
      return undefined;
    };
    as.filler = filler;
    as.mapFilled(A, 3 * 4096, PROT_READ);
    expect(as.query(A)).toEqual({ prot: PROT_READ, frame: -2 });
    expect(as.residentPages).toBe(0);
    expect(as.ld8(0x10001)).toBe(0x10);
    expect(as.ld8(0x10002)).toBe(0);
    const b = new Uint8Array(2);
    expect(as.read(guestAddr(0x11000), b)).toBeNull(); // kernel copies fill too
    expect([...b]).toEqual([0, 0x11]);
    expect(calls).toEqual([0x10000, 0x11000]);
    as.protect(guestAddr(0x12000), 4096, RW); // still filled, now writable
    const child = as.fork() as AddressSpaceImpl;
    child.filler = filler;
    child.st8(0x12000, 9); // the child fills its own copy of the untouched page
    expect(child.ld8(0x12001)).toBe(0x12);
    expect(as.query(guestAddr(0x12000))?.frame).toBe(-2);
    expect(as.ld8(0x12000)).toBe(0);
    as.mapAnonymous(guestAddr(0x12000), 4096, RW); // replaced: zero-fill again
    child.filler = null; // without a filler, filled pages zero-fill
    expect(child.ld8(0x11001)).toBe(0x11); // present since before the fork
    child.mapFilled(A, 4096, PROT_READ);
    expect(child.ld8(0x10001)).toBe(0);
    expect(calls).toEqual([0x10000, 0x11000, 0x12000, 0x12000]);
  });

  it('mapFrame: private pages copy on write while shared, shared pages stay shared across fork', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const as = new AddressSpaceImpl(pm);
    const f = pm.allocFrame();
    pm.bytes[f * 4096] = 5;
    as.mapFrame(A, f, RW); // private (e.g. a page-cache page)
    as.mapFrame(guestAddr(0x20000), f, RW, true); // shared
    as.st8(0x10000, 6); // private write copies: the page cache keeps 5
    expect(pm.bytes[f * 4096]).toBe(5);
    expect(as.ld8(0x10000)).toBe(6);
    const child = as.fork() as AddressSpaceImpl;
    child.st8(0x20000, 7); // shared: both see it
    expect(as.ld8(0x20000)).toBe(7);
    expect(pm.bytes[f * 4096]).toBe(7);
    expect(child.query(guestAddr(0x20000))!.frame).toBe(f);
  });

  it('kernel copies ignore PROT bits, honour COW, and report partial progress on faults', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const as = new AddressSpaceImpl(pm);
    as.mapAnonymous(A, 4096, PROT_READ);
    expect(as.write(A, new Uint8Array([1, 2, 3]))).toBeNull();
    const child = as.fork();
    expect(child.write(guestAddr(0x10001), new Uint8Array([9]))).toBeNull();
    const b = new Uint8Array(3);
    expect(as.read(A, b)).toBeNull();
    expect([...b]).toEqual([1, 2, 3]);
    const r = as.write(guestAddr(0x10ffe), new Uint8Array(4));
    expect(r?.copied).toBe(2);
    expect(r?.fault).toMatchObject({ addr: 0x11000, cause: 'not-mapped', access: 'write' });
  });

  it('protect and unmap take effect immediately (TLB flushed)', () => {
    const as = new AddressSpaceImpl(new PhysicalMemoryImpl(1 << 20));
    as.mapAnonymous(A, 4096, RW);
    as.st8(0x10000, 1);
    as.protect(A, 4096, PROT_READ);
    expect(thrown(() => as.st8(0x10000, 2))).toBe(FAULT_SIGNAL);
    as.unmap(A, 4096);
    expect(thrown(() => as.ld8(0x10000))).toBe(FAULT_SIGNAL);
    expect(as.residentPages).toBe(0);
  });

  it('instruction fetches see copy-on-write breaks, protect and unmap at once', () => {
    const as = new AddressSpaceImpl(new PhysicalMemoryImpl(1 << 20));
    as.mapAnonymous(A, 4096, RW | PROT_EXEC);
    as.st8(0x10000, 1);
    const child = as.fork() as AddressSpaceImpl;
    const shared = as.fetchFrame(0x10004);
    expect(child.fetchFrame(0x10000)).toBe(shared);
    as.st8(0x10000, 2); // the parent gets its own copy
    const own = as.fetchFrame(0x10000);
    expect(own).not.toBe(shared);
    expect(as.memory.bytes[own * 4096]).toBe(2);
    expect(child.fetchFrame(0x10000)).toBe(shared);
    as.write(A, new Uint8Array([3])); // no break now: same frame
    expect(as.fetchFrame(0x10000)).toBe(own);
    child.write(A, new Uint8Array([4])); // the child's copy breaks too (last reference: in place)
    expect(child.fetchFrame(0x10000)).toBe(shared);
    as.protect(A, 4096, RW);
    expect(thrown(() => as.fetchFrame(0x10000))).toBe(FAULT_SIGNAL);
    expect(as.fault.cause).toBe('permission');
    child.unmap(A, 4096);
    expect(thrown(() => child.fetchFrame(0x10000))).toBe(FAULT_SIGNAL);
    expect(child.fault.cause).toBe('not-mapped');
  });

  it('flush TLB entries filled after a flush that had nothing to do', () => {
    const as = new AddressSpaceImpl(new PhysicalMemoryImpl(1 << 20));
    as.mapAnonymous(A, 4096, RW);
    as.protect(A, 4096, RW); // nothing cached yet
    as.protect(A, 4096, RW); // nor now
    as.st8(0x10000, 1);
    expect(as.ld8(0x10000)).toBe(1);
    as.protect(A, 4096, PROT_READ);
    as.protect(A, 4096, PROT_READ); // the TLB is empty already
    expect(thrown(() => as.st8(0x10000, 2))).toBe(FAULT_SIGNAL);
    expect(as.ld8(0x10000)).toBe(1);
    as.unmap(A, 4096);
    expect(thrown(() => as.ld8(0x10000))).toBe(FAULT_SIGNAL);
  });
});

describe('lazy shared pages (pager)', () => {
  it('take their frame from the pager, stay shared across fork and report bus errors', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const obj = pm.allocFrame(); // the object's own reference
    const as = new AddressSpaceImpl(pm);
    let calls = 0;
    as.pager = (va) => {
      calls++;
      return va >= A + 4096 ? -2 : obj;
    };
    as.mapAnonymous(A, 2 * 4096, RW, true);
    const child = as.fork() as AddressSpaceImpl;
    child.pager = as.pager;
    as.st32(A, 0x1234);
    expect(child.ld32(A)).toBe(0x1234); // the child's lazy page asked the pager: same frame
    child.st32(A + 4, 0x77);
    expect(as.ld32(A + 4)).toBe(0x77);
    expect(calls).toBe(2);
    expect(pm.refCount(obj)).toBe(3);
    // a fork after the page is present shares the frame instead of copying it on write
    const grandchild = as.fork() as AddressSpaceImpl;
    grandchild.st32(A, 9);
    expect(as.ld32(A)).toBe(9);
    expect(thrown(() => as.ld8(A + 4096))).toBe(FAULT_SIGNAL);
    expect(as.fault.cause).toBe('bus');
    grandchild.destroy();
    child.destroy();
    as.destroy();
    expect(pm.refCount(obj)).toBe(1);
  });

  it('zero-fill like private pages when no pager is set', () => {
    const pm = new PhysicalMemoryImpl(1 << 20);
    const as = new AddressSpaceImpl(pm);
    as.mapAnonymous(A, 4096, RW, true);
    expect(as.ld32(A)).toBe(0);
    as.st32(A, 5);
    const child = as.fork() as AddressSpaceImpl;
    child.st32(A, 6);
    expect(as.ld32(A)).toBe(6);
  });
});
