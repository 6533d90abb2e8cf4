/**
 * Bounded differential sample: every decode-table row (except the ones rows.ts excludes,
 * which are listed in the report) against qemu-aarch64-static, a fixed seed, a few dozen
 * cases per row. `npm run fuzz:cpu` runs more.
 */
import { describe, expect, it } from 'vitest';
import { BASE_ROWS } from '../../libs/machine/src/decode/table';
import { FP_ROWS } from '../../libs/machine/src/fp/table';
import { SIMD_ROWS } from '../../libs/machine/src/simd/table';
import { rowsForFuzzing } from './rows';
import { formatMismatch, formatTable, runDifferentialAsync } from './run';
import { makeLichenTarget } from './target';

const CASES = Number(process.env.LICHEN_DIFF_CASES ?? 30);
const SEED = Number(process.env.LICHEN_DIFF_SEED ?? 20261124);

const groups: [string, readonly { name: string; pattern: string }[]][] = [
  ['integer, branch and load/store rows', BASE_ROWS],
  ['scalar floating-point rows', FP_ROWS],
  ['Advanced SIMD rows', SIMD_ROWS],
];

describe('CPU differential sample against qemu-aarch64-static', () => {
  for (const [label, all] of groups) {
    it(`${label} behave like qemu`, async () => {
      const { rows } = rowsForFuzzing(all, /./);
      expect(rows.length).toBeGreaterThan(0);
      const rep = await runDifferentialAsync({
        rows,
        casesPerRow: CASES,
        seed: SEED,
        makeTarget: makeLichenTarget,
        detailsPerRow: 2,
      });
      const report = rep.mismatches.map(formatMismatch).join('\n') + '\n' + formatTable(rep);
      if (rep.total.fail > 0) console.log(report);
      expect(rep.total.pass).toBeGreaterThan(0);
      expect(rep.total.fail, report).toBe(0);
    }, 300_000);
  }
});
