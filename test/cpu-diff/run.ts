/**
 * The differential run: generate cases from decode rows, run them under qemu and in Lichen,
 * compare, and summarise per row.
 */
import { compareResults, disassemble, type FieldDiff } from './compare';
import { generateCase, parsePattern, Rng, type GenOptions, type ParsedRow, type RowLike } from './gen';
import { runLichen, type LichenTarget } from './lichen';
import type { CaseResult, TestCase } from './protocol';
import { buildHarness, runQemu, runQemuAsync } from './qemu';

export interface RowStats {
  name: string;
  pass: number;
  fail: number;
  /** Cases that could not be generated (every draw was rejected as unsafe for the harness). */
  skipped: number;
  /** How the reference ended these cases (brk = ran to the end), for judging coverage. */
  stops: Record<string, number>;
}

export interface Mismatch {
  row: string;
  insns: number[];
  disasm: string[];
  diffs: FieldDiff[];
  case: TestCase;
}

export interface DiffOptions extends GenOptions {
  rows: readonly RowLike[];
  casesPerRow: number;
  seed: number;
  /** Creates a fresh Lichen CPU with the harness areas mapped. */
  makeTarget: () => LichenTarget;
  /** Keep at most this many mismatch details per row. */
  detailsPerRow?: number;
  /** Cases per qemu process. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DiffReport {
  rows: RowStats[];
  mismatches: Mismatch[];
  total: { pass: number; fail: number; skipped: number };
}

function prepare(opts: DiffOptions): { stats: RowStats[]; cases: TestCase[] } {
  const parsed: ParsedRow[] = opts.rows.map(parsePattern);
  const rng = new Rng(opts.seed);
  const stats: RowStats[] = parsed.map((r) => ({ name: r.name, pass: 0, fail: 0, skipped: 0, stops: {} }));
  const cases: TestCase[] = [];
  for (let r = 0; r < parsed.length; r++) {
    for (let k = 0; k < opts.casesPerRow; k++) {
      const c = generateCase(rng, parsed, r, opts);
      if (c === null) stats[r].skipped++;
      else cases.push(c);
    }
  }
  return { stats, cases };
}

function compareChunk(
  opts: DiffOptions,
  target: LichenTarget,
  stats: RowStats[],
  chunk: readonly TestCase[],
  ref: readonly CaseResult[],
  mismatches: Mismatch[],
): void {
  const detailCap = opts.detailsPerRow ?? 3;
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i];
    const st = stats[c.row];
    st.stops[ref[i].stop] = (st.stops[ref[i].stop] ?? 0) + 1;
    const got = runLichen(target, c);
    const diffs = compareResults(ref[i], got);
    if (diffs.length === 0) st.pass++;
    else {
      st.fail++;
      if (st.fail <= detailCap) mismatches.push({ row: st.name, insns: c.insns, disasm: [], diffs, case: c });
    }
  }
}

function finish(stats: RowStats[], mismatches: Mismatch[]): DiffReport {
  const dis = disassemble(mismatches.flatMap((m) => m.insns));
  let k = 0;
  for (const m of mismatches) {
    m.disasm = dis.slice(k, k + m.insns.length);
    k += m.insns.length;
  }
  const total = stats.reduce(
    (a, s) => ({ pass: a.pass + s.pass, fail: a.fail + s.fail, skipped: a.skipped + s.skipped }),
    { pass: 0, fail: 0, skipped: 0 },
  );
  return { rows: stats, mismatches, total };
}

export function runDifferential(opts: DiffOptions): DiffReport {
  const harness = buildHarness();
  const { stats, cases } = prepare(opts);
  const mismatches: Mismatch[] = [];
  const batch = opts.batchSize ?? 4000;
  const target = opts.makeTarget();
  for (let start = 0; start < cases.length; start += batch) {
    const chunk = cases.slice(start, start + batch);
    compareChunk(opts, target, stats, chunk, runQemu(harness, chunk), mismatches);
    opts.onProgress?.(Math.min(start + batch, cases.length), cases.length);
  }
  return finish(stats, mismatches);
}

/** Like runDifferential, but yields to the event loop between batches. */
export async function runDifferentialAsync(opts: DiffOptions): Promise<DiffReport> {
  const harness = buildHarness();
  const { stats, cases } = prepare(opts);
  const mismatches: Mismatch[] = [];
  const batch = opts.batchSize ?? 500;
  const target = opts.makeTarget();
  for (let start = 0; start < cases.length; start += batch) {
    const chunk = cases.slice(start, start + batch);
    const ref = await runQemuAsync(harness, chunk);
    compareChunk(opts, target, stats, chunk, ref, mismatches);
    opts.onProgress?.(Math.min(start + batch, cases.length), cases.length);
    await new Promise((r) => setImmediate(r));
  }
  return finish(stats, mismatches);
}

const hex = (w: number): string => (w >>> 0).toString(16).padStart(8, '0');

export function formatMismatch(m: Mismatch): string {
  const lines = [`MISMATCH in row "${m.row}":`];
  m.insns.forEach((w, i) => lines.push(`  ${hex(w)}  ${m.disasm[i] ?? '?'}`));
  for (const d of m.diffs) lines.push(`    ${d.field.padEnd(10)} qemu=${d.qemu}  lichen=${d.lichen}`);
  return lines.join('\n');
}

export function formatTable(rep: DiffReport): string {
  const w = Math.max(10, ...rep.rows.map((r) => r.name.length));
  const lines = [
    `${'row'.padEnd(w)}  ${'pass'.padStart(6)}  ${'fail'.padStart(6)}  ${'skip'.padStart(5)}  reference stops`,
  ];
  for (const r of rep.rows) {
    const stops = Object.entries(r.stops)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    lines.push(
      `${r.name.padEnd(w)}  ${String(r.pass).padStart(6)}  ${String(r.fail).padStart(6)}  ${String(r.skipped).padStart(5)}  ${stops}`,
    );
  }
  const t = rep.total;
  lines.push(
    `${'TOTAL'.padEnd(w)}  ${String(t.pass).padStart(6)}  ${String(t.fail).padStart(6)}  ${String(t.skipped).padStart(5)}`,
  );
  return lines.join('\n');
}
