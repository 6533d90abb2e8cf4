/**
 * AF_UNIX sockets: socketpair and named/abstract stream, datagram and seqpacket sockets
 * (bind/listen/connect/accept), shutdown, SCM_RIGHTS fd passing. Names live in a per-VM
 * table. The queue, recv rules and stream push are the shared ones of net/socket.ts.
 */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { Task } from '../task';
import { type KFile, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from '../fs/file';
import {
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_ERROR,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_TYPE,
  Socket,
  intBytes,
  nonblockFlag,
  raiseSigpipe,
  type EmptyState,
} from './socket';

export const AF_UNIX = 1;
const SO_PEERCRED = 17;
const CAPACITY = 212992;

/** Registry of bound names (path or "\0abstract") → listening or datagram socket. */
const registries = new WeakMap<Kernel, Map<string, UnixSocket>>();
function registry(k: Kernel): Map<string, UnixSocket> {
  let r = registries.get(k);
  if (!r) registries.set(k, (r = new Map()));
  return r;
}

/** sockaddr_un bytes of a name (family only for an unnamed socket). */
function unixAddrBytes(name: string | null): Uint8Array {
  const bytes =
    name === null
      ? Buffer.alloc(0)
      : name.startsWith('\0')
        ? Buffer.from(name, 'latin1')
        : Buffer.from(name + '\0', 'latin1');
  return Buffer.concat([Buffer.from([AF_UNIX, 0]), bytes]);
}

export class UnixSocket extends Socket {
  readonly domain = AF_UNIX;
  readonly protocol = 0;
  peer: UnixSocket | null = null;
  name: string | null = null;
  peerClosed = false;
  connected = false;
  creds = { pid: 0, uid: 0, gid: 0 };

  get capacity(): number {
    return CAPACITY;
  }

  /** sockaddr_un → registry key ("\0name" for the abstract namespace). */
  private parseName(t: Task, b: Uint8Array): string {
    if (b.length < 2 || b.length > 110) throw new KernelError(Errno.EINVAL);
    const family = b[0] | (b[1] << 8);
    if (family !== AF_UNIX) throw new KernelError(Errno.EAFNOSUPPORT);
    const path = b.subarray(2);
    if (path.length === 0) throw new KernelError(Errno.EINVAL);
    if (path[0] === 0) return '\0' + Buffer.from(path.subarray(1)).toString('latin1');
    const end = path.indexOf(0);
    const p = Buffer.from(end >= 0 ? path.subarray(0, end) : path).toString('latin1');
    if (p.startsWith('/')) return p;
    const ctx = t.process.fs.ctx;
    const cwd = this.k.vfs.pathOf(ctx.cwd, ctx.root);
    return (cwd.endsWith('/') ? cwd : cwd + '/') + p;
  }

  bind(t: Task, addr: Uint8Array): void {
    const name = this.parseName(t, addr);
    if (this.name !== null) throw new KernelError(Errno.EINVAL);
    if (registry(this.k).has(name)) throw new KernelError(Errno.EADDRINUSE);
    this.name = name;
    registry(this.k).set(name, this);
  }

  listen(_backlog: number): void {
    if (this.type === SOCK_DGRAM) throw new KernelError(Errno.EOPNOTSUPP);
    if (this.name === null) throw new KernelError(Errno.EINVAL);
    this.listening = true;
  }

  connect(t: Task, addr: Uint8Array): number {
    const target = registry(this.k).get(this.parseName(t, addr));
    if (!target) return -Errno.ENOENT;
    if (this.type === SOCK_DGRAM) {
      if (target.type !== SOCK_DGRAM) return -Errno.EPROTOTYPE;
      this.peer = target;
      this.connected = true;
      return 0;
    }
    if (!target.listening) return -Errno.ECONNREFUSED;
    if (target.type !== this.type) return -Errno.EPROTOTYPE;
    if (this.connected) return -Errno.EISCONN;
    const server = new UnixSocket(this.k, this.type, 0);
    server.creds = target.creds;
    server.name = target.name;
    pair(server, this);
    target.enqueueConnection(server);
    return 0;
  }

  sockName(): Uint8Array {
    return unixAddrBytes(this.name);
  }
  peerName(): Uint8Array {
    if (!this.peer) throw new KernelError(Errno.ENOTCONN);
    return unixAddrBytes(this.peer.name);
  }
  acceptedName(): Uint8Array {
    return unixAddrBytes(null);
  }

  private resolve(t: Task, to: Uint8Array | null): UnixSocket | null {
    if (to === null || this.type !== SOCK_DGRAM) return null;
    const target = registry(this.k).get(this.parseName(t, to));
    if (!target) throw new KernelError(Errno.ECONNREFUSED);
    return target;
  }

  /** Stream/seqpacket send to the peer; datagram send to `to` or the connected peer. */
  send(t: Task, data: Uint8Array, files: KFile[], flags: number, toAddr: Uint8Array | null): number | Promise<number> {
    const to = this.resolve(t, toAddr);
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    if (this.type === SOCK_DGRAM) {
      const target = to ?? this.peer;
      if (!target) throw new KernelError(this.connected ? Errno.ECONNREFUSED : Errno.ENOTCONN);
      if (target.shutRead) throw new KernelError(Errno.ECONNREFUSED);
      if (target.queued + data.length > CAPACITY && target.queue.length > 0) {
        if (nonblock) throw new KernelError(Errno.EAGAIN);
        return this.sendDgramWait(t, target, data, files);
      }
      return this.sendDgram(target, data, files);
    }
    const fail = (): never => {
      raiseSigpipe(this.k, t, flags);
      throw new KernelError(Errno.EPIPE);
    };
    const peer = this.peer;
    if (!peer || this.shutWrite || peer.shutRead || this.peerClosed) {
      if (!this.connected && !this.peerClosed) throw new KernelError(Errno.ENOTCONN);
      fail();
    }
    const dest = peer as UnixSocket;
    return this.pushStream(t, {
      peer: dest,
      data,
      files,
      nonblock,
      atomic: this.type === SOCK_SEQPACKET,
      broken: () => this.peerClosed || dest.shutRead,
      fail,
    });
  }

  private sendDgram(target: UnixSocket, data: Uint8Array, files: KFile[]): number {
    for (const f of files) f.refs++;
    target.deliver({ data: data.slice(), files, from: this.name === null ? null : unixAddrBytes(this.name) });
    return data.length;
  }

  private async sendDgramWait(t: Task, target: UnixSocket, data: Uint8Array, files: KFile[]): Promise<number> {
    const deadline = this.deadline(this.sndTimeoNs);
    while (target.queued + data.length > CAPACITY && target.queue.length > 0)
      await this.waitOn(t, [target.wq], deadline);
    return this.sendDgram(target, data, files);
  }

  protected emptyState(): EmptyState {
    if (this.shutRead || (this.type !== SOCK_DGRAM && (this.peerClosed || (this.peer && this.peer.shutWrite))))
      return 'eof';
    if (this.type !== SOCK_DGRAM && !this.connected) throw new KernelError(Errno.ENOTCONN);
    return 'wait';
  }
  protected override consumed(): void {
    this.peer?.wake();
  }

  shutdown(how: number): void {
    if (!this.connected) throw new KernelError(Errno.ENOTCONN);
    if (how === 0 || how === 2) this.shutRead = true;
    if (how === 1 || how === 2) this.shutWrite = true;
    this.peer?.wake();
    this.wake();
  }

  setOption(_level: number, _opt: number, _val: Uint8Array): void {
    // accepted and ignored
  }

  getOption(level: number, opt: number): Uint8Array {
    if (level !== SOL_SOCKET) throw new KernelError(Errno.ENOPROTOOPT);
    switch (opt) {
      case SO_TYPE:
        return intBytes(this.type);
      case SO_ERROR:
        return intBytes(0);
      case SO_SNDBUF:
      case SO_RCVBUF:
        return intBytes(CAPACITY);
      case SO_ACCEPTCONN:
        return intBytes(this.listening ? 1 : 0);
      case SO_DOMAIN:
        return intBytes(AF_UNIX);
      case SO_PROTOCOL:
        return intBytes(0);
      case SO_PEERCRED: {
        const p = this.peer?.creds ?? { pid: 0, uid: -1, gid: -1 };
        const out = new Uint8Array(12);
        const v = new DataView(out.buffer);
        v.setInt32(0, p.pid, true);
        v.setInt32(4, p.uid, true);
        v.setInt32(8, p.gid, true);
        return out;
      }
      default:
        throw new KernelError(Errno.ENOPROTOOPT);
    }
  }

  override poll(events: number): number {
    let r = 0;
    if (this.listening) return this.backlog.length ? events & POLLIN : 0;
    if (this.queue.length > 0) r |= POLLIN;
    if (this.type !== SOCK_DGRAM) {
      if (this.peerClosed || this.shutRead) r |= POLLIN | POLLRDHUP;
      if (this.peerClosed) r |= POLLHUP;
      if (this.peer && !this.peerClosed && this.peer.queued < CAPACITY) r |= POLLOUT;
    } else r |= POLLOUT;
    return r & (events | POLLHUP | POLLERR);
  }

  override release(): void {
    if (this.name !== null && registry(this.k).get(this.name) === this) registry(this.k).delete(this.name);
    this.dropQueued();
    const p = this.peer;
    if (p) {
      p.peerClosed = true;
      if (p.type === SOCK_DGRAM) p.peer = null;
      p.wake();
    }
  }
}

function pair(x: UnixSocket, y: UnixSocket): void {
  x.peer = y;
  y.peer = x;
  x.connected = y.connected = true;
}

export function createUnixSocket(k: Kernel, t: Task, type: number): UnixSocket {
  const base = type & 0xf;
  if (base !== SOCK_STREAM && base !== SOCK_DGRAM && base !== SOCK_SEQPACKET)
    throw new KernelError(Errno.ESOCKTNOSUPPORT);
  const s = new UnixSocket(k, base, nonblockFlag(type));
  s.creds = { pid: t.pid, uid: t.process.creds.euid, gid: t.process.creds.egid };
  return s;
}

export function unixSocketPair(k: Kernel, t: Task, type: number): [UnixSocket, UnixSocket] {
  const x = createUnixSocket(k, t, type);
  const y = createUnixSocket(k, t, type);
  pair(x, y);
  return [x, y];
}
