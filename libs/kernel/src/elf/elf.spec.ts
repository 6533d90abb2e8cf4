import { readFileSync } from 'node:fs';
import { createAddressSpace, createPhysicalMemory, guestAddr } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { Errno, KernelError } from '../errno';
import { Mm } from '../mm/mm';
import { EM_AARCH64, ET_EXEC, loadElf, parseElf } from './elf';

/** A minimal valid ELF64 image with one PT_LOAD covering the headers and 16 bytes of code. */
function tinyElf(): Uint8Array {
  const b = new Uint8Array(0x100);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setUint16(16, ET_EXEC, true);
  v.setUint16(18, EM_AARCH64, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, 0x400078n, true); // entry
  v.setBigUint64(32, 64n, true); // phoff
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 1, true);
  putLoad(v, 64, 5, 0, 0x400000, 0x100, 0x2000); // R|X
  b.set([0xde, 0xad, 0xbe, 0xef], 0x78);
  return b;
}

/** Writes a PT_LOAD program header at `ph` (p_paddr = p_vaddr, 4 KiB alignment). */
function putLoad(
  v: DataView,
  ph: number,
  flags: number,
  offset: number,
  vaddr: number,
  filesz: number,
  memsz: number,
): void {
  v.setUint32(ph, 1, true);
  v.setUint32(ph + 4, flags, true);
  v.setBigUint64(ph + 8, BigInt(offset), true);
  v.setBigUint64(ph + 16, BigInt(vaddr), true);
  v.setBigUint64(ph + 24, BigInt(vaddr), true);
  v.setBigUint64(ph + 32, BigInt(filesz), true);
  v.setBigUint64(ph + 40, BigInt(memsz), true);
  v.setBigUint64(ph + 48, 0x1000n, true);
}

function enoexec(bytes: Uint8Array): void {
  try {
    parseElf(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).errno).toBe(Errno.ENOEXEC);
    return;
  }
  throw new Error('expected ENOEXEC');
}

describe('ELF parsing', () => {
  it('parses and loads a minimal image (file bytes copied, bss zero)', () => {
    const img = parseElf(tinyElf());
    expect(img.entry).toBe(0x400078);
    const mm = new Mm(createAddressSpace(createPhysicalMemory(1 << 20)));
    const l = loadElf(mm, img, 0, 'tiny');
    expect(l.end).toBe(0x402000);
    expect(l.phdrAddr).toBe(0x400040);
    const out = new Uint8Array(4);
    mm.as.read(guestAddr(0x400078), out);
    expect([...out]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    mm.as.read(guestAddr(0x401000), out);
    expect([...out]).toEqual([0, 0, 0, 0]);
  });

  it('fills pages on first touch: the union of the segments sharing a page, zero elsewhere', () => {
    // R|X file bytes [0, 0x100) at 0x400000; R|W file bytes [0x180, 0x200) at 0x400180, bss to 0x402180
    const b = new Uint8Array(0x200).map((_, i) => (i * 7 + 1) & 0xff || 1);
    b.set(tinyElf().subarray(0, 0x78));
    const v = new DataView(b.buffer);
    v.setUint16(56, 2, true);
    putLoad(v, 64, 5, 0, 0x400000, 0x100, 0x100); // R|X
    putLoad(v, 64 + 56, 6, 0x180, 0x400180, 0x80, 0x2000); // R|W
    const img = parseElf(b);
    const memory = createPhysicalMemory(1 << 20);
    const mm = new Mm(createAddressSpace(memory));
    const free = memory.freeFrames;
    loadElf(mm, img, 0, 'two');
    expect(memory.freeFrames).toBe(free); // nothing copied at load time
    expect(mm.as.query(guestAddr(0x400000))).toEqual({ prot: 7, frame: -2 });
    expect(mm.as.query(guestAddr(0x401000))).toEqual({ prot: 3, frame: -1 }); // bss only
    const child = mm.fork();
    const want = new Uint8Array(0x1000);
    want.set(b.subarray(0, 0x100));
    want.set(b.subarray(0x180, 0x200), 0x180);
    for (const m of [mm, child]) {
      const got = new Uint8Array(0x2000);
      expect(m.as.read(guestAddr(0x400000), got)).toBeNull();
      expect(got.subarray(0, 0x1000)).toEqual(want);
      expect(got.subarray(0x1000).every((x) => x === 0)).toBe(true);
    }
    mm.discard(0x400000, 0x401000); // MADV_DONTNEED: private pages read back as zero
    expect(mm.as.query(guestAddr(0x400000))?.frame).toBe(-1);
    child.materialize(0x400000, 0x402000); // e.g. before mremap moves the mapping
    expect(child.as.query(guestAddr(0x400000))?.frame).toBeGreaterThanOrEqual(0);
  });

  it('rejects corrupt headers with ENOEXEC, never a host exception', () => {
    const good = tinyElf();
    const mutate = (f: (v: DataView, b: Uint8Array) => void): Uint8Array => {
      const b = good.slice();
      f(new DataView(b.buffer), b);
      return b;
    };
    enoexec(new Uint8Array(0));
    enoexec(good.subarray(0, 63));
    enoexec(mutate((_v, b) => (b[0] = 0)));
    enoexec(mutate((_v, b) => (b[4] = 1))); // ELFCLASS32
    enoexec(mutate((_v, b) => (b[5] = 2))); // big-endian
    enoexec(mutate((v) => v.setUint16(18, 62, true))); // x86-64
    enoexec(mutate((v) => v.setUint16(16, 1, true))); // ET_REL
    enoexec(mutate((v) => v.setUint16(56, 0, true))); // no phdrs
    enoexec(mutate((v) => v.setUint16(56, 5000, true))); // phdrs beyond the file
    enoexec(mutate((v) => v.setBigUint64(32, 0xffffffffffff0000n, true))); // wild phoff
    enoexec(mutate((v) => v.setBigUint64(64 + 32, 0x3000n, true))); // filesz > memsz
    enoexec(mutate((v) => v.setBigUint64(64 + 40, 0xffffffffffffn, true))); // beyond user space
    enoexec(mutate((v) => v.setBigUint64(64 + 16, 0x400010n, true))); // offset/vaddr not congruent
    enoexec(mutate((v) => v.setUint32(64, 0, true))); // no PT_LOAD
  });

  it('survives random corruption of header bytes (seeded, 2000 cases)', () => {
    const base = tinyElf();
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const b = base.slice();
      for (let j = 0; j < 4; j++) b[rnd() % 128] = rnd() & 0xff;
      try {
        parseElf(b);
      } catch (e) {
        expect(e).toBeInstanceOf(KernelError);
      }
    }
  });

  it('parses the interpreter of a dynamic glibc binary', () => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync('/usr/aarch64-linux-gnu/lib/libc.so.6');
    } catch {
      return;
    }
    expect(parseElf(bytes).type).toBe(3);
  });
});
