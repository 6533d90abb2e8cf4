/**
 * The load generator's HTTP client for bench:service: one kept-alive HTTP/1.1 connection, one
 * request at a time, requests written as one preformatted string and responses parsed by
 * Content-Length. It shares the machine's two cores with the service it measures, so it is kept
 * as cheap as the job allows (node:http cost about three times as much CPU per request, fetch
 * about twenty). Responses must carry Content-Length (the API's JSON responses do); a chunked
 * or malformed response fails the request with a clear error.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface HttpReply {
  status: number;
  body: unknown;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class BenchHttpConnection {
  private sock: Socket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: HttpReply) => void; reject: (e: Error) => void; what: string } | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly bearer: string,
  ) {}

  request(method: string, path: string, body?: unknown): Promise<HttpReply> {
    if (this.waiting) return Promise.reject(new Error('bench HTTP connection: one request at a time'));
    const payload = body === undefined ? '' : JSON.stringify(body);
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nAuthorization: Bearer ${this.bearer}\r\n` +
      (body === undefined
        ? ''
        : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`) +
      '\r\n';
    return new Promise<HttpReply>((resolve, reject) => {
      this.waiting = { resolve, reject, what: `${method} ${path}` };
      this.socket().write(head + payload);
    });
  }

  close(): void {
    this.sock?.destroy();
    this.sock = null;
  }

  private socket(): Socket {
    if (this.sock && !this.sock.destroyed) return this.sock;
    const s = connect(this.port, this.host);
    s.setNoDelay(true);
    this.buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => this.onData(c));
    // Only the current connection's end fails the request in flight (not one this client dropped).
    const gone = (e?: Error): void => {
      if (this.sock !== s) return;
      this.sock = null;
      this.fail(e ?? new Error('connection closed by the server'));
    };
    s.on('error', gone);
    s.on('close', () => gone());
    this.sock = s;
    return s;
  }

  private fail(e: Error): void {
    const w = this.waiting;
    this.waiting = null;
    if (w) w.reject(new Error(`${w.what}: ${e.message}`));
  }

  private onData(c: Buffer): void {
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
    const end = this.buf.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
    const lenText = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (!Number.isFinite(status) || lenText === undefined) {
      this.close();
      this.fail(
        new Error(`unexpected response (no status or no Content-Length): ${JSON.stringify(head.slice(0, 200))}`),
      );
      return;
    }
    const start = end + HEADER_END.length;
    const len = Number(lenText);
    if (this.buf.length < start + len) return;
    const text = this.buf.subarray(start, start + len).toString('utf8');
    this.buf = this.buf.subarray(start + len);
    const w = this.waiting;
    this.waiting = null;
    if (!w) return;
    try {
      w.resolve({ status, body: JSON.parse(text) as unknown });
    } catch (e) {
      w.reject(new Error(`${w.what}: HTTP ${status}, body is not JSON: ${(e as Error).message}`));
    }
  }
}
