import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BenchHttpConnection } from '../../bench/http-client';

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function serve(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<number> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const json = (res: ServerResponse, status: number, v: unknown): void => {
  const t = JSON.stringify(v);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t) });
  res.end(t);
};

describe('BenchHttpConnection (bench:service load generator)', () => {
  it('sends method, path, bearer key and JSON body; reads status and JSON over one kept-alive connection', async () => {
    const sockets = new Set<unknown>();
    const port = await serve((req, body, res) => {
      sockets.add(req.socket);
      json(res, req.method === 'POST' ? 202 : 200, {
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        body,
      });
    });
    const c = new BenchHttpConnection('127.0.0.1', port, 'k1');
    const a = await c.request('POST', '/v1/runs?wait=1', { argv: ['echo', 'héllo'] });
    expect(a).toEqual({
      status: 202,
      body: { method: 'POST', url: '/v1/runs?wait=1', auth: 'Bearer k1', body: '{"argv":["echo","héllo"]}' },
    });
    const b = await c.request('GET', '/v1/runs/x');
    expect(b.body).toMatchObject({ method: 'GET', url: '/v1/runs/x', body: '' });
    expect(sockets.size).toBe(1);
    c.close();
  });

  it('fails a request whose connection the server closes, and reconnects for the next one', async () => {
    let n = 0;
    const port = await serve((req, _body, res) => {
      if (n++ === 0) req.socket.destroy();
      else json(res, 200, { ok: true });
    });
    const c = new BenchHttpConnection('127.0.0.1', port, 'k');
    await expect(c.request('GET', '/a')).rejects.toThrow(/GET \/a: connection closed by the server/);
    expect(await c.request('GET', '/b')).toEqual({ status: 200, body: { ok: true } });
    c.close();
  });

  it('rejects a response without Content-Length (chunked) and one whose body is not JSON', async () => {
    const port = await serve((req, _body, res) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        res.end('1}');
      } else {
        res.writeHead(500, { 'content-length': 5 });
        res.end('oops!');
      }
    });
    const c = new BenchHttpConnection('127.0.0.1', port, 'k');
    await expect(c.request('GET', '/chunked')).rejects.toThrow(/no status or no Content-Length/);
    await expect(c.request('GET', '/text')).rejects.toThrow(/HTTP 500, body is not JSON/);
    c.close();
  });
});
