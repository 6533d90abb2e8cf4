import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, KEY_A, KEY_B, startService } from './support/harness';
import type { Service } from './support/harness';

let svc: Service;
let hooks: Server;
const received: { event: string; body: Record<string, unknown> }[] = [];
let hookUrl = '';

beforeAll(async () => {
  svc = await startService({ LICHEN_RUNNER_CONCURRENCY: '2' });
  hooks = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({
        event: String(req.headers['x-lichen-event']),
        body: JSON.parse(data) as Record<string, unknown>,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/hook`;
});
afterAll(async () => {
  await svc?.stop();
  await new Promise((r) => hooks?.close(r));
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const sub = (id: string, behaviour: string) => ({ id, files: [{ path: '/src/prog.c', content: b64(behaviour) }] });

interface View {
  status: string;
  generation: number;
  progress: { total: number; done: number; verdicts: Record<string, number> };
  submissions: {
    id: string;
    accepted: number;
    build: { status: string | null } | null;
    cases: { name: string; verdict: string | null; detail: string | null }[];
  }[];
}

async function createBatch(body: unknown, key = KEY_A): Promise<string> {
  const r = await fetch(`${svc.url}/v1/batches`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const j = (await r.json()) as { id: string };
  expect(r.status, JSON.stringify(j)).toBe(202);
  return j.id;
}

async function waitBatch(id: string, ms = 90_000): Promise<View> {
  const end = Date.now() + ms;
  for (;;) {
    const v = (await (await fetch(`${svc.url}/v1/batches/${id}`, { headers: auth(KEY_A) })).json()) as View;
    if (v.status === 'completed') return v;
    if (Date.now() > end) throw new Error(`batch ${id} not done: ${JSON.stringify(v.progress)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cases = [
  { name: 'small', argv: ['prog'], stdin: '1 2', expected: '3\n' },
  { name: 'negative', argv: ['prog'], stdin: '-5 2', expected: '-3\n' },
  { name: 'zero', argv: ['prog'], stdin: '0', expected: '0\n' },
  { name: 'many', argv: ['prog'], stdin: '1 2 3 4 5 6', expected: '21\n' },
  { name: 'big', argv: ['prog'], stdin: '1000000 1', expected: '1000001\n' },
];

const behaviours: [string, string, string][] = [
  ['s01', 'sum', 'accepted'],
  ['s02', 'sum-spaces', 'accepted'],
  ['s03', 'wrong', 'wrong_answer'],
  ['s04', 'loop', 'cpu_steps_exceeded'],
  ['s05', 'crash', 'runtime_error'],
  ['s06', 'fork-bomb', 'runtime_error'],
  ['s07', 'hog', 'memory_exceeded'],
  ['s08', 'slow', 'timed_out'],
  ['s09', 'syntax error', 'build_failed'],
  ['s10', 'sum', 'accepted'],
];

describe('grading batches (scripted engine: verdict flow through queue, build reuse, checker)', () => {
  let batchId = '';

  it('10 submissions × 5 cases with a build step get the right verdict in every cell', async () => {
    batchId = await createBatch({
      image: 'scratch',
      build: { argv: ['build'] },
      submissions: behaviours.map(([id, b]) => sub(id, b)),
      cases: cases.map((c) => ({ ...c, compare: 'trim' })),
      webhookUrl: hookUrl,
    });
    const v = await waitBatch(batchId);
    expect(v.progress.total).toBe(50);
    expect(v.progress.done).toBe(50);
    for (const [id, , verdict] of behaviours) {
      const s = v.submissions.find((x) => x.id === id);
      expect(
        s?.cases.map((c) => c.verdict),
        id,
      ).toEqual(Array(5).fill(verdict));
    }
    expect(v.submissions.find((s) => s.id === 's09')?.build?.status).toBe('failed');
    expect(v.submissions.find((s) => s.id === 's03')?.cases[0]?.detail).toBe('line 1: expected "3", got "4"');
    expect(v.progress.verdicts.accepted).toBe(15);
  });

  it('sends the completion webhook once', async () => {
    const end = Date.now() + 5000;
    while (received.filter((r) => r.event === 'batch.completed').length === 0 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    const got = received.filter((r) => r.event === 'batch.completed');
    expect(got.length).toBe(1);
    expect((got[0]?.body.batch as { id: string }).id).toBe(batchId);
  });

  it('exports CSV and JUnit XML', async () => {
    const csv = await (await fetch(`${svc.url}/v1/batches/${batchId}?format=csv`, { headers: auth(KEY_A) })).text();
    expect(csv.trim().split('\r\n').length).toBe(51);
    expect(csv).toContain('s03,small,wrong_answer');
    const r = await fetch(`${svc.url}/v1/batches/${batchId}?format=junit`, { headers: auth(KEY_A) });
    expect(r.headers.get('content-type')).toMatch(/application\/xml/);
    const xml = await r.text();
    expect(xml).toContain('tests="50" failures="20" errors="15" skipped="0"');
    const bad = await fetch(`${svc.url}/v1/batches/${batchId}?format=yaml`, { headers: auth(KEY_A) });
    expect(bad.status).toBe(400);
  });

  it('other tenants get 404 for the batch', async () => {
    const r = await fetch(`${svc.url}/v1/batches/${batchId}`, { headers: auth(KEY_B) });
    expect(r.status).toBe(404);
    expect(
      (await fetch(`${svc.url}/v1/batches/${batchId}/regrade`, { method: 'POST', headers: auth(KEY_B) })).status,
    ).toBe(404);
  });

  it('stopOnFirstFailure skips the cases after the first failure', async () => {
    const id = await createBatch({
      image: 'scratch',
      submissions: [
        { id: 'w', files: [{ path: '/work/prog', content: b64('wrong') }] },
        { id: 'ok', files: [{ path: '/work/prog', content: b64('sum') }] },
      ],
      cases: cases.slice(0, 3),
      stopOnFirstFailure: true,
    });
    const v = await waitBatch(id);
    expect(v.submissions.find((s) => s.id === 'w')?.cases.map((c) => c.verdict)).toEqual([
      'wrong_answer',
      'skipped',
      'skipped',
    ]);
    expect(v.submissions.find((s) => s.id === 'ok')?.cases.map((c) => c.verdict)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    // Regrade: every cell runs again as a new generation, with the same verdicts.
    const r = await fetch(`${svc.url}/v1/batches/${id}/regrade`, { method: 'POST', headers: auth(KEY_A) });
    expect(r.status).toBe(202);
    const again = await waitBatch(id);
    expect(again.generation).toBe(2);
    expect(again.submissions.map((s) => s.cases.map((c) => c.verdict))).toEqual(
      v.submissions.map((s) => s.cases.map((c) => c.verdict)),
    );
  });

  it('compare modes: exact is strict, tokens ignores layout, checker decides by exit status', async () => {
    const id = await createBatch({
      image: 'scratch',
      submissions: [{ id: 'spaces', files: [{ path: '/work/prog', content: b64('sum-spaces') }] }],
      cases: [
        { name: 'exact', argv: ['prog'], stdin: '1 2', expected: '3\n', compare: 'exact' },
        { name: 'tokens', argv: ['prog'], stdin: '1 2', expected: '3', compare: 'tokens' },
        { name: 'checker-ok', argv: ['prog'], stdin: '1 2', expected: '3', compare: 'checker', checkerArgv: ['check'] },
        {
          name: 'checker-wrong',
          argv: ['prog'],
          stdin: '1 2',
          expected: '4',
          compare: 'checker',
          checkerArgv: ['check'],
        },
      ],
    });
    const v = await waitBatch(id);
    const cells = v.submissions[0]?.cases ?? [];
    expect(cells.map((c) => c.verdict)).toEqual(['wrong_answer', 'accepted', 'accepted', 'wrong_answer']);
    expect(cells[3]?.detail).toBe('expected 4, got 3');
  });

  it('refuses bad batches with 400 and queues nothing', async () => {
    const bad = async (body: unknown): Promise<string> => {
      const r = await fetch(`${svc.url}/v1/batches`, {
        method: 'POST',
        headers: { ...auth(KEY_A), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(400);
      return ((await r.json()) as { error: { code: string } }).error.code;
    };
    const base = { image: 'scratch', submissions: [sub('a', 'sum')], cases: cases.slice(0, 1) };
    expect(await bad({ ...base, submissions: [sub('a', 'x'), sub('a', 'y')] })).toBe('duplicate_submission');
    expect(await bad({ ...base, cases: [cases[0], cases[0]] })).toBe('duplicate_case');
    expect(await bad({ ...base, cases: [{ ...cases[0], compare: 'checker' }] })).toBe('invalid_checker');
    expect(await bad({ ...base, cases: [{ ...cases[0], compare: 'fuzzy' }] })).toBe('validation_failed');
    expect(await bad({ ...base, submissions: [] })).toBe('validation_failed');
    expect(await bad({ ...base, image: 'nope:1' })).toBe('unknown_image');
    expect(await bad({ ...base, limits: { wallMs: 1e12 } })).toBe('limit_exceeds_maximum');
  });
});
