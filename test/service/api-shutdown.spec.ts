import { rmSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { startServe } from '../../apps/api/src/serve';
import type { ServeHandle } from '../../apps/api/src/serve';
import { loadConfig } from '../../apps/runner/src/core/config';
import { closeContext } from '../../apps/runner/src/core/context';
import { auth, dropPrefix, KEY_A, readSse, submitRun, testEnv } from './support/harness';
import type { SseEvent } from './support/harness';

/**
 * An API instance that stops while clients hold a `?wait=` request and an event stream open
 * answers both at once instead of holding its shutdown until the run ends; the stream's
 * client resumes on another instance with Last-Event-ID and loses nothing.
 */
let serve: ServeHandle;
let other: INestApplication;
let otherUrl: string;
let prefix: string;
let dir: string;
beforeAll(async () => {
  const t = testEnv();
  prefix = t.prefix;
  dir = t.dir;
  serve = await startServe({ env: t.env, port: 0, host: '127.0.0.1' });
  other = await createApiApp(loadConfig(t.env), { shutdownHooks: false });
  await other.listen(0, '127.0.0.1');
  otherUrl = `http://127.0.0.1:${(other.getHttpServer().address() as { port: number }).port}`;
});
afterAll(async () => {
  await other?.close();
  await serve?.runner.close();
  if (serve) await closeContext(serve.context);
  await dropPrefix(prefix);
  rmSync(dir, { recursive: true, force: true });
});

const statusesOf = (evs: SseEvent[]): string[] =>
  evs.filter((e) => e.event === 'status').map((e) => (JSON.parse(e.data) as { status: string }).status);
const stdoutOf = (evs: SseEvent[]): string =>
  evs
    .filter((e) => e.event === 'stdout')
    .map((e) => (JSON.parse(e.data) as { data: string }).data)
    .join('');

describe('API shutdown with long-lived requests open', () => {
  it('answers a pending ?wait= with 202 and ends event streams without `end`; the stream resumes elsewhere', async () => {
    // 60 lines 50 ms apart: about 3 s, far longer than the shutdown may take.
    const body = { image: 'scratch', argv: ['chunks', '60', '50'] };
    const waiting = fetch(`${serve.url}/v1/runs?wait=30`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const id = await submitRun(serve.url, KEY_A, body);
    const streamed = readSse(`${serve.url}/v1/runs/${id}/events`, auth(KEY_A));
    // Let both runs start and the stream deliver some output.
    await new Promise((r) => setTimeout(r, 600));

    const t0 = performance.now();
    await serve.api.close();
    const closeMs = performance.now() - t0;
    // Well under the run's 3 s, and under the 1 s Node adds to a keep-alive timeout.
    expect(closeMs).toBeLessThan(800);

    const w = await waiting;
    expect(w.status).toBe(202);
    const wb = (await w.json()) as { id: string; status: string };
    expect(['queued', 'running']).toContain(wb.status);

    const first = await streamed;
    expect(first.status).toBe(200);
    expect(first.events.some((e) => e.event === 'end')).toBe(false);
    expect(statusesOf(first.events)).not.toContain('succeeded');
    const lastId = [...first.events].reverse().find((e) => e.id)?.id;
    expect(lastId).toBeTruthy();

    // The client reconnects to another instance where it left off.
    const rest = await readSse(`${otherUrl}/v1/runs/${id}/events`, { ...auth(KEY_A), 'last-event-id': lastId ?? '' });
    expect(rest.events[rest.events.length - 1]?.event).toBe('end');
    const all = [...first.events, ...rest.events];
    expect(statusesOf(all)).toEqual(['queued', 'running', 'succeeded']);
    expect(stdoutOf(all)).toBe(Array.from({ length: 60 }, (_, i) => `line ${i}\n`).join(''));
  }, 15_000);
});
