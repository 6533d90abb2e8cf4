import {
  BASE_ROWS,
  type CpuState,
  Decoder,
  FAST_ROWS,
  PROT_READ,
  PROT_WRITE,
  createAddressSpace,
  createCpu,
  createPhysicalMemory,
  guestAddr,
} from '@lichen/machine';
import { describe, expect, it } from 'vitest';

// Each specialised row must behave exactly like the generic row it shadows.
const generic = new Decoder(BASE_ROWS);
const DATA = 0x40000;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function randomWord(pattern: string, r: () => number): number {
  const p = pattern.replace(/[_ ]/g, '');
  let w = 0;
  for (let i = 0; i < 32; i++) {
    const c = p[i];
    const bit = c === '0' ? 0 : c === '1' ? 1 : r() & 1;
    w = (w << 1) | bit;
  }
  return w | 0;
}

interface Outcome {
  thrown: string;
  x: number[];
  v: number[];
  flags: number;
  mem: string;
}

function exec(handler: (s: CpuState, insn: number) => void, insn: number, seed: number, memOp: boolean): Outcome {
  const phys = createPhysicalMemory(1 << 20);
  const as = createAddressSpace(phys);
  as.mapAnonymous(guestAddr(DATA), 0x4000, PROT_READ | PROT_WRITE);
  const cpu = createCpu(as);
  const s = cpu.state;
  const r = rng(seed);
  for (let i = 0; i < 68; i++) s.x[i] = r();
  s.x[62] = 0;
  s.x[63] = 0;
  for (let i = 0; i < s.vi.length; i++) s.vi[i] = r();
  if (memOp) {
    // bases point into the data area, index registers are small
    for (let i = 0; i < 33; i++) {
      s.x[2 * i] = i % 2 ? (r() % 64) - 32 : DATA + 0x1000 + (r() % 0x2000);
      s.x[2 * i + 1] = i % 2 ? s.x[2 * i] >> 31 : 0;
    }
    s.x[62] = 0;
    s.x[63] = 0;
    const bytes = new Uint8Array(0x4000).map(() => r() & 255);
    as.write(guestAddr(DATA), bytes);
  }
  s.setNZCV(r() & 0xf0000000);
  s.pc = 0x10000;
  s.npc = 0x10004;
  let thrown = '';
  try {
    handler(s, insn);
  } catch (e) {
    thrown = String((e as { kind?: string }).kind ?? e);
  }
  const mem = new Uint8Array(0x4000);
  as.read(guestAddr(DATA), mem);
  return {
    thrown,
    x: [...s.x],
    v: [...s.vi],
    flags: s.getNZCV(),
    mem: memOp ? Buffer.from(mem).toString('base64') : '',
  };
}

describe('specialised rows match the generic rows', () => {
  for (const row of FAST_ROWS) {
    it(row.name, () => {
      const r = rng(row.name.length * 7919 + 17);
      const memOp = /LD|ST/.test(row.name);
      for (let k = 0; k < (memOp ? 100 : 300); k++) {
        const insn = randomWord(row.pattern, r);
        const g = generic.rowOf(insn);
        expect(g, `no generic row for ${(insn >>> 0).toString(16)}`).toBeDefined();
        const seed = r();
        const a = exec(row.handler, insn, seed, memOp);
        const b = exec(g!.handler, insn, seed, memOp);
        const what = `${row.name} vs ${g!.name} insn=${(insn >>> 0).toString(16)} seed=${seed}`;
        expect(a.thrown, what).toBe(b.thrown);
        expect(a.x, what).toEqual(b.x);
        expect(a.v, what).toEqual(b.v);
        expect(a.flags, what).toBe(b.flags);
        expect(a.mem === b.mem, what).toBe(true);
      }
    });
  }
});
