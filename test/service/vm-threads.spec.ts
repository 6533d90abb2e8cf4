import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, KEY_A, startService, waitRun } from './support/harness';
import type { Service } from './support/harness';

// A runner that takes two jobs but runs one VM at a time (LICHEN_RUNNER_VM_THREADS=1).
let svc: Service;
beforeAll(async () => {
  svc = await startService({ LICHEN_RUNNER_CONCURRENCY: '2', LICHEN_RUNNER_VM_THREADS: '1' });
});
afterAll(async () => {
  await svc?.stop();
});

async function submit(argv: string[]): Promise<string> {
  const r = await fetch(`${svc.url}/v1/runs`, {
    method: 'POST',
    headers: { ...auth(KEY_A), 'content-type': 'application/json' },
    body: JSON.stringify({ image: 'scratch', argv }),
  });
  expect(r.status).toBe(202);
  return ((await r.json()) as { id: string }).id;
}

async function statusOf(id: string): Promise<string> {
  return ((await (await fetch(`${svc.url}/v1/runs/${id}`, { headers: auth(KEY_A) })).json()) as { status: string })
    .status;
}

describe('a runner with fewer VM threads than jobs', () => {
  it('runs the jobs it holds one after another in its one VM thread', async () => {
    const t0 = Date.now();
    const ids = [await submit(['sleep-ms', '300']), await submit(['sleep-ms', '300'])];
    const runs = await Promise.all(ids.map((id) => waitRun(svc.url, KEY_A, id)));
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    // Both were taken at once (concurrency 2) but their VMs did not overlap.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    const a = await waitRun(svc.url, KEY_A, await submit(['thread-id']));
    const b = await waitRun(svc.url, KEY_A, await submit(['thread-id']));
    expect(a.stdout).toBe(b.stdout);
  });

  it('cancelling a run that waits for the VM thread ends it at once; the running one goes on', async () => {
    const blocker = await submit(['sleep-ms', '1500']);
    const waiting = await submit(['echo', 'never']);
    // Claimed by the runner (running) while its VM waits for the thread.
    const end = Date.now() + 10_000;
    while ((await statusOf(waiting)) !== 'running' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(await statusOf(blocker)).toBe('running');
    const t0 = Date.now();
    await fetch(`${svc.url}/v1/runs/${waiting}/cancel`, { method: 'POST', headers: auth(KEY_A) });
    const cancelled = await waitRun(svc.url, KEY_A, waiting);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(cancelled).toMatchObject({ status: 'cancelled', stdout: '', message: 'cancelled before its VM started' });
    expect(await waitRun(svc.url, KEY_A, blocker)).toMatchObject({ status: 'succeeded' });
  });
});
