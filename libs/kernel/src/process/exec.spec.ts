/** The initial stack: buildStack writes the bytes, addresses and Mm fields Linux's layout asks for. */
import { createAddressSpace, createPhysicalMemory, PROT_READ, PROT_WRITE } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_PRIVATE, Mm } from '../mm/mm';
import { copyIn, pokeKernel, userAddr } from '../uaccess';
import { buildStack } from './exec';

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** The layout as it was first written: one write per string, 64-bit words through BigInt. */
function referenceStack(
  mm: Mm,
  argv: Uint8Array[],
  envp: Uint8Array[],
  execfn: string,
  random: Uint8Array,
  aux: [number, number][],
): number {
  let sp = mm.stackTop - 8;
  const put = (b: Uint8Array): number => {
    sp -= b.length;
    pokeKernel(mm.as, sp, b);
    return sp;
  };
  const cstr = (b: Uint8Array): Uint8Array => {
    const o = new Uint8Array(b.length + 1);
    o.set(b);
    return o;
  };
  const execfnAddr = put(cstr(enc(execfn)));
  const envAddrs: number[] = [];
  for (let i = envp.length - 1; i >= 0; i--) envAddrs.unshift(put(cstr(envp[i])));
  mm.envStart = envAddrs.length ? envAddrs[0] : sp;
  mm.envEnd = execfnAddr;
  const argAddrs: number[] = [];
  for (let i = argv.length - 1; i >= 0; i--) argAddrs.unshift(put(cstr(argv[i])));
  mm.argStart = argAddrs.length ? argAddrs[0] : sp;
  mm.argEnd = mm.envStart;
  const platform = put(cstr(enc('aarch64')));
  sp -= sp % 16;
  const randomAddr = put(random);
  const auxv: [number, number][] = [...aux, [15, platform], [25, randomAddr], [31, execfnAddr], [0, 0]];
  const words = 1 + argAddrs.length + 1 + envAddrs.length + 1 + auxv.length * 2;
  sp = Math.floor((sp - words * 8) / 16) * 16;
  const table = new Uint8Array(words * 8);
  const v = new DataView(table.buffer);
  let o = 0;
  const w = (x: number): void => {
    v.setBigUint64(o, BigInt(x), true);
    o += 8;
  };
  w(argAddrs.length);
  argAddrs.forEach(w);
  w(0);
  envAddrs.forEach(w);
  w(0);
  for (const [key, val] of auxv) {
    w(key);
    w(val);
  }
  pokeKernel(mm.as, sp, table);
  return sp;
}

function newStack(): Mm {
  const mm = new Mm(createAddressSpace(createPhysicalMemory(4 << 20)));
  const low = mm.stackTop - 64 * 1024;
  mm.mapAnon(low, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, '[stack]');
  return mm;
}

function snapshot(mm: Mm, sp: number): unknown {
  const bytes = copyIn(mm.as, userAddr(mm.stackTop - 64 * 1024), 64 * 1024);
  return { sp, bytes, fields: [mm.argStart, mm.argEnd, mm.envStart, mm.envEnd] };
}

describe('buildStack', () => {
  const random = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const aux: [number, number][] = [
    [16, 0xfffffff3],
    [6, 4096],
    [9, 0x4000_1234_5678],
    [11, 1000],
    [7, 0],
  ];
  const cases: { name: string; argv: string[]; envp: string[]; execfn: string }[] = [
    {
      name: 'a usual command',
      argv: ['/bin/busybox', 'echo', 'hello'],
      envp: ['PATH=/bin', 'HOME=/root'],
      execfn: '/bin/busybox',
    },
    { name: 'no arguments and no environment', argv: [], envp: [], execfn: '/x' },
    { name: 'empty strings and odd lengths', argv: ['', 'a', 'bc'], envp: ['', 'X=1234567'], execfn: '' },
    { name: 'bytes above 0x7f', argv: ['\u00e9t\u00e9', 'x'.repeat(5000)], envp: ['K=\u00ff'], execfn: '/b\u00e9n' },
  ];
  for (const c of cases) {
    it(`lays out ${c.name} byte for byte as before`, () => {
      const argv = c.argv.map(enc);
      const envp = c.envp.map(enc);
      const a = newStack();
      const b = newStack();
      const want = snapshot(a, referenceStack(a, argv, envp, c.execfn, random, aux));
      expect(snapshot(b, buildStack(b, argv, envp, c.execfn, random, aux))).toEqual(want);
    });
  }
});
