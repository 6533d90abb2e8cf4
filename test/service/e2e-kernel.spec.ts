/**
 * End to end with the REAL kernel (@lichen/kernel runVm in the runner's worker threads):
 * busybox image from the local store, static aarch64 programs built from test/guest/svc_*.c.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, defaultImageDir, LocalImageStore } from '@lichen/images';
import { fixture } from '../support';
import { auth, KEY_A, readSse, startService, waitRun } from './support/harness';
import type { Service } from './support/harness';

let svc: Service;
const b64file = (p: string): string => readFileSync(p).toString('base64');

beforeAll(async () => {
  // Build the guest programs up front (compiling blocks this process, which also serves the API).
  for (const p of ['svc_sum', 'svc_wrong', 'svc_loop', 'svc_crash', 'svc_forkbomb', 'svc_hog']) fixture(p);
  const store = new LocalImageStore(defaultImageDir());
  if (!store.get('busybox')) await buildImage('busybox', { store });
  // Real kernel: no LICHEN_VM_ENGINE override.
  svc = await startService({
    LICHEN_VM_ENGINE: '',
    LICHEN_IMAGE_DIR: defaultImageDir(),
    LICHEN_RUNNER_CONCURRENCY: '2',
  });
}, 300_000);
afterAll(async () => {
  await svc?.stop();
});

async function submit(body: unknown): Promise<string> {
  const r = await fetch(`${svc.url}/v1/runs`, {
    method: 'POST',
    headers: { ...auth(KEY_A), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const j = (await r.json()) as { id: string };
  expect(r.status, JSON.stringify(j)).toBe(202);
  return j.id;
}

describe('e2e with the real kernel', () => {
  it('busybox echo: submit → stream → result', async () => {
    const id = await submit({ image: 'busybox', argv: ['echo', 'hello', 'from', 'lichen'] });
    const { events } = await readSse(`${svc.url}/v1/runs/${id}/events`, auth(KEY_A), Infinity, 60_000);
    const out = events
      .filter((e) => e.event === 'stdout')
      .map((e) => (JSON.parse(e.data) as { data: string }).data)
      .join('');
    expect(out).toBe('hello from lichen\n');
    const run = await waitRun(svc.url, KEY_A, id);
    expect(run.status).toBe('succeeded');
    expect(run.stdout).toBe('hello from lichen\n');
    expect((run.stats as { instructions: number }).instructions).toBeGreaterThan(1000);
  });

  it('busybox sh pipeline with stdin and env', async () => {
    const run = await waitRun(
      svc.url,
      KEY_A,
      await submit({
        image: 'busybox',
        argv: ['sh', '-c', 'read x; echo "$GREETING $x" | tr a-z A-Z'],
        env: { GREETING: 'hi' },
        stdin: 'there\n',
      }),
      60_000,
    );
    expect([run.status, run.stdout]).toEqual(['succeeded', 'HI THERE\n']);
  });

  it('a static program given as a file on the scratch root, with a crash report for SIGSEGV', async () => {
    const ok = await waitRun(
      svc.url,
      KEY_A,
      await submit({
        image: 'scratch',
        argv: ['/prog'],
        files: [{ path: '/prog', content: b64file(fixture('svc_sum')), mode: 0o755 }],
        stdin: '20 22',
      }),
      60_000,
    );
    expect([ok.status, ok.stdout]).toEqual(['succeeded', '42\n']);
    const bad = await waitRun(
      svc.url,
      KEY_A,
      await submit({
        image: 'scratch',
        argv: ['/prog'],
        files: [{ path: '/prog', content: b64file(fixture('svc_crash')), mode: 0o755 }],
      }),
      60_000,
    );
    expect(bad.status).toBe('failed');
    expect(bad.signal).toBe(11);
    expect((bad.crash as { faultAddress: string }).faultAddress).toBe('0x0000000000000000');
  });

  it('a batch of 10 submissions × 5 cases of real programs gets the right verdict in every cell', async () => {
    const progs: [string, string, string][] = [
      ['sum-1', 'svc_sum', 'accepted'],
      ['sum-2', 'svc_sum', 'accepted'],
      ['sum-3', 'svc_sum', 'accepted'],
      ['wrong-1', 'svc_wrong', 'wrong_answer'],
      ['wrong-2', 'svc_wrong', 'wrong_answer'],
      ['loop', 'svc_loop', 'cpu_steps_exceeded'],
      ['crash', 'svc_crash', 'runtime_error'],
      ['forkbomb', 'svc_forkbomb', 'runtime_error'],
      ['hog', 'svc_hog', 'memory_exceeded'],
      ['sum-4', 'svc_sum', 'accepted'],
    ];
    const cases = [
      ['small', '1 2', '3'],
      ['negative', '-5 2', '-3'],
      ['zero', '0', '0'],
      ['many', '1 2 3 4 5 6', '21'],
      ['big', '1000000000000 1', '1000000000001'],
    ].map(([name, stdin, out]) => ({ name, argv: ['/work/prog'], stdin, expected: `${out}\n`, compare: 'exact' }));
    const r = await fetch(`${svc.url}/v1/batches`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({
        image: 'busybox',
        submissions: progs.map(([id, prog]) => ({
          id,
          files: [{ path: '/work/prog', content: b64file(fixture(prog)), mode: 0o755 }],
        })),
        cases,
        limits: { cpuSteps: 5_000_000, memoryBytes: 32 * 1024 * 1024, processes: 8, wallMs: 60_000 },
      }),
    }).catch((e: Error & { cause?: unknown }) => {
      throw new Error(`POST /v1/batches: ${e.message}: ${String(e.cause)}`);
    });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    let v: { status: string; submissions: { id: string; cases: { verdict: string; detail: string | null }[] }[] };
    const end = Date.now() + 240_000;
    for (;;) {
      v = (await (await fetch(`${svc.url}/v1/batches/${id}`, { headers: auth(KEY_A) })).json()) as typeof v;
      if (v.status === 'completed' || Date.now() > end) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    const got = Object.fromEntries(v.submissions.map((s) => [s.id, s.cases.map((c) => c.verdict)]));
    const want = Object.fromEntries(progs.map(([sid, , verdict]) => [sid, Array(5).fill(verdict)]));
    expect(got).toEqual(want);
  }, 300_000);

  it('a batch with a build step: the build output is reused by every case, a failed build fails its cells', async () => {
    const script = (body: string): string => Buffer.from(`#!/bin/sh\n${body}\n`).toString('base64');
    const r = await fetch(`${svc.url}/v1/batches`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({
        image: 'busybox',
        submissions: [
          { id: 'good', files: [{ path: '/work/src.sh', content: script('read a b; echo $((a + b))'), mode: 0o644 }] },
          { id: 'broken', files: [{ path: '/work/src.sh', content: script('BROKEN'), mode: 0o644 }] },
        ],
        build: {
          argv: [
            'sh',
            '-c',
            'grep -q BROKEN /work/src.sh && exit 3; cp /work/src.sh /work/prog && chmod 755 /work/prog',
          ],
        },
        cases: [
          { name: 'one', argv: ['/work/prog'], stdin: '1 2\n', expected: '3\n', compare: 'exact' },
          { name: 'two', argv: ['/work/prog'], stdin: '40 2\n', expected: '42\n', compare: 'exact' },
        ],
        limits: { cpuSteps: 20_000_000, wallMs: 60_000 },
      }),
    });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    type View = {
      status: string;
      submissions: { id: string; build: { status: string | null } | null; cases: { verdict: string }[] }[];
    };
    let v: View;
    const end = Date.now() + 180_000;
    for (;;) {
      v = (await (await fetch(`${svc.url}/v1/batches/${id}`, { headers: auth(KEY_A) })).json()) as View;
      if (v.status === 'completed' || Date.now() > end) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    const got = Object.fromEntries(v.submissions.map((sub) => [sub.id, sub.cases.map((c) => c.verdict)]));
    expect(got).toEqual({ good: ['accepted', 'accepted'], broken: ['build_failed', 'build_failed'] });
  }, 240_000);

  it("returns the files a real guest wrote as the run's artifacts (tar of the overlay changes)", async () => {
    const id = await submit({
      image: 'busybox',
      argv: ['sh', '-c', 'mkdir -p /out && echo graded > /out/result.txt'],
      artifacts: true,
    });
    const run = await waitRun(svc.url, KEY_A, id, 60_000);
    expect(run.status).toBe('succeeded');
    const r = await fetch(`${svc.url}/v1/runs/${id}/artifacts`, { headers: auth(KEY_A) });
    expect(r.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'lichen-artifacts-'));
    try {
      const tarPath = join(dir, 'a.tar');
      writeFileSync(tarPath, Buffer.from(await r.arrayBuffer()));
      const names = execFileSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).split('\n');
      const entry = names.find((n) => /(^|\/)out\/result\.txt$/.test(n));
      expect(entry, names.join(', ')).toBeDefined();
      expect(execFileSync('tar', ['-xOf', tarPath, entry as string], { encoding: 'utf8' })).toBe('graded\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cancels a real guest in an endless loop within a second', async () => {
    const id = await submit({
      image: 'scratch',
      argv: ['/prog'],
      files: [{ path: '/prog', content: b64file(fixture('svc_loop')), mode: 0o755 }],
      limits: { cpuSteps: 5e10, wallMs: 120_000 },
    });
    const end = Date.now() + 60_000;
    while (
      ((await (await fetch(`${svc.url}/v1/runs/${id}`, { headers: auth(KEY_A) })).json()) as { status: string })
        .status !== 'running'
    ) {
      if (Date.now() > end) throw new Error('never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await fetch(`${svc.url}/v1/runs/${id}/cancel`, { method: 'POST', headers: auth(KEY_A) });
    const run = await waitRun(svc.url, KEY_A, id);
    expect(run.status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});
