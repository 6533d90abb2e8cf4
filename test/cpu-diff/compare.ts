/**
 * Field-by-field comparison of two case results, and disassembly of mismatching words.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaseResult } from './protocol';

export interface FieldDiff {
  field: string;
  qemu: string;
  lichen: string;
}

const hex64 = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16).padStart(16, '0');
const hex32 = (v: number): string => '0x' + (v >>> 0).toString(16).padStart(8, '0');
const vhex = (v: Uint8Array, r: number): string =>
  '0x' +
  Array.from(v.subarray(r * 16, r * 16 + 16))
    .reverse()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');

/** Differences between the reference (qemu) and Lichen; empty when they agree. */
export function compareResults(q: CaseResult, l: CaseResult): FieldDiff[] {
  const d: FieldDiff[] = [];
  const add = (field: string, a: string, b: string): void => {
    if (a !== b) d.push({ field, qemu: a, lichen: b });
  };
  add('stop', q.stop, l.stop);
  if (q.stop === 'timeout' && l.stop === 'timeout') return d; // state mid-loop is not comparable
  add('pc', hex64(q.pc), hex64(l.pc));
  if (q.stop === 'segv' || q.stop === 'bus') add('faultAddr', hex64(q.faultAddr), hex64(l.faultAddr));
  for (let i = 0; i < 31; i++) add(`x${i}`, hex64(q.state.x[i]), hex64(l.state.x[i]));
  add('sp', hex64(q.state.sp), hex64(l.state.sp));
  add('tpidr_el0', hex64(q.state.tpidr), hex64(l.state.tpidr));
  add('nzcv', hex32(q.state.nzcv), hex32(l.state.nzcv));
  add('fpcr', hex32(q.state.fpcr), hex32(l.state.fpcr));
  add('fpsr', hex32(q.state.fpsr), hex32(l.state.fpsr));
  for (let r = 0; r < 32; r++) add(`v${r}`, vhex(q.state.v, r), vhex(l.state.v, r));
  const offs = new Set<number>([...q.mem.keys(), ...l.mem.keys()]);
  const bad: number[] = [];
  for (const o of offs) if (q.mem.get(o) !== l.mem.get(o)) bad.push(o);
  if (bad.length > 0) {
    bad.sort((a, b) => a - b);
    const show = (m: Map<number, number>): string =>
      bad
        .slice(0, 16)
        .map((o) => `+${o.toString(16)}:${m.has(o) ? m.get(o)!.toString(16).padStart(2, '0') : '--'}`)
        .join(' ') + (bad.length > 16 ? ` (+${bad.length - 16} more)` : '');
    d.push({ field: 'memory', qemu: show(q.mem), lichen: show(l.mem) });
  }
  return d;
}

/** Disassembles words with aarch64-linux-gnu-objdump (one process for the whole list). */
export function disassemble(words: readonly number[]): string[] {
  if (words.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'lichen-dis-'));
  try {
    const file = join(dir, 'code.bin');
    const buf = Buffer.alloc(words.length * 4);
    words.forEach((w, i) => buf.writeUInt32LE(w >>> 0, i * 4));
    writeFileSync(file, buf);
    const r = spawnSync('aarch64-linux-gnu-objdump', ['-D', '-b', 'binary', '-m', 'aarch64', file], {
      encoding: 'utf8',
    });
    const out = words.map(() => '?');
    if (r.status !== 0) return out;
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*([0-9a-f]+):\s+[0-9a-f]{8}\s+(.*)$/.exec(line);
      if (m) {
        const idx = parseInt(m[1], 16) / 4;
        if (idx < out.length) out[idx] = m[2].replace(/\s+/g, ' ').trim();
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
