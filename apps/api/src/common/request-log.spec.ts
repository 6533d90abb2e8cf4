import { Writable } from 'node:stream';
import Fastify from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../../../runner/src/core/metrics';
import { observeRequests } from './request-log';
import type { RequestLine } from './request-log';

/** A Fastify app with the observer on three routes, and the log lines it wrote. */
async function serve(level: pino.Level): Promise<{
  url: string;
  lines: (RequestLine & { level: number; msg: string })[];
  metrics: ServiceMetrics;
  close: () => Promise<void>;
}> {
  const lines: (RequestLine & { level: number; msg: string })[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
      cb();
    },
  });
  const log = pino({ level }, sink);
  const metrics = new ServiceMetrics('api', { defaultMetrics: false });
  const app = Fastify();
  observeRequests(app, metrics, () => log);
  app.get('/v1/things/:id', () => ({ ok: true }));
  app.get('/boom', (_req, reply) => reply.status(503).send({ error: 'down' }));
  app.get('/healthz', () => ({ status: 'ok' }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, lines, metrics, close: () => app.close() };
}

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('observeRequests', () => {
  it('logs each request at info with method, URL, status and time, without headers', async () => {
    const s = await serve('info');
    close = s.close;
    await fetch(`${s.url}/v1/things/7?x=1`, { headers: { authorization: 'Bearer secret-key' } });
    await fetch(`${s.url}/v1/things/8`);
    await settle();
    expect(s.lines).toHaveLength(2);
    expect(s.lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      method: 'GET',
      url: '/v1/things/7?x=1',
      statusCode: 200,
      remoteAddress: '127.0.0.1',
    });
    expect(s.lines[1].reqId).toBeGreaterThan(s.lines[0].reqId);
    expect(typeof s.lines[0].responseTime).toBe('number');
    expect(JSON.stringify(s.lines)).not.toContain('secret-key');
  });

  it('logs only failed requests when the level is above info, and never the probes', async () => {
    const s = await serve('warn');
    close = s.close;
    await fetch(`${s.url}/v1/things/1`);
    await fetch(`${s.url}/boom`);
    await fetch(`${s.url}/healthz`);
    await settle();
    expect(s.lines.map((l) => [l.level, l.msg, l.statusCode])).toEqual([[50, 'request failed', 503]]);
  });

  it('counts every request by route and code, probes and unknown routes included', async () => {
    const s = await serve('info');
    close = s.close;
    await fetch(`${s.url}/v1/things/1`);
    await fetch(`${s.url}/healthz`);
    await fetch(`${s.url}/nowhere`);
    await settle();
    const text = await s.metrics.registry.getSingleMetricAsString('lichen_http_requests_total');
    expect(text).toContain('method="GET",route="/v1/things/:id",code="200"');
    expect(text).toContain('method="GET",route="/healthz",code="200"');
    expect(text).toContain('method="GET",route="unmatched",code="404"');
    expect(s.lines.map((l) => l.url)).toEqual(['/v1/things/1', '/nowhere']);
  });
});
