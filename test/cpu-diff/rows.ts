/**
 * Which decode rows the differential runner covers, and why the others are left out.
 */
import type { RowLike } from './gen';

/** Rows that cannot run in the harness, with the reason printed in every report. */
const EXCLUDE: [RegExp, string][] = [
  [/^(SVC|HVC|SMC)\b/i, 'would enter the host kernel'],
  [
    /MRS|MSR \(register\)|SYS\b|SYSL/i,
    'system registers: only the deterministic subset is generated (see gen.ts rejectWord)',
  ],
];

export function rowsForFuzzing(
  all: readonly RowLike[],
  filter: RegExp,
): { rows: RowLike[]; excluded: { name: string; reason: string }[] } {
  const rows: RowLike[] = [];
  const excluded: { name: string; reason: string }[] = [];
  for (const r of all) {
    if (!filter.test(r.name)) continue;
    const ex = EXCLUDE.find(([re]) => re.test(r.name));
    if (ex) excluded.push({ name: r.name, reason: ex[1] });
    else rows.push(r);
  }
  return { rows, excluded };
}
