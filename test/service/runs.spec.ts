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

describe('HTTP conventions kept from the Express days', () => {
  it('GET answers with a weak ETag, and 304 with no body when If-None-Match names it', async () => {
    const id = (
      (await (await post('/v1/runs?wait=10', { image: 'scratch', argv: ['echo', 'etag'] })).json()) as {
        id: string;
      }
    ).id;
    const url = `${svc.url}/v1/runs/${id}`;
    const first = await fetch(url, { headers: auth(KEY_A) });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9_-]+"$/);
    expect(((await first.json()) as { stdout: string }).stdout).toBe('etag\n');

    const again = await fetch(url, { headers: { ...auth(KEY_A), 'if-none-match': `"other", ${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');

    const changed = await fetch(url, { headers: { ...auth(KEY_A), 'if-none-match': 'W/"0-stale"' } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { id: string }).id).toBe(id);
  });

  it('errors and POST replies carry no ETag', async () => {
    const missing = await fetch(`${svc.url}/v1/runs/no-such-run`, { headers: auth(KEY_A) });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('etag')).toBeNull();
    const created = await post('/v1/runs', { image: 'scratch', argv: ['true'] });
    expect(created.status).toBe(202);
    expect(created.headers.get('etag')).toBeNull();
  });

  it('routes match whatever the case of their fixed parts; path parameters keep theirs', async () => {
    const id = (
      (await (await post('/V1/Runs?wait=10', { image: 'scratch', argv: ['echo', 'case'] })).json()) as {
        id: string;
      }
    ).id;
    const r = await fetch(`${svc.url}/V1/RUNS/${id}`, { headers: auth(KEY_A) });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { stdout: string }).stdout).toBe('case\n');
    const other = await fetch(`${svc.url}/v1/runs/${id.toUpperCase()}`, { headers: auth(KEY_A) });
    expect(other.status).toBe(404);
  });
});
