import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe } from '../../apps/api/src/serve';
import type { ServeHandle } from '../../apps/api/src/serve';
import { auth, KEY_A, testEnv, waitRun } from './support/harness';

// A private redis-server (never the shared one): persisted with RDB so a restart keeps the data.
const dir = mkdtempSync(join(tmpdir(), 'lichen-redis-'));
let redis: ChildProcess | null = null;
let port = 0;
let svc: ServeHandle | null = null;

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function startRedis(): Promise<void> {
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '1 1', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = createServer();
      void s;
      import('node:net').then(({ connect }) => {
        const c = connect(port, '127.0.0.1', () => {
          c.end();
          res(true);
        });
        c.on('error', () => res(false));
      });
    });
    if (ok) return;
    if (Date.now() > end) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopRedis(): Promise<void> {
  const r = redis;
  if (!r || r.exitCode !== null) return;
  // SIGTERM: redis saves the RDB snapshot before exiting.
  r.kill('SIGTERM');
  await new Promise((res) => r.once('exit', res));
}

afterAll(async () => {
  await svc?.close().catch(() => undefined);
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis restarted during a run', () => {
  it('the service reconnects and the run completes once', async () => {
    port = await freePort();
    await startRedis();
    const { env } = testEnv({ REDIS_URL: `redis://127.0.0.1:${port}` });
    svc = await startServe({ env, port: 0, host: '127.0.0.1' });
    const r = await fetch(`${svc.url}/v1/runs`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'scratch', argv: ['chunks', '40', '100'] }),
    });
    const { id } = (await r.json()) as { id: string };
    const end = Date.now() + 30_000;
    while (
      ((await (await fetch(`${svc.url}/v1/runs/${id}`, { headers: auth(KEY_A) })).json()) as { status: string })
        .status !== 'running'
    ) {
      if (Date.now() > end) throw new Error('never started');
      await new Promise((res) => setTimeout(res, 50));
    }
    await stopRedis();
    await new Promise((res) => setTimeout(res, 1000));
    await startRedis();
    const run = await waitRun(svc.url, KEY_A, id, 60_000);
    expect(run.status).toBe('succeeded');
    // Chunks written while Redis was down may be missing from the console stream, but the
    // result holds the whole output.
    expect(run.stdout).toBe(Array.from({ length: 40 }, (_, i) => `line ${i}\n`).join(''));
    // And the service takes new runs again.
    const again = await fetch(`${svc.url}/v1/runs?wait=20`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'scratch', argv: ['echo', 'after restart'] }),
    });
    expect(((await again.json()) as { stdout: string }).stdout).toBe('after restart\n');
  }, 120_000);
});
