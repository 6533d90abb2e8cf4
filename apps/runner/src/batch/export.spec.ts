import { describe, expect, it } from 'vitest';
import { batchToCsv, batchToJunit } from './export';
import type { BatchView } from './types';

const view: BatchView = {
  id: 'b1',
  status: 'completed',
  image: 'scratch',
  createdAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  generation: 1,
  progress: { total: 3, done: 3, pending: 0, verdicts: {} },
  submissions: [
    {
      id: 'alice',
      build: null,
      accepted: 1,
      cases: [
        {
          name: 'one',
          verdict: 'accepted',
          detail: null,
          runId: 'r1',
          exitCode: 0,
          signal: null,
          stats: { instructions: 10, wallMs: 1500, maxMemoryBytes: 4096 },
        },
        {
          name: 'two, "quoted"',
          verdict: 'wrong_answer',
          detail: 'line 1: expected "a" <got> b',
          runId: 'r2',
          exitCode: 0,
          signal: null,
          stats: null,
        },
        {
          name: 'three',
          verdict: 'runtime_error',
          detail: 'killed by SIGSEGV',
          runId: 'r3',
          exitCode: null,
          signal: 11,
          stats: null,
        },
      ],
    },
  ],
};

describe('exports', () => {
  it('CSV quotes fields with commas and quotes', () => {
    const lines = batchToCsv(view).trim().split('\r\n');
    expect(lines[0]).toBe(
      'submission,case,verdict,detail,exit_code,signal,instructions,wall_ms,max_memory_bytes,run_id',
    );
    expect(lines[1]).toBe('alice,one,accepted,,0,,10,1500,4096,r1');
    expect(lines[2]).toBe('alice,"two, ""quoted""",wrong_answer,"line 1: expected ""a"" <got> b",0,,,,,r2');
    expect(lines[3]).toBe('alice,three,runtime_error,killed by SIGSEGV,,11,,,,r3');
  });
  it('JUnit XML: failures, errors, escaping, counts', () => {
    const x = batchToJunit(view);
    expect(x).toContain('<testsuites name="lichen batch b1" tests="3" failures="1" errors="1" skipped="0">');
    expect(x).toContain('<testsuite name="alice" tests="3" failures="1" errors="1" skipped="0" time="1.500">');
    expect(x).toContain('<testcase classname="alice" name="one" time="1.500"></testcase>');
    expect(x).toContain('<failure type="wrong_answer" message="line 1: expected &quot;a&quot; &lt;got&gt; b"/>');
    expect(x).toContain('<error type="runtime_error" message="killed by SIGSEGV"/>');
  });
});
