import type { BatchView } from './types';

const csvCell = (v: string | number | null): string => {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One row per submission × case. */
export function batchToCsv(b: BatchView): string {
  const rows = [
    [
      'submission',
      'case',
      'verdict',
      'detail',
      'exit_code',
      'signal',
      'instructions',
      'wall_ms',
      'max_memory_bytes',
      'run_id',
    ],
  ];
  for (const s of b.submissions) {
    for (const c of s.cases) {
      rows.push([
        s.id,
        c.name,
        c.verdict ?? 'pending',
        c.detail ?? '',
        c.exitCode === null ? '' : String(c.exitCode),
        c.signal === null ? '' : String(c.signal),
        c.stats ? String(c.stats.instructions) : '',
        c.stats ? String(c.stats.wallMs) : '',
        c.stats ? String(c.stats.maxMemoryBytes) : '',
        c.runId ?? '',
      ]);
    }
  }
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

const xml = (s: string): string =>
  s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/**
 * JUnit XML: one <testsuite> per submission, one <testcase> per case. accepted passes,
 * wrong_answer and limit verdicts are <failure>, runtime/build/internal errors are <error>,
 * skipped and unfinished cases are <skipped>.
 */
export function batchToJunit(b: BatchView): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  const suites: string[] = [];
  for (const s of b.submissions) {
    let sf = 0;
    let se = 0;
    let ss = 0;
    let time = 0;
    const cases: string[] = [];
    for (const c of s.cases) {
      const t = (c.stats?.wallMs ?? 0) / 1000;
      time += t;
      const open = `    <testcase classname="${xml(s.id)}" name="${xml(c.name)}" time="${t.toFixed(3)}">`;
      const msg = xml(c.detail ?? c.verdict ?? '');
      let body = '';
      switch (c.verdict) {
        case 'accepted':
          break;
        case 'wrong_answer':
        case 'cpu_steps_exceeded':
        case 'memory_exceeded':
        case 'timed_out':
          sf++;
          body = `\n      <failure type="${c.verdict}" message="${msg}"/>\n    `;
          break;
        case 'runtime_error':
        case 'build_failed':
        case 'internal_error':
          se++;
          body = `\n      <error type="${c.verdict}" message="${msg}"/>\n    `;
          break;
        default:
          ss++;
          body = `\n      <skipped message="${xml(c.verdict ?? 'not finished')}"/>\n    `;
      }
      cases.push(`${open}${body}</testcase>`);
    }
    tests += s.cases.length;
    failures += sf;
    errors += se;
    skipped += ss;
    suites.push(
      `  <testsuite name="${xml(s.id)}" tests="${s.cases.length}" failures="${sf}" errors="${se}" skipped="${ss}" time="${time.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  out.push(
    `<testsuites name="lichen batch ${xml(b.id)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}">`,
  );
  out.push(...suites);
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
