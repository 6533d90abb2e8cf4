import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, KEY_A, startService, waitRun } from './support/harness';
import type { Service } from './support/harness';

let svc: Service;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

const post = (path: string, body: unknown, key = KEY_A) =>
  fetch(`${svc.url}${path}`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('runs (scripted engine: service plumbing)', () => {
  it('queues a run and returns its result with output and stats', async () => {
    const r = await post('/v1/runs', { image: 'scratch', argv: ['echo', 'hello', 'world'] });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    const run = await waitRun(svc.url, KEY_A, id);
    expect(run.status).toBe('succeeded');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('hello world\n');
    expect(run.stdoutTruncated).toBe(false);
    expect((run.stats as { instructions: number }).instructions).toBe(1000);
  });

  it('?wait returns the finished run', async () => {
    const r = await post('/v1/runs?wait=10', { image: 'scratch', argv: ['cat'], stdin: 'piped\n' });
    expect(r.status).toBe(200);
    const run = (await r.json()) as Record<string, unknown>;
    expect(run.status).toBe('succeeded');
    expect(run.stdout).toBe('piped\n');
  });
});
