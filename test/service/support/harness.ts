import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { createApiApp } from '../../../apps/api/src/bootstrap';
import { startServe } from '../../../apps/api/src/serve';
import { loadConfig } from '../../../apps/runner/src/core/config';
import type { ServeHandle } from '../../../apps/api/src/serve';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const SCRIPTED_ENGINE = resolve(__dirname, 'scripted-engine.ts');

export const ADMIN_KEY = 'admin-key-0123456789abcdef';
export const KEY_A = 'tenant-a-key-0123456789';
export const KEY_B = 'tenant-b-key-0123456789';

/** Environment of one isolated service instance: its own Redis prefix and queue, temp dirs. */
export function testEnv(extra: Record<string, string> = {}): { env: NodeJS.ProcessEnv; prefix: string; dir: string } {
  const prefix = `lichen-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'lichen-svc-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    REDIS_URL,
    LICHEN_REDIS_PREFIX: prefix,
    LICHEN_QUEUE_NAME: 'runs',
    LICHEN_ADMIN_KEY: ADMIN_KEY,
    LICHEN_API_KEYS: `alpha=${KEY_A},beta=${KEY_B}`,
    LICHEN_RUNNER_CONCURRENCY: '2',
    LICHEN_RUNNER_METRICS_PORT: '0',
    LICHEN_IMAGE_DIR: join(dir, 'images'),
    LICHEN_IMAGE_CACHE_DIR: join(dir, 'cache'),
    LICHEN_ARTIFACT_DIR: join(dir, 'artifacts'),
    LICHEN_VM_ENGINE: SCRIPTED_ENGINE,
    // Specs that run the real kernel warm their VM threads briefly (the default 1500 idle-time
    // VMs per thread would compete with the test for the CPU).
    LICHEN_VM_WARMUP_RUNS: '20',
    LICHEN_STALLED_INTERVAL_MS: '5000',
    LICHEN_SHUTDOWN_GRACE_MS: '2000',
    LOG_LEVEL: 'silent',
    ...extra,
  };
  return { env, prefix, dir };
}

/** Deletes every key under the prefix (SCAN, so other users of this Redis are untouched). */
export async function dropPrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

export interface Service {
  handle: ServeHandle;
  url: string;
  prefix: string;
  dir: string;
  stop(): Promise<void>;
}

/** API + runner in this process (what `lichen serve` runs), on a free port. */
export async function startService(extra: Record<string, string> = {}): Promise<Service> {
  const { env, prefix, dir } = testEnv(extra);
  const handle = await startServe({ env, port: 0, host: '127.0.0.1' });
  return {
    handle,
    url: handle.url,
    prefix,
    dir,
    async stop() {
      await handle.close();
      await dropPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The API in this process and runners as child processes (so a test can SIGKILL one): what
 * the fault and retry specs need. `runner()` starts one more runner; `stop()` kills them all.
 */
export interface SplitService {
  url: string;
  env: NodeJS.ProcessEnv;
  prefix: string;
  dir: string;
  runner(): ChildProcess;
  /** Resolves once `n` runners are registered as BullMQ workers of the queue. */
  runnersUp(n: number, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSplitService(extra: Record<string, string> = {}): Promise<SplitService> {
  const { env, prefix, dir } = testEnv(extra);
  const api = await createApiApp(loadConfig(env), { shutdownHooks: false });
  await api.listen(0, '127.0.0.1');
  const runners: ChildProcess[] = [];
  return {
    url: `http://127.0.0.1:${(api.getHttpServer().address() as { port: number }).port}`,
    env,
    prefix,
    dir,
    runner() {
      const c = spawnRunner(env);
      runners.push(c);
      return c;
    },
    async runnersUp(n, ms = 90_000) {
      const q = new Queue('runs', { connection: { url: REDIS_URL }, prefix: `${prefix}:bull` });
      try {
        const until = Date.now() + ms;
        while ((await q.getWorkers()).length < n) {
          if (Date.now() > until) throw new Error(`${n} runners did not come up`);
          await new Promise((res) => setTimeout(res, 200));
        }
      } finally {
        await q.close();
      }
    },
    async stop() {
      for (const r of runners) if (r.exitCode === null) r.kill('SIGKILL');
      await api.close();
      await dropPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** A runner in its own process (`apps/runner/src/main.ts` through tsx), e.g. to kill it mid-run. */
export function spawnRunner(env: NodeJS.ProcessEnv): ChildProcess {
  const root = resolve(__dirname, '../../..');
  return spawn(process.execPath, ['--require', 'tsx/cjs', resolve(root, 'apps/runner/src/main.ts')], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** POST of a JSON body with an API key. */
export function postJson(url: string, path: string, body: unknown, key: string): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Submits a run (POST /v1/runs must answer 202) and returns its id. */
export async function submitRun(url: string, key: string, body: unknown): Promise<string> {
  const r = await postJson(url, '/v1/runs', body, key);
  const text = await r.text();
  if (r.status !== 202) throw new Error(`POST /v1/runs answered ${r.status}: ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

/** Polls GET /v1/runs/:id until final. */
export async function waitRun(url: string, key: string, id: string, ms = 20_000): Promise<Record<string, unknown>> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await fetch(`${url}/v1/runs/${id}`, { headers: auth(key) });
    const body = (await r.json()) as Record<string, unknown>;
    if (body.status !== 'queued' && body.status !== 'running') return body;
    if (Date.now() > end) throw new Error(`run ${id} still ${String(body.status)} after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** Reads an SSE stream until the server ends it (or `stopAfter` events), returning the events. */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  stopAfter = Infinity,
  timeoutMs = 20_000,
): Promise<{ status: number; events: SseEvent[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const res = await fetch(url, { headers, signal: ac.signal });
  const events: SseEvent[] = [];
  if (!res.body || res.status !== 200) {
    clearTimeout(timer);
    return { status: res.status, events };
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  try {
    while (events.length < stopAfter) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0 && events.length < stopAfter) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let id: string | null = null;
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length || id) events.push({ id, event, data: data.join('\n') });
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return { status: res.status, events };
}

/** Number of jobs in the service's queue in any state, and run records stored. */
export async function queuedAnything(prefix: string): Promise<{ jobs: number; runs: number }> {
  const r = new Redis(REDIS_URL);
  try {
    const jobs = (await r.keys(`${prefix}:bull:runs:*`)).filter((k) => /:bull:runs:[0-9a-f-]{36}$/.test(k)).length;
    const runs = (await r.keys(`${prefix}:run:*`)).length;
    return { jobs, runs };
  } finally {
    r.disconnect();
  }
}
