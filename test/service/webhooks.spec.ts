/**
 * Signed webhooks: a real HTTP receiver checks Lichen-Signature (HMAC-SHA256 of "<t>.<raw body>"
 * with the tenant's secret), Lichen-Event and Lichen-Delivery, and refuses a tampered body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, auth, KEY_A, postJson, startService, submitRun, waitRun } from './support/harness';
import type { Service } from './support/harness';

/** The receiver's check, as in the API docs: any v1 matching, timestamp within 5 minutes. */
function verify(header: string | undefined, rawBody: Buffer, secret: string, nowSec = Date.now() / 1000): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSec - t) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  return parts
    .filter(([k]) => k === 'v1')
    .some(([, v]) => {
      const got = Buffer.from(v ?? '', 'hex');
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
}

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: { event: string; run?: { id: string; status: string }; batch?: { id: string; status: string } };
  answered: number;
}

let svc: Service;
let server: Server;
let hookUrl = '';
const deliveries: Delivery[] = [];
/** Paths whose first delivery attempt is answered 503 (to see a retry). */
const failFirst = new Set<string>();
/** Secrets the receiver accepts (the test adds them as it learns them). */
const known: string[] = [];
/** Requests the receiver refused (bad or missing signature). */
const refused: { path: string; raw: Buffer }[] = [];

beforeAll(async () => {
  svc = await startService({ LICHEN_WEBHOOK_ATTEMPTS: '3' });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = req.url ?? '';
      // A receiver as the docs describe it: refuse what does not verify with a known secret.
      const sig = req.headers['lichen-signature'];
      const verified = known.some((secret) => verify(typeof sig === 'string' ? sig : undefined, raw, secret));
      if (!verified) {
        refused.push({ path, raw });
        res.writeHead(401).end();
        return;
      }
      const answered = failFirst.delete(path) ? 503 : 204;
      const body = JSON.parse(raw.toString('utf8')) as Delivery['body'];
      deliveries.push({ path, headers: req.headers, raw, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await svc?.stop();
  await new Promise((r) => server?.close(r));
});

/** Waits for `n` POSTs to `path` on the receiver. */
async function deliveriesTo(path: string, n: number, ms = 15_000): Promise<Delivery[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = deliveries.filter((d) => d.path === path);
    if (got.length >= n) return got;
    if (Date.now() > end) throw new Error(`expected ${n} deliveries to ${path}, got ${got.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function createTenant(id: string): Promise<{ apiKey: string; webhookSecret: string }> {
  const r = await postJson(svc.url, '/v1/tenants', { id }, ADMIN_KEY);
  expect(r.status).toBe(201);
  return (await r.json()) as { apiKey: string; webhookSecret: string };
}

async function rotate(tenant: string, key = ADMIN_KEY): Promise<Response> {
  return fetch(`${svc.url}/v1/tenants/${tenant}/webhook-secret`, { method: 'POST', headers: auth(key) });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('signed webhooks', () => {
  let tenant: { apiKey: string; webhookSecret: string };
  beforeAll(async () => {
    tenant = await createTenant('hooks-a');
    known.push(tenant.webhookSecret);
  });

  it('a tenant gets its webhook secret once, at creation; the tenant list does not show it', async () => {
    expect(tenant.webhookSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const list = await (await fetch(`${svc.url}/v1/tenants`, { headers: auth(ADMIN_KEY) })).text();
    expect(list).toContain('hooks-a');
    expect(list).not.toContain(tenant.webhookSecret);
  });

  it('run.finished is signed with the tenant secret; a tampered body or another secret fails', async () => {
    const id = await submitRun(svc.url, tenant.apiKey, {
      image: 'scratch',
      argv: ['echo', 'signed'],
      webhookUrl: `${hookUrl}/run-1`,
    });
    await waitRun(svc.url, tenant.apiKey, id);
    const [d] = await deliveriesTo('/run-1', 1);
    if (!d) throw new Error('no delivery');
    expect(d.headers['lichen-event']).toBe('run.finished');
    expect(d.headers['lichen-delivery']).toMatch(UUID);
    expect(d.headers['content-type']).toBe('application/json');
    expect(d.body.event).toBe('run.finished');
    expect(d.body.run).toMatchObject({ id, status: 'succeeded' });
    const sig = d.headers['lichen-signature'] as string;
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(Math.abs(Number(/^t=(\d+)/.exec(sig)?.[1]) - Date.now() / 1000)).toBeLessThan(60);
    expect(verify(sig, d.raw, tenant.webhookSecret)).toBe(true);
    // Tampering with one byte of the body, the timestamp, or using another secret breaks it.
    const tampered = Buffer.from(d.raw.toString('utf8').replace('"succeeded"', '"failed"'));
    expect(tampered.equals(d.raw)).toBe(false);
    expect(verify(sig, tampered, tenant.webhookSecret)).toBe(false);
    const t = Number(/^t=(\d+)/.exec(sig)?.[1]);
    expect(verify(sig.replace(`t=${t}`, `t=${t + 1}`), d.raw, tenant.webhookSecret)).toBe(false);
    expect(verify(sig, d.raw, 'whsec_not-the-secret')).toBe(false);
    // A stale timestamp is refused by the receiver's tolerance (replay protection).
    expect(verify(sig, d.raw, tenant.webhookSecret, t + 301)).toBe(false);
    // Over HTTP: the receiver takes the genuine delivery again but refuses the tampered body.
    const resend = (body: Buffer) =>
      fetch(`${hookUrl}/resent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'lichen-signature': sig },
        body,
      });
    expect((await resend(d.raw)).status).toBe(204);
    expect((await resend(tampered)).status).toBe(401);
    expect(refused.map((x) => x.path)).toEqual(['/resent']);
    expect(deliveries.filter((x) => x.path === '/resent')).toHaveLength(1);
  });

  it('a retried delivery keeps its Lichen-Delivery id and is signed afresh', async () => {
    failFirst.add('/run-retry');
    const id = await submitRun(svc.url, tenant.apiKey, {
      image: 'scratch',
      argv: ['echo', 'retry'],
      webhookUrl: `${hookUrl}/run-retry`,
    });
    await waitRun(svc.url, tenant.apiKey, id);
    const ds = await deliveriesTo('/run-retry', 2);
    expect(ds.map((d) => d.answered)).toEqual([503, 204]);
    expect(ds[0]?.headers['lichen-delivery']).toBe(ds[1]?.headers['lichen-delivery']);
    for (const d of ds) expect(verify(d.headers['lichen-signature'] as string, d.raw, tenant.webhookSecret)).toBe(true);
    expect(ds[0]?.raw.equals(ds[1]?.raw as Buffer)).toBe(true);
    // Another delivery (another run) has another id.
    const other = deliveries.find((d) => d.path === '/run-1');
    expect(other?.headers['lichen-delivery']).not.toBe(ds[0]?.headers['lichen-delivery']);
  });

  it('batch.completed is signed the same way', async () => {
    const r = await postJson(
      svc.url,
      '/v1/batches',
      {
        image: 'scratch',
        submissions: [{ id: 's1', files: [] }],
        cases: [{ name: 'c1', argv: ['echo', '3'], expected: '3\n' }],
        webhookUrl: `${hookUrl}/batch-1`,
      },
      tenant.apiKey,
    );
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    const [d] = await deliveriesTo('/batch-1', 1, 30_000);
    expect(d?.headers['lichen-event']).toBe('batch.completed');
    expect(d?.headers['lichen-delivery']).toMatch(UUID);
    expect(d?.body.batch).toMatchObject({ id, status: 'completed' });
    expect(verify(d?.headers['lichen-signature'] as string, d?.raw as Buffer, tenant.webhookSecret)).toBe(true);
  });

  it('rotation (admin only): the new secret signs, the old one still signs during the grace period', async () => {
    expect((await rotate('hooks-a', tenant.apiKey)).status).toBe(403);
    expect((await rotate('no-such-tenant')).status).toBe(404);
    const r = await rotate('hooks-a');
    expect(r.status).toBe(200);
    const { webhookSecret, previousValidUntil } = (await r.json()) as {
      webhookSecret: string;
      previousValidUntil: string;
    };
    expect(webhookSecret).toMatch(/^whsec_/);
    expect(webhookSecret).not.toBe(tenant.webhookSecret);
    known.push(webhookSecret);
    expect(Date.parse(previousValidUntil) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    const id = await submitRun(svc.url, tenant.apiKey, {
      image: 'scratch',
      argv: ['echo', 'rotated'],
      webhookUrl: `${hookUrl}/run-rotated`,
    });
    await waitRun(svc.url, tenant.apiKey, id);
    const [d] = await deliveriesTo('/run-rotated', 1);
    const sig = d?.headers['lichen-signature'] as string;
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verify(sig, d?.raw as Buffer, webhookSecret)).toBe(true);
    expect(verify(sig, d?.raw as Buffer, tenant.webhookSecret)).toBe(true);
    // The first v1 is the new secret's.
    const newOnly = sig.split(',').slice(0, 2).join(',');
    expect(verify(newOnly, d?.raw as Buffer, webhookSecret)).toBe(true);
    expect(verify(newOnly, d?.raw as Buffer, tenant.webhookSecret)).toBe(false);
  });

  it('tenants seeded from LICHEN_API_KEYS sign too (an admin rotates the secret to learn it)', async () => {
    const r = await rotate('alpha');
    expect(r.status).toBe(200);
    const { webhookSecret } = (await r.json()) as { webhookSecret: string };
    known.push(webhookSecret);
    const id = await submitRun(svc.url, KEY_A, {
      image: 'scratch',
      argv: ['echo', 'seeded'],
      webhookUrl: `${hookUrl}/run-seeded`,
    });
    await waitRun(svc.url, KEY_A, id);
    const [d] = await deliveriesTo('/run-seeded', 1);
    expect(verify(d?.headers['lichen-signature'] as string, d?.raw as Buffer, webhookSecret)).toBe(true);
  });

  it('the rotation endpoint is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${svc.url}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/v1/tenants/{id}/webhook-secret');
  });

  it('every delivery the service made verified at the receiver', () => {
    expect(refused.filter((x) => x.path !== '/resent')).toEqual([]);
  });
});
