import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, KEY_A, startSplitService, waitRun, type SplitService } from './support/harness';

let svc: SplitService;
let url = '';
let dir = '';
const startRunner = (): ChildProcess => svc.runner();

beforeAll(async () => {
  svc = await startSplitService({
    LICHEN_STALLED_INTERVAL_MS: '1000',
    LICHEN_RUNNER_CONCURRENCY: '1',
    LICHEN_JOB_ATTEMPTS: '2',
  });
  ({ url, dir } = svc);
});
afterAll(async () => {
  await svc?.stop();
});

async function status(id: string): Promise<{ status: string; attempt: number }> {
  return (await (await fetch(`${url}/v1/runs/${id}`, { headers: auth(KEY_A) })).json()) as {
    status: string;
    attempt: number;
  };
}

describe('faults', () => {
  it('a runner killed with SIGKILL mid-run: the run is retried by another runner and completes once', async () => {
    const first = startRunner();
    const r = await fetch(`${url}/v1/runs`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'scratch', argv: ['slow-first', join(dir, 'first-attempt')] }),
    });
    const { id } = (await r.json()) as { id: string };
    const end = Date.now() + 60_000;
    while ((await status(id)).status !== 'running') {
      if (Date.now() > end) throw new Error('never started');
      await new Promise((res) => setTimeout(res, 50));
    }
    // A second runner is up (idle: the job is locked by the first) before the first dies.
    const second = startRunner();
    void second;
    await svc.runnersUp(2);
    expect((await status(id)).status).toBe('running');
    first.kill('SIGKILL');
    await new Promise((res) => first.once('exit', res));
    const run = await waitRun(url, KEY_A, id, 90_000);
    expect(run.status).toBe('succeeded');
    expect(run.attempt).toBe(2);
    expect(run.stdout).toBe(Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
  }, 120_000);
});
