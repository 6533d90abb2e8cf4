import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, auth, KEY_A, KEY_B, readSse, startService, waitRun } from './support/harness';
import type { Service } from './support/harness';

let svc: Service;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

const json = (key: string, body?: unknown, method = 'POST') => ({
  method,
  headers: { ...auth(key), 'content-type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

describe('tenancy', () => {
  it("a tenant cannot see, stream, cancel or download another tenant's run (404)", async () => {
    const r = await fetch(
      `${svc.url}/v1/runs`,
      json(KEY_A, { image: 'scratch', argv: ['echo', 'secret'], artifacts: true }),
    );
    const { id } = (await r.json()) as { id: string };
    await waitRun(svc.url, KEY_A, id);
    for (const [path, method] of [
      [`/v1/runs/${id}`, 'GET'],
      [`/v1/runs/${id}/events`, 'GET'],
      [`/v1/runs/${id}/cancel`, 'POST'],
      [`/v1/runs/${id}/artifacts`, 'GET'],
    ] as const) {
      const res = await fetch(`${svc.url}${path}`, { method, headers: auth(KEY_B) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/not_found$/);
    }
    const mine = await fetch(`${svc.url}/v1/runs/${id}`, { headers: auth(KEY_A) });
    expect(mine.status).toBe(200);
  });

  it('admin creates a tenant with limits; its key works, a deleted tenant’s key does not', async () => {
    const created = await fetch(
      `${svc.url}/v1/tenants`,
      json(ADMIN_KEY, { id: 'gamma', maxLimits: { cpuSteps: 5000 }, rateLimitPerMinute: 1000 }),
    );
    expect(created.status).toBe(201);
    const { apiKey } = (await created.json()) as { apiKey: string };
    const over = await fetch(
      `${svc.url}/v1/runs`,
      json(apiKey, { image: 'scratch', argv: ['echo'], limits: { cpuSteps: 6000 } }),
    );
    expect(over.status).toBe(400);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('limit_exceeds_maximum');
    const fine = await fetch(
      `${svc.url}/v1/runs?wait=10`,
      json(apiKey, { image: 'scratch', argv: ['echo', 'g'], limits: { cpuSteps: 5000 } }),
    );
    expect(fine.status).toBe(200);
    const dup = await fetch(`${svc.url}/v1/tenants`, json(ADMIN_KEY, { id: 'gamma' }));
    expect(dup.status).toBe(409);
    const list = (await (await fetch(`${svc.url}/v1/tenants`, { headers: auth(ADMIN_KEY) })).json()) as {
      tenants: { id: string }[];
    };
    expect(list.tenants.map((t) => t.id)).toEqual(['alpha', 'beta', 'gamma']);
    expect((await fetch(`${svc.url}/v1/tenants/gamma`, { method: 'DELETE', headers: auth(ADMIN_KEY) })).status).toBe(
      200,
    );
    const gone = await fetch(`${svc.url}/v1/runs`, json(apiKey, { image: 'scratch', argv: ['echo'] }));
    expect(gone.status).toBe(401);
  });

  it('tenant keys cannot manage tenants or images (403)', async () => {
    expect((await fetch(`${svc.url}/v1/tenants`, { headers: auth(KEY_A) })).status).toBe(403);
    expect(
      (await fetch(`${svc.url}/v1/images?ref=x:1`, { method: 'POST', headers: auth(KEY_A), body: 'x' })).status,
    ).toBe(403);
    expect((await fetch(`${svc.url}/v1/images/x%3A1`, { method: 'DELETE', headers: auth(KEY_A) })).status).toBe(403);
  });

  it('the request rate limit answers 429 with Retry-After', async () => {
    const created = await fetch(`${svc.url}/v1/tenants`, json(ADMIN_KEY, { id: 'delta', rateLimitPerMinute: 3 }));
    const { apiKey } = (await created.json()) as { apiKey: string };
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await fetch(`${svc.url}/v1/images`, { headers: auth(apiKey) })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const r = await fetch(`${svc.url}/v1/images`, { headers: auth(apiKey) });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('the concurrency cap holds runs of one tenant back without failing them', async () => {
    const created = await fetch(`${svc.url}/v1/tenants`, json(ADMIN_KEY, { id: 'eps', concurrency: 1 }));
    const { apiKey } = (await created.json()) as { apiKey: string };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${svc.url}/v1/runs`, json(apiKey, { image: 'scratch', argv: ['sleep-ms', '400'] }));
      ids.push(((await r.json()) as { id: string }).id);
    }
    const runs = await Promise.all(ids.map((id) => waitRun(svc.url, apiKey, id)));
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    const [a, b] = runs.map((r) => ({
      start: Date.parse(r.startedAt as string),
      end: Date.parse(r.finishedAt as string),
    }));
    // One after the other, never overlapping.
    expect(a!.end <= b!.start || b!.end <= a!.start).toBe(true);
  });

  it('SSE of an unknown run is 404 JSON, not a stream', async () => {
    const r = await readSse(`${svc.url}/v1/runs/00000000-0000-0000-0000-000000000000/events`, auth(KEY_A));
    expect(r.status).toBe(404);
  });
});
