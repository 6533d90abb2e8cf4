/**
 * `npm run fuzz:ext4 -- --cases N [--seed S] [--image NAME]`: corrupt-image fuzzing of the
 * ext4 reader (see support/fuzz.ts). Exits 1 if any case failed.
 */
import * as fs from 'node:fs';
import { buildImage, FEATURE_SETS, FUZZ_SETS } from './support/images';
import { metadataBlocks, mutate, runCase } from './support/fuzz';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1] : def;
  };
  const cases = Number(opt('cases', '200'));
  const seed0 = Number(opt('seed', '1'));
  const all = [...FUZZ_SETS, ...FEATURE_SETS];
  const names = opt('image', FUZZ_SETS.map((s) => s.name).join(',')).split(',');
  const specs = all.filter((s) => names.includes(s.name));
  if (!Number.isInteger(cases) || cases < 1 || specs.length === 0) {
    console.error(`usage: fuzz-ext4 --cases N [--seed S] [--image ${all.map((s) => s.name).join(',')}]`);
    process.exit(2);
  }
  const bases = [];
  for (const s of specs) {
    const image = new Uint8Array(fs.readFileSync(buildImage(s).image));
    bases.push({ name: s.name, image, meta: await metadataBlocks(image) });
  }
  let failed = 0;
  const t0 = Date.now();
  let maxMs = 0;
  let maxHeap = 0;
  const errnos = new Map<string, number>();
  for (let i = 0; i < cases; i++) {
    const base = bases[i % bases.length];
    const c = mutate(base.image, base.meta, seed0 + i);
    const t = Date.now();
    const res = await runCase(c, 20_000, errnos);
    maxMs = Math.max(maxMs, Date.now() - t);
    maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
    if (res) {
      failed++;
      console.log(`FAIL [${base.name}] ${res}`);
    }
    if ((i + 1) % 50 === 0) console.log(`${i + 1}/${cases} cases, ${failed} failed`);
  }
  console.log(
    `fuzz:ext4 ${cases} cases (seeds ${seed0}..${seed0 + cases - 1}) on ${names.join(', ')}: ${failed} failed; ` +
      `slowest case ${maxMs} ms, max heap ${(maxHeap / 1048576).toFixed(0)} MiB, total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const hist = [...errnos].sort((a, b) => b[1] - a[1]).map(([k, v]) => `errno ${k}: ${v}`);
  console.log(`errors returned by the VFS (expected for corrupt images): ${hist.join(', ')}`);
  process.exit(failed ? 1 : 0);
}

void main();
