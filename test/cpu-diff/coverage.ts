/**
 * `tsx test/cpu-diff/coverage.ts ELF...` — decodes every instruction word of the given aarch64
 * binaries' text with Lichen's decode table and lists the mnemonics that match no row (so
 * would stop as undefined), with counts. A quick way to see what a real program still needs.
 */
import { spawnSync } from 'node:child_process';
import { Decoder } from '../../libs/machine/src/decode/dispatch';

const dec = new Decoder();
const missing = new Map<string, { count: number; example: string }>();
let total = 0;
for (const file of process.argv.slice(2)) {
  const r = spawnSync('aarch64-linux-gnu-objdump', ['-d', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`objdump failed on ${file}: ${r.stderr}`);
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*[0-9a-f]+:\t([0-9a-f]{8}) \t(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    total++;
    const word = parseInt(m[1], 16) | 0;
    if (dec.rowOf(word) !== undefined) continue;
    const key = m[2];
    const e = missing.get(key);
    if (e) e.count++;
    else missing.set(key, { count: 1, example: `${m[1]} ${m[2]} ${m[3]}` });
  }
}
const list = [...missing.entries()].sort((a, b) => b[1].count - a[1].count);
for (const [k, v] of list) console.log(`${String(v.count).padStart(6)}  ${k.padEnd(10)} e.g. ${v.example}`);
console.log(`${total} instruction words, ${list.reduce((a, [, v]) => a + v.count, 0)} without a decode row`);
