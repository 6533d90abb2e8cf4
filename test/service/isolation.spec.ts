import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, KEY_A, startService, waitRun } from './support/harness';
import type { Service } from './support/harness';

let svc: Service;
beforeAll(async () => {
  svc = await startService({ LICHEN_VM_HEAP_MB: '64' });
});
afterAll(async () => {
  await svc?.stop();
});

async function submit(body: unknown): Promise<string> {
  const r = await fetch(`${svc.url}/v1/runs`, {
    method: 'POST',
    headers: { ...auth(KEY_A), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(202);
  return ((await r.json()) as { id: string }).id;
}

describe('runner isolation, cancellation and limits (scripted engine)', () => {
  it('an engine that throws fails only its run (internal_error), the next run succeeds', async () => {
    const bad = await waitRun(svc.url, KEY_A, await submit({ image: 'scratch', argv: ['throw'] }));
    expect(bad.status).toBe('internal_error');
    expect(bad.message).toMatch(/scripted engine failure/);
    const good = await waitRun(svc.url, KEY_A, await submit({ image: 'scratch', argv: ['echo', 'still alive'] }));
    expect(good.status).toBe('succeeded');
    expect(good.stdout).toBe('still alive\n');
  });

  it('a thread is reused after a clean run, never after a crash', async () => {
    const svc1 = await startService({ LICHEN_RUNNER_CONCURRENCY: '1' });
    try {
      const tid = async (): Promise<string> => {
        const r = await fetch(`${svc1.url}/v1/runs?wait=20`, {
          method: 'POST',
          headers: { ...auth(KEY_A), 'content-type': 'application/json' },
          body: JSON.stringify({ image: 'scratch', argv: ['thread-id'] }),
        });
        return ((await r.json()) as { stdout: string }).stdout;
      };
      const a = await tid();
      expect(await tid()).toBe(a);
      const r = await fetch(`${svc1.url}/v1/runs?wait=20`, {
        method: 'POST',
        headers: { ...auth(KEY_A), 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'scratch', argv: ['throw'] }),
      });
      expect(((await r.json()) as { status: string }).status).toBe('internal_error');
      expect(await tid()).not.toBe(a);
    } finally {
      await svc1.stop();
    }
  });

  it('a thread that blows its heap limit fails only its run', async () => {
    const bad = await waitRun(svc.url, KEY_A, await submit({ image: 'scratch', argv: ['heap-hog'] }), 60_000);
    expect(bad.status).toBe('internal_error');
    expect(bad.message).toMatch(/heap|memory/i);
    const good = await waitRun(svc.url, KEY_A, await submit({ image: 'scratch', argv: ['echo', 'ok'] }));
    expect(good.status).toBe('succeeded');
  });

  it('cancel reaches a running VM within a second (cooperative engine)', async () => {
    const id = await submit({ image: 'scratch', argv: ['sleep-ms', '20000'] });
    await waitStatus(id, 'running');
    const t0 = Date.now();
    const c = await fetch(`${svc.url}/v1/runs/${id}/cancel`, { method: 'POST', headers: auth(KEY_A) });
    expect(c.status).toBe(202);
    const run = await waitRun(svc.url, KEY_A, id);
    expect(run.status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('cancel of a VM that never yields terminates its thread', async () => {
    const id = await submit({ image: 'scratch', argv: ['spin'] });
    await waitStatus(id, 'running');
    const t0 = Date.now();
    await fetch(`${svc.url}/v1/runs/${id}/cancel`, { method: 'POST', headers: auth(KEY_A) });
    const run = await waitRun(svc.url, KEY_A, id);
    expect(run.status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a spinning VM past its wall limit is stopped as timed_out', async () => {
    const run = await waitRun(
      svc.url,
      KEY_A,
      await submit({ image: 'scratch', argv: ['spin'], limits: { wallMs: 300 } }),
    );
    expect(run.status).toBe('timed_out');
  });

  it('cancelling a queued run finishes it at once and it never runs', async () => {
    const blockers = await Promise.all([1, 2].map(() => submit({ image: 'scratch', argv: ['sleep-ms', '1500'] })));
    const id = await submit({ image: 'scratch', argv: ['echo', 'never'] });
    const c = await fetch(`${svc.url}/v1/runs/${id}/cancel`, { method: 'POST', headers: auth(KEY_A) });
    expect(((await c.json()) as { status: string }).status).toBe('cancelled');
    for (const b of blockers) await waitRun(svc.url, KEY_A, b);
    const run = await waitRun(svc.url, KEY_A, id);
    expect(run.status).toBe('cancelled');
    expect(run.stdout).toBe('');
  });

  it('maps kernel outcomes to run statuses with crash info for fatal signals', async () => {
    const segv = await waitRun(svc.url, KEY_A, await submit({ image: 'scratch', argv: ['segv'] }));
    expect(segv.status).toBe('failed');
    expect(segv.signal).toBe(11);
    expect((segv.crash as { faultAddress: string }).faultAddress).toBe('0x0');
    const exit3 = await waitRun(svc.url, KEY_A, await submit({ image: 'scratch', argv: ['exit', '3'] }));
    expect([exit3.status, exit3.exitCode]).toEqual(['failed', 3]);
    const loop = await waitRun(
      svc.url,
      KEY_A,
      await submit({ image: 'scratch', argv: ['loop'], limits: { cpuSteps: 1000 } }),
    );
    expect(loop.status).toBe('cpu_steps_exceeded');
  });

  it('artifacts are stored and served as a tar', async () => {
    const run = await waitRun(
      svc.url,
      KEY_A,
      await submit({ image: 'scratch', argv: ['write-artifact'], artifacts: true }),
    );
    expect(run.artifacts).toBe(true);
    const r = await fetch(`${svc.url}/v1/runs/${run.id as string}/artifacts`, { headers: auth(KEY_A) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-tar');
    const tar = Buffer.from(await r.arrayBuffer());
    expect(tar.subarray(0, 7).toString()).toBe('out.txt');
    expect(tar.subarray(512, 512 + 14).toString()).toBe('artifact data\n');
  });

  it('metrics count runs by status and worker crashes', async () => {
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    expect(text).toMatch(/lichen_runs_total\{status="internal_error",app="api"\} [1-9]/);
    expect(text).toMatch(/lichen_vm_worker_crashes_total\{reason="heap",app="api"\} 1/);
    expect(text).toMatch(/lichen_run_queue_wait_seconds_bucket/);
    expect(text).toMatch(/lichen_queue_jobs\{state="waiting",app="api"\}/);
  });
});

async function waitStatus(id: string, status: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    const r = (await (await fetch(`${svc.url}/v1/runs/${id}`, { headers: auth(KEY_A) })).json()) as { status: string };
    if (r.status === status) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`run ${id} never reached ${status}`);
}
