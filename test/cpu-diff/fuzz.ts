/**
 * `npm run fuzz:cpu -- --cases N --seed S [--rows REGEX] [--length K] [--details D]`
 *
 * Generates N cases per decode-table row (seeded, reproducible), runs them under
 * qemu-aarch64-static and in Lichen, prints every mismatch (instruction, disassembly,
 * differing fields) and a per-row pass table. Exit status 1 when anything mismatched.
 */
import { ALL_ROWS } from '../../libs/machine/src/index';
import { rowsForFuzzing } from './rows';
import { formatMismatch, formatTable, runDifferential } from './run';
import { makeLichenTarget } from './target';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}

function main(): number {
  const cases = Number(arg('cases', '200'));
  const seed = Number(arg('seed', '1'));
  const length = Number(arg('length', '1'));
  const details = Number(arg('details', '3'));
  const filter = new RegExp(arg('rows', '.'), 'i');
  if (!Number.isInteger(cases) || cases < 1) throw new Error('--cases must be a positive integer');
  if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
  const { rows, excluded } = rowsForFuzzing(ALL_ROWS, filter);
  const t0 = Date.now();
  const rep = runDifferential({
    rows,
    casesPerRow: cases,
    seed,
    length,
    detailsPerRow: details,
    makeTarget: makeLichenTarget,
    onProgress: (d, n) => process.stderr.write(`\r${d}/${n} cases`),
  });
  process.stderr.write('\n');
  for (const m of rep.mismatches) console.log(formatMismatch(m));
  console.log(formatTable(rep));
  if (excluded.length > 0)
    console.log(`\nrows not fuzzed: ${excluded.map((e) => `${e.name} (${e.reason})`).join('; ')}`);
  console.log(`\nseed ${seed}, ${cases} cases/row, ${rows.length} rows, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return rep.total.fail > 0 ? 1 : 0;
}

process.exitCode = main();
