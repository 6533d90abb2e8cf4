import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fault the proxy applies to one matching request. */
export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'truncate'; afterBytes: number }
  | { kind: 'corrupt'; atByte: number }
  | { kind: 'delayHeaders'; ms: number }
  | { kind: 'stallBody'; afterBytes: number; ms: number }
  | { kind: 'reset' };

export interface ProxiedRequest {
  method: string;
  url: string;
  range: string | undefined;
  fault: Fault['kind'] | undefined;
}

interface Armed {
  fault: Fault;
  remaining: number;
  match: (method: string, url: string) => boolean;
}

/**
 * A loopback HTTP proxy in front of an S3 server that injects faults into chosen
 * requests: error statuses, truncated or corrupted bodies, delayed headers, stalled bodies
 * and connection resets. Headers are forwarded verbatim so SigV4 signatures still verify.
 */
export class FaultProxy {
  readonly requests: ProxiedRequest[] = [];
  private server: Server | undefined;
  private armed: Armed[] = [];
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Applies `fault` to the next `times` requests matching method and URL pattern. */
  inject(fault: Fault, opts: { times?: number; method?: string; path?: RegExp } = {}): void {
    const { times = 1, method, path } = opts;
    this.armed.push({
      fault,
      remaining: times,
      match: (m, u) => (!method || m === method) && (!path || path.test(u)),
    });
  }

  clearFaults(): void {
    this.armed = [];
  }

  /** Requests whose method and URL match. */
  count(method: string, path: RegExp, filter?: (r: ProxiedRequest) => boolean): number {
    return this.requests.filter((r) => r.method === method && path.test(r.url) && (!filter || filter(r))).length;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private take(method: string, url: string): Fault | undefined {
    const a = this.armed.find((x) => x.remaining > 0 && x.match(method, url));
    if (!a) return undefined;
    a.remaining--;
    return a.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const fault = this.take(method, url);
    const range = req.headers.range;
    this.requests.push({ method, url, range: typeof range === 'string' ? range : undefined, fault: fault?.kind });
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      req.on('end', () => {
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected ${fault.status}</Message></Error>`;
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const up = httpRequest(
      { host: this.target.host, port: this.target.port, method, path: url, headers: req.headers },
      (upRes) => void this.relay(upRes, res, fault),
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  }

  private async relay(upRes: IncomingMessage, res: ServerResponse, fault: Fault | undefined): Promise<void> {
    if (fault?.kind === 'delayHeaders') await new Promise((r) => setTimeout(r, fault.ms));
    if (res.destroyed) {
      upRes.destroy();
      return;
    }
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    let sent = 0;
    for await (const piece of upRes) {
      let buf = piece as Buffer;
      if (fault?.kind === 'truncate' && sent + buf.length > fault.afterBytes) {
        res.write(buf.subarray(0, Math.max(0, fault.afterBytes - sent)));
        await new Promise((r) => setTimeout(r, 10));
        res.destroy();
        upRes.destroy();
        return;
      }
      if (fault?.kind === 'corrupt' && fault.atByte >= sent && fault.atByte < sent + buf.length) {
        buf = Buffer.from(buf);
        buf[fault.atByte - sent] ^= 0xff;
      }
      if (fault?.kind === 'stallBody' && sent + buf.length > fault.afterBytes && sent <= fault.afterBytes) {
        const cut = fault.afterBytes - sent;
        res.write(buf.subarray(0, cut));
        await new Promise((r) => setTimeout(r, fault.ms));
        if (res.destroyed) {
          upRes.destroy();
          return;
        }
        buf = buf.subarray(cut);
      }
      sent += buf.length;
      if (!res.write(buf)) await new Promise((r) => res.once('drain', r));
      if (res.destroyed) {
        upRes.destroy();
        return;
      }
    }
    res.end();
  }
}

/** A loopback port with nothing listening (connections are refused). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
