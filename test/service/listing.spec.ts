/** GET /v1/runs and GET /v1/batches: tenant-scoped, newest first, cursor pages, filters, bounded index. */
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  auth,
  KEY_A,
  KEY_B,
  postJson,
  REDIS_URL,
  startService,
  submitRun,
  waitRun,
} from './support/harness';
import type { RunSummary } from '../../apps/runner/src/core/types';
import type { Service } from './support/harness';

let svc: Service;
let redis: Redis;
beforeAll(async () => {
  svc = await startService({ LICHEN_RUNNER_CONCURRENCY: '2', LICHEN_RESULT_TTL_SECONDS: '3600' });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await svc?.stop();
});

type Summary = RunSummary;
interface Page<T = Summary> {
  items: T[];
  nextCursor: string | null;
}

async function get(path: string, key = KEY_A): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${svc.url}${path}`, { headers: auth(key) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
async function page<T = Summary>(path: string, key = KEY_A): Promise<Page<T>> {
  const r = await get(path, key);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as unknown as Page<T>;
}
/** Follows nextCursor to the end. */
async function all<T extends { id: string } = Summary>(
  path: string,
  key = KEY_A,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const p: Page<T> = await page<T>(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path, key);
    ids.push(...p.items.map((i) => i.id));
    cursor = p.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return { ids, pages };
}

const idx = (tenant: string, what: 'runs' | 'batches'): string => `${svc.prefix}:tenant:${tenant}:${what}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GET /v1/runs', () => {
  const mine: string[] = []; // tenant alpha, oldest first
  let failedId = '';
  let middle = '';

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      mine.push(await submitRun(svc.url, KEY_A, { image: 'scratch', argv: ['echo', `run ${i}`] }));
      await sleep(5);
      if (i === 2) middle = new Date().toISOString();
      await sleep(5);
    }
    failedId = await submitRun(svc.url, KEY_A, { image: 'scratch', argv: ['exit', '3'] });
    mine.push(failedId);
    for (const id of mine) await waitRun(svc.url, KEY_A, id);
    for (let i = 0; i < 2; i++) await submitRun(svc.url, KEY_B, { image: 'scratch', argv: ['echo', 'b'] });
  });

  it("lists only the caller's runs, newest first, as summaries without console output", async () => {
    const p = await page('/v1/runs');
    expect(p.items.map((i) => i.id)).toEqual([...mine].reverse());
    expect(p.nextCursor).toBeNull();
    const first = p.items[p.items.length - 1] as Summary;
    expect(Object.keys(first).sort()).toEqual(
      ['argv', 'batchId', 'createdAt', 'exitCode', 'finishedAt', 'id', 'image', 'instructions', 'status'].sort(),
    );
    expect(first).toMatchObject({ status: 'succeeded', image: 'scratch', argv: ['echo', 'run 0'], exitCode: 0 });
    expect(first.instructions).toBe(1000);
    expect(Date.parse(first.finishedAt as string)).toBeGreaterThanOrEqual(Date.parse(first.createdAt));
    expect(p.items[0]).toMatchObject({ id: failedId, status: 'failed', exitCode: 3 });
    const b = await page('/v1/runs', KEY_B);
    expect(b.items).toHaveLength(2);
    expect(b.items.some((i) => mine.includes(i.id))).toBe(false);
  });

  it('pages with an opaque cursor: every run once, in order, then nextCursor null', async () => {
    const p1 = await page('/v1/runs?limit=2');
    expect(p1.items).toHaveLength(2);
    expect(typeof p1.nextCursor).toBe('string');
    const { ids, pages } = await all('/v1/runs?limit=2');
    expect(ids).toEqual([...mine].reverse());
    expect(pages).toBe(3);
    const exact = await all('/v1/runs?limit=6');
    expect(exact.ids).toEqual([...mine].reverse());
    expect(exact.pages).toBe(1);
  });

  it('a run created after a page was read does not shift the next page', async () => {
    const p1 = await page('/v1/runs?limit=3');
    const newer = await submitRun(svc.url, KEY_A, { image: 'scratch', argv: ['echo', 'late'] });
    const p2 = await page(`/v1/runs?limit=3&cursor=${p1.nextCursor as string}`);
    expect([...p1.items, ...p2.items].map((i) => i.id)).toEqual([...mine].reverse());
    expect((await page('/v1/runs?limit=1')).items[0]?.id).toBe(newer);
    await waitRun(svc.url, KEY_A, newer);
    mine.push(newer);
  });

  it('filters by status (comma list) and by creation time', async () => {
    expect((await page('/v1/runs?status=failed')).items.map((i) => i.id)).toEqual([failedId]);
    const both = await page('/v1/runs?status=succeeded,failed&limit=100');
    expect(both.items.map((i) => i.id)).toEqual([...mine].reverse());
    expect((await page('/v1/runs?status=queued')).items).toEqual([]);
    // filtered pages still page correctly
    const { ids } = await all('/v1/runs?status=succeeded&limit=2');
    expect(ids).toEqual([...mine].reverse().filter((id) => id !== failedId));
    const since = await page(`/v1/runs?since=${encodeURIComponent(middle)}`);
    expect(since.items.map((i) => i.id)).toEqual([...mine.slice(3)].reverse());
  });

  it('refuses bad parameters with 400 and the error body', async () => {
    const cases: [string, string, RegExp][] = [
      ['status=succeeded,bogus', 'validation_failed', /status must be a comma-separated list of: queued, running/],
      ['limit=0', 'validation_failed', /limit must be at least 1/],
      ['limit=101', 'validation_failed', /limit must be at most 100/],
      ['limit=ten', 'validation_failed', /limit must be an integer/],
      ['since=yesterday', 'validation_failed', /since must be an ISO 8601 date-time/],
      ['cursor=not-a-cursor', 'invalid_cursor', /cursor/],
      ['colour=blue', 'validation_failed', /colour/],
    ];
    for (const [q, code, msg] of cases) {
      const r = await get(`/v1/runs?${q}`);
      expect(r.status, q).toBe(400);
      const e = (r.body as { error: { code: string; message: string } }).error;
      expect(e.code, q).toBe(code);
      expect(e.message, q).toMatch(msg);
    }
  });

  it('the admin key lists a named tenant; a tenant key cannot name another tenant', async () => {
    const a = await page('/v1/runs?tenant=alpha&limit=100', ADMIN_KEY);
    expect(a.items.map((i) => i.id)).toEqual([...mine].reverse());
    expect((await page('/v1/runs?tenant=beta', ADMIN_KEY)).items).toHaveLength(2);
    expect((await page('/v1/runs?tenant=alpha&limit=100')).items).toHaveLength(mine.length);
    const noTenant = await get('/v1/runs', ADMIN_KEY);
    expect([noTenant.status, (noTenant.body as { error: { code: string } }).error.code]).toEqual([
      400,
      'tenant_required',
    ]);
    const other = await get('/v1/runs?tenant=beta');
    expect([other.status, (other.body as { error: { code: string } }).error.code]).toEqual([403, 'forbidden']);
    expect((await fetch(`${svc.url}/v1/runs`)).status).toBe(401);
  });

  it('the index is bounded: it expires with the records, gone records are dropped', async () => {
    const key = idx('alpha', 'runs');
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(3000);
    expect(ttl).toBeLessThanOrEqual(3600);
    // A record that expired (deleted here) disappears from the listing and from the index.
    const victim = mine[1] as string;
    await redis.del(`${svc.prefix}:run:${victim}`);
    const p = await page('/v1/runs?limit=100');
    expect(p.items.map((i) => i.id)).not.toContain(victim);
    expect(await redis.zscore(key, victim)).toBeNull();
    // Entries older than the TTL whose record is gone are trimmed by the next insert;
    // an old entry whose record still exists (a run that finished late) is kept.
    const old = Date.now() - 2 * 3600 * 1000;
    const ghosts = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];
    for (const g of ghosts) await redis.zadd(key, old, g);
    await redis.zadd(key, old, mine[0] as string);
    const fresh = await submitRun(svc.url, KEY_A, { image: 'scratch', argv: ['echo', 'trim'] });
    for (const g of ghosts) expect(await redis.zscore(key, g)).toBeNull();
    expect(await redis.zscore(key, mine[0] as string)).not.toBeNull();
    expect(await redis.zcard(key)).toBe(mine.length); // mine - victim + fresh
    await waitRun(svc.url, KEY_A, fresh);
  });

  it('a filtered page does bounded work: past 2000 examined entries it returns early with a cursor', async () => {
    const key = idx('alpha', 'runs');
    const future = Date.now() + 3_600_000;
    const ghosts = Array.from({ length: 2100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await redis.zadd(key, ...ghosts.flatMap((g) => [future, g]));
    const p1 = await page('/v1/runs?status=succeeded&limit=5');
    expect(p1.items).toEqual([]);
    expect(p1.nextCursor).not.toBeNull();
    // the examined ids of expired records left the index
    expect(await redis.zcard(key)).toBe(mine.length + 100);
    const p2 = await page(`/v1/runs?status=succeeded&limit=5&cursor=${p1.nextCursor as string}`);
    expect(p2.items).toHaveLength(5);
    expect(p2.items.every((x) => x.status === 'succeeded')).toBe(true);
    // every ghost is gone now: the same page comes straight from the start
    expect(await redis.zcard(key)).toBe(mine.length);
    expect((await page('/v1/runs?status=succeeded&limit=5')).items).toEqual(p2.items);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${svc.url}/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    };
    for (const path of ['/v1/runs', '/v1/batches']) {
      const names = (doc.paths[path]?.get?.parameters ?? []).map((p) => p.name).sort();
      expect(names, path).toEqual(['cursor', 'limit', 'since', 'status', 'tenant']);
    }
  });
});

describe('GET /v1/batches', () => {
  // A one-cell batch: `echo 3` passes at once; `sleep-ms` keeps the batch running.
  const batch = (argv: string[]) => ({
    image: 'scratch',
    submissions: [{ id: 's1', files: [] }],
    cases: [{ name: 'c1', argv, expected: '3\n' }],
  });
  const ids: string[] = [];

  beforeAll(async () => {
    for (const argv of [
      ['echo', '3'],
      ['echo', '3'],
      ['sleep-ms', '20000'],
    ]) {
      const r = await postJson(svc.url, '/v1/batches', batch(argv), KEY_A);
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as { id: string }).id);
      await sleep(5);
    }
    const r = await postJson(svc.url, '/v1/batches', batch(['echo', '3']), KEY_B);
    expect(r.status).toBe(202);
    const end = Date.now() + 30_000;
    for (const id of ids.slice(0, 2)) {
      while (((await get(`/v1/batches/${id}`)).body as { status: string }).status !== 'completed') {
        if (Date.now() > end) throw new Error(`batch ${id} did not complete`);
        await sleep(100);
      }
    }
  });

  it("lists the caller's batches newest first with progress, pages and filters", async () => {
    type B = { id: string; status: string; image: string; generation: number; progress: Record<string, number> };
    const p = await page<B>('/v1/batches');
    expect(p.items.map((i) => i.id)).toEqual([...ids].reverse());
    expect(p.items[2]).toMatchObject({
      id: ids[0],
      status: 'completed',
      image: 'scratch',
      generation: 1,
      progress: { total: 1, done: 1, pending: 0 },
    });
    expect((await all<B>('/v1/batches?limit=1')).ids).toEqual([...ids].reverse());
    expect((await page<B>('/v1/batches?status=completed')).items.map((i) => i.id)).toEqual([ids[1], ids[0]]);
    expect((await page<B>('/v1/batches', KEY_B)).items).toHaveLength(1);
    expect((await page<B>('/v1/batches?tenant=alpha', ADMIN_KEY)).items).toHaveLength(3);
    const bad = await get('/v1/batches?status=done');
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { message: string } }).error.message).toMatch(/running, completed/);
    expect(await redis.ttl(idx('alpha', 'batches'))).toBeGreaterThan(3000);
  });
});
