/**
 * AF_UNIX sockets: socketpair and named/abstract stream and datagram sockets
 * (bind/listen/connect/accept), send/recv family, shutdown, SCM_RIGHTS fd passing.
 * AF_INET/AF_INET6 sockets are refused (EAFNOSUPPORT): no loopback network yet.
 */
import type { Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import { sendSignalToTask } from '../signal/deliver';
import { SIGPIPE, SI_USER } from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, readIovecs, readU32, writeU32, type UserAddr } from '../uaccess';
import { WaitQueue } from '../wait';
import {
  KFile,
  O_NONBLOCK,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  anonStat,
  newAnonIno,
} from '../fs/file';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_PEEK = 2;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const MSG_TRUNC = 0x20;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SO_TYPE = 3;
const SO_ERROR = 4;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_PEERCRED = 17;
const SO_ACCEPTCONN = 30;
const SO_DOMAIN = 39;
const CAPACITY = 212992;

interface Message {
  data: Uint8Array;
  files: KFile[];
  from: string | null;
}

/** Registry of bound names (path or "\0abstract") → listening or datagram socket. */
const registries = new WeakMap<Kernel, Map<string, UnixSocket>>();
function registry(k: Kernel): Map<string, UnixSocket> {
  let r = registries.get(k);
  if (!r) registries.set(k, (r = new Map()));
  return r;
}

export class UnixSocket extends KFile {
  readonly ino = newAnonIno();
  peer: UnixSocket | null = null;
  readonly queue: Message[] = [];
  queued = 0;
  readonly wq = new WaitQueue();
  name: string | null = null;
  listening = false;
  backlog: UnixSocket[] = [];
  shutRead = false;
  shutWrite = false;
  peerClosed = false;
  connected = false;
  creds = { pid: 0, uid: 0, gid: 0 };

  constructor(
    readonly k: Kernel,
    readonly type: number,
    flags: number,
  ) {
    super(O_RDWR | flags);
  }
  describe(): string {
    return `socket:[${this.ino}]`;
  }
  stat(): Stat {
    return anonStat(0o140777, this.ino);
  }
  private wake(): void {
    this.wq.wakeAll();
    this.pollWq.wakeAll();
  }

  deliver(m: Message): void {
    this.queue.push(m);
    this.queued += m.data.length;
    this.wake();
  }

  /** Stream/seqpacket send to the peer; datagram send to `to` or the connected peer. */
  async send(t: Task, data: Uint8Array, files: KFile[], flags: number, to: UnixSocket | null): Promise<number> {
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    if (this.type === SOCK_DGRAM) {
      const target = to ?? this.peer;
      if (!target) throw new KernelError(this.connected ? Errno.ECONNREFUSED : Errno.ENOTCONN);
      if (target.shutRead) throw new KernelError(Errno.ECONNREFUSED);
      while (target.queued + data.length > CAPACITY && target.queue.length > 0) {
        if (nonblock) throw new KernelError(Errno.EAGAIN);
        await t.sleep([target.wq]);
      }
      for (const f of files) f.refs++;
      target.deliver({ data: data.slice(), files, from: this.name });
      return data.length;
    }
    const peer = this.peer;
    if (!peer || this.shutWrite || peer.shutRead || this.peerClosed) {
      if (!this.connected && !this.peerClosed) throw new KernelError(Errno.ENOTCONN);
      if (!(flags & MSG_NOSIGNAL)) sendSignalToTask(this.k, t, { signo: SIGPIPE, code: SI_USER, pid: t.pid });
      throw new KernelError(Errno.EPIPE);
    }
    let done = 0;
    while (done < data.length || (data.length === 0 && done === 0)) {
      if (this.peerClosed || peer.shutRead) {
        if (done > 0) return done;
        if (!(flags & MSG_NOSIGNAL)) sendSignalToTask(this.k, t, { signo: SIGPIPE, code: SI_USER, pid: t.pid });
        throw new KernelError(Errno.EPIPE);
      }
      const space = CAPACITY - peer.queued;
      if (space <= 0 || (this.type === SOCK_SEQPACKET && space < data.length)) {
        if (nonblock) {
          if (done > 0) return done;
          throw new KernelError(Errno.EAGAIN);
        }
        await t.sleep([peer.wq]);
        continue;
      }
      const n = this.type === SOCK_SEQPACKET ? data.length : Math.min(space, data.length - done);
      for (const f of done === 0 ? files : []) f.refs++;
      peer.deliver({ data: data.slice(done, done + n), files: done === 0 ? files : [], from: null });
      done += n;
      if (data.length === 0) break;
    }
    return done;
  }

  async recv(
    t: Task,
    len: number,
    flags: number,
  ): Promise<{ data: Uint8Array; files: KFile[]; from: string | null; truncated: boolean }> {
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    for (;;) {
      if (this.queue.length > 0) break;
      if (this.shutRead || (this.type !== SOCK_DGRAM && (this.peerClosed || (this.peer && this.peer.shutWrite))))
        return { data: new Uint8Array(0), files: [], from: null, truncated: false };
      if (this.type !== SOCK_DGRAM && !this.connected) throw new KernelError(Errno.ENOTCONN);
      if (nonblock) throw new KernelError(Errno.EAGAIN);
      await t.sleep([this.wq]);
    }
    const peek = (flags & MSG_PEEK) !== 0;
    if (this.type !== SOCK_STREAM) {
      const m = peek ? this.queue[0] : (this.queue.shift() as Message);
      if (!peek) this.queued -= m.data.length;
      this.peer?.wake();
      this.wake();
      return {
        data: m.data.subarray(0, len),
        files: peek ? [] : m.files,
        from: m.from,
        truncated: m.data.length > len,
      };
    }
    // stream: gather across messages, stopping at one that carries files
    const parts: Uint8Array[] = [];
    const files: KFile[] = [];
    let n = 0;
    let i = 0;
    while (n < len && i < this.queue.length) {
      const m = this.queue[i];
      if (m.files.length && n > 0) break;
      const take = Math.min(len - n, m.data.length);
      parts.push(m.data.subarray(0, take));
      n += take;
      if (!peek) {
        files.push(...m.files);
        m.files = [];
        if (take === m.data.length) {
          this.queue.shift();
        } else {
          m.data = m.data.subarray(take);
          i = this.queue.length;
        }
        this.queued -= take;
      } else i++;
      if (files.length) break;
    }
    this.peer?.wake();
    this.wake();
    return { data: Buffer.concat(parts), files, from: null, truncated: false };
  }

  override read(t: Task, len: number): Promise<Uint8Array> {
    return this.recv(t, len, 0).then((r) => {
      for (const f of r.files) this.k.closeFile(f);
      return r.data;
    });
  }
  override write(t: Task, data: Uint8Array): Promise<number> {
    return this.send(t, data, [], 0, null);
  }

  override poll(events: number): number {
    let r = 0;
    if (this.listening) return this.backlog.length ? events & POLLIN : 0;
    if (this.queue.length > 0) r |= POLLIN;
    if (this.type !== SOCK_DGRAM) {
      if (this.peerClosed || this.shutRead) r |= POLLIN | POLLRDHUP;
      if (this.peerClosed) r |= POLLHUP;
      if (this.peer && !this.peerClosed && this.peer.queued < CAPACITY) r |= POLLOUT;
      if (this.peerClosed) r |= POLLERR & 0;
    } else r |= POLLOUT;
    return r & (events | POLLHUP | POLLERR);
  }

  override release(): void {
    if (this.name !== null && registry(this.k).get(this.name) === this) registry(this.k).delete(this.name);
    for (const m of this.queue) for (const f of m.files) this.k.closeFile(f);
    this.queue.length = 0;
    for (const s of this.backlog) this.k.closeFile(s);
    const p = this.peer;
    if (p) {
      p.peerClosed = true;
      if (p.type === SOCK_DGRAM) p.peer = null;
      p.wake();
    }
  }
}

function sockOf(t: Task, fd: number): UnixSocket {
  const f = t.files.get(fd);
  if (!(f instanceof UnixSocket)) throw new KernelError(Errno.ENOTSOCK);
  return f;
}

/** sockaddr_un → registry key ("\0name" for the abstract namespace). */
function readAddr(k: Kernel, t: Task, addr: UserAddr, len: number): string {
  if (len < 2 || len > 110) throw new KernelError(Errno.EINVAL);
  const b = copyIn(t.mm.as, addr, len);
  const family = b[0] | (b[1] << 8);
  if (family !== AF_UNIX) throw new KernelError(Errno.EAFNOSUPPORT);
  const path = b.subarray(2);
  if (path.length === 0) throw new KernelError(Errno.EINVAL);
  if (path[0] === 0) return '\0' + Buffer.from(path.subarray(1)).toString('latin1');
  const end = path.indexOf(0);
  const p = Buffer.from(end >= 0 ? path.subarray(0, end) : path).toString('latin1');
  if (p.startsWith('/')) return p;
  const ctx = t.process.fs.ctx;
  const cwd = k.vfs.pathOf(ctx.cwd, ctx.root);
  return (cwd.endsWith('/') ? cwd : cwd + '/') + p;
}

function writeAddr(t: Task, addrPtr: UserAddr, lenPtr: UserAddr, name: string | null): void {
  if (addrPtr === 0) return;
  const max = readU32(t.mm.as, lenPtr);
  const bytes =
    name === null
      ? Buffer.alloc(0)
      : name.startsWith('\0')
        ? Buffer.from(name, 'latin1')
        : Buffer.from(name + '\0', 'latin1');
  const full = Buffer.concat([Buffer.from([AF_UNIX, 0]), bytes]);
  copyOut(t.mm.as, addrPtr, full.subarray(0, Math.min(max, full.length)));
  writeU32(t.mm.as, lenPtr, name === null ? 2 : name.startsWith('\0') ? full.length : full.length);
}

function createSocket(k: Kernel, t: Task, domain: number, type: number): UnixSocket {
  if (domain === AF_INET || domain === AF_INET6) throw new KernelError(Errno.EAFNOSUPPORT, 'no network in this VM');
  if (domain !== AF_UNIX) throw new KernelError(Errno.EAFNOSUPPORT);
  const base = type & 0xf;
  if (base !== SOCK_STREAM && base !== SOCK_DGRAM && base !== SOCK_SEQPACKET)
    throw new KernelError(Errno.ESOCKTNOSUPPORT);
  const s = new UnixSocket(k, base, type & SOCK_NONBLOCK ? O_NONBLOCK : 0);
  s.creds = { pid: t.pid, uid: t.process.creds.euid, gid: t.process.creds.egid };
  return s;
}

async function connect(k: Kernel, _t: Task, s: UnixSocket, name: string): Promise<number> {
  const target = registry(k).get(name);
  if (!target) return -Errno.ENOENT;
  if (s.type === SOCK_DGRAM) {
    if (target.type !== SOCK_DGRAM) return -Errno.EPROTOTYPE;
    s.peer = target;
    s.connected = true;
    return 0;
  }
  if (!target.listening) return -Errno.ECONNREFUSED;
  if (target.type !== s.type) return -Errno.EPROTOTYPE;
  if (s.connected) return -Errno.EISCONN;
  const server = new UnixSocket(k, s.type, 0);
  server.creds = target.creds;
  server.name = target.name;
  server.peer = s;
  s.peer = server;
  server.connected = s.connected = true;
  target.backlog.push(server);
  target.wq.wakeAll();
  target.pollWq.wakeAll();
  return 0;
}

async function accept(
  k: Kernel,
  t: Task,
  fd: number,
  addrPtr: UserAddr,
  lenPtr: UserAddr,
  flags: number,
): Promise<number> {
  const s = sockOf(t, fd);
  if (!s.listening) return -Errno.EINVAL;
  while (s.backlog.length === 0) {
    if (s.nonblock) return -Errno.EAGAIN;
    await t.sleep([s.wq]);
  }
  const c = s.backlog.shift() as UnixSocket;
  if (flags & SOCK_NONBLOCK) c.flags |= O_NONBLOCK;
  writeAddr(t, addrPtr, lenPtr, null);
  return k.allocFd(t, c, (flags & SOCK_CLOEXEC) !== 0);
}

interface MsgHdr {
  name: UserAddr;
  namelen: number;
  iov: UserAddr;
  iovlen: number;
  control: UserAddr;
  controllen: number;
}

function readMsghdr(t: Task, p: UserAddr): MsgHdr {
  const v = new DataView(copyIn(t.mm.as, p, 56).buffer);
  const u = (o: number): number => Number(v.getBigUint64(o, true));
  return {
    name: u(0) as UserAddr,
    namelen: v.getUint32(8, true),
    iov: u(16) as UserAddr,
    iovlen: u(24),
    control: u(32) as UserAddr,
    controllen: u(40),
  };
}

async function sendmsg(k: Kernel, t: Task, fd: number, p: UserAddr, flags: number): Promise<number> {
  const s = sockOf(t, fd);
  const h = readMsghdr(t, p);
  const iov = readIovecs(t.mm.as, h.iov, h.iovlen);
  const data = Buffer.concat(iov.map((v) => copyIn(t.mm.as, v.base, v.len)));
  const files: KFile[] = [];
  if (h.control !== 0 && h.controllen >= 16) {
    const c = copyIn(t.mm.as, h.control, h.controllen);
    const cv = new DataView(c.buffer);
    let o = 0;
    while (o + 16 <= c.length) {
      const len = Number(cv.getBigUint64(o, true));
      const level = cv.getInt32(o + 8, true);
      const type = cv.getInt32(o + 12, true);
      if (len < 16 || o + len > c.length) return -Errno.EINVAL;
      if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        for (let q = o + 16; q + 4 <= o + len; q += 4) files.push(t.files.get(cv.getInt32(q, true)));
      }
      o += (len + 7) & ~7;
    }
  }
  let to: UnixSocket | null = null;
  if (h.name !== 0 && s.type === SOCK_DGRAM) {
    to = registry(k).get(readAddr(k, t, h.name, h.namelen)) ?? null;
    if (!to) return -Errno.ECONNREFUSED;
  }
  return s.send(t, data, files, flags, to);
}

async function recvmsg(k: Kernel, t: Task, fd: number, p: UserAddr, flags: number): Promise<number> {
  const s = sockOf(t, fd);
  const h = readMsghdr(t, p);
  const iov = readIovecs(t.mm.as, h.iov, h.iovlen);
  const total = iov.reduce((a, v) => a + v.len, 0);
  const r = await s.recv(t, total, flags);
  let o = 0;
  for (const v of iov) {
    if (o >= r.data.length) break;
    const n = Math.min(v.len, r.data.length - o);
    copyOut(t.mm.as, v.base, r.data.subarray(o, o + n));
    o += n;
  }
  const v = new DataView(copyIn(t.mm.as, p, 56).buffer);
  let msgFlags = r.truncated ? MSG_TRUNC : 0;
  let controlLen = 0;
  if (r.files.length) {
    const need = 16 + r.files.length * 4;
    if (h.control === 0 || h.controllen < need) {
      for (const f of r.files) k.closeFile(f);
      msgFlags |= 8; // MSG_CTRUNC
    } else {
      const c = new Uint8Array((need + 7) & ~7);
      const cv = new DataView(c.buffer);
      cv.setBigUint64(0, BigInt(need), true);
      cv.setInt32(8, SOL_SOCKET, true);
      cv.setInt32(12, SCM_RIGHTS, true);
      r.files.forEach((f, i) => cv.setInt32(16 + i * 4, k.allocFd(t, f, false), true));
      copyOut(t.mm.as, h.control, c);
      controlLen = c.length;
    }
  }
  v.setBigUint64(40, BigInt(controlLen), true);
  v.setInt32(48, msgFlags, true);
  if (h.name === 0) v.setUint32(8, 0, true);
  copyOut(t.mm.as, p, new Uint8Array(v.buffer));
  return s.type === SOCK_DGRAM && flags & MSG_TRUNC ? r.data.length : Math.min(r.data.length, total);
}

export const socketSyscalls: SyscallDefs = {
  socket: {
    handler: (k, t, a) => {
      const s = createSocket(k, t, a.i(0), a.i(1));
      return k.allocFd(t, s, (a.i(1) & SOCK_CLOEXEC) !== 0);
    },
    status: 'partial',
    note: 'AF_UNIX stream/datagram/seqpacket; AF_INET/AF_INET6 give EAFNOSUPPORT (no guest network yet)',
  },
  socketpair: {
    handler: (k, t, a) => {
      const domain = a.i(0);
      const type = a.i(1);
      const sv = a.p(3);
      const x = createSocket(k, t, domain, type);
      const y = createSocket(k, t, domain, type);
      x.peer = y;
      y.peer = x;
      x.connected = y.connected = true;
      const cloexec = (type & SOCK_CLOEXEC) !== 0;
      const fx = k.allocFd(t, x, cloexec);
      const fy = k.allocFd(t, y, cloexec);
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setInt32(0, fx, true);
      v.setInt32(4, fy, true);
      copyOut(t.mm.as, sv, b);
      return 0;
    },
  },
  bind: {
    handler: (k, t, a) => {
      const s = sockOf(t, a.i(0));
      const name = readAddr(k, t, a.p(1), a.i(2));
      if (s.name !== null) return -Errno.EINVAL;
      if (registry(k).has(name)) return -Errno.EADDRINUSE;
      s.name = name;
      registry(k).set(name, s);
      return 0;
    },
    status: 'partial',
    note: 'AF_UNIX names live in a per-VM table (no socket inode is created in the filesystem)',
  },
  listen: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      if (s.type === SOCK_DGRAM) return -Errno.EOPNOTSUPP;
      if (s.name === null) return -Errno.EINVAL;
      s.listening = true;
      return 0;
    },
  },
  accept: { handler: (k, t, a) => accept(k, t, a.i(0), a.p(1), a.p(2), 0) },
  accept4: { handler: (k, t, a) => accept(k, t, a.i(0), a.p(1), a.p(2), a.i(3)) },
  connect: {
    handler: (k, t, a) => {
      const s = sockOf(t, a.i(0));
      const name = readAddr(k, t, a.p(1), a.i(2));
      return connect(k, t, s, name);
    },
  },
  getsockname: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      writeAddr(t, a.p(1), a.p(2), s.name);
      return 0;
    },
  },
  getpeername: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      if (!s.peer) return -Errno.ENOTCONN;
      writeAddr(t, a.p(1), a.p(2), s.peer.name);
      return 0;
    },
  },
  sendto: {
    handler: (k, t, a) => {
      const s = sockOf(t, a.i(0));
      const data = copyIn(t.mm.as, a.p(1), Math.min(a.x(2), 1 << 24));
      const flags = a.i(3);
      const addr = a.p(4);
      const alen = a.i(5);
      let to: UnixSocket | null = null;
      if (addr !== 0 && s.type === SOCK_DGRAM) {
        to = registry(k).get(readAddr(k, t, addr, alen)) ?? null;
        if (!to) return -Errno.ECONNREFUSED;
      }
      return s.send(t, data, [], flags, to);
    },
  },
  recvfrom: {
    handler: async (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      const buf = a.p(1);
      const len = Math.min(a.x(2), 1 << 24);
      const flags = a.i(3);
      const addr = a.p(4);
      const alen = a.p(5);
      const r = await s.recv(t, len, flags);
      copyOut(t.mm.as, buf, r.data);
      if (addr !== 0) writeAddr(t, addr, alen, r.from);
      return r.data.length;
    },
  },
  sendmsg: { handler: (k, t, a) => sendmsg(k, t, a.i(0), a.p(1), a.i(2)) },
  recvmsg: { handler: (k, t, a) => recvmsg(k, t, a.i(0), a.p(1), a.i(2)) },
  shutdown: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      const how = a.i(1);
      if (how < 0 || how > 2) return -Errno.EINVAL;
      if (!s.connected) return -Errno.ENOTCONN;
      if (how === 0 || how === 2) s.shutRead = true;
      if (how === 1 || how === 2) s.shutWrite = true;
      s.peer?.pollWq.wakeAll();
      s.peer?.wq.wakeAll();
      s.pollWq.wakeAll();
      s.wq.wakeAll();
      return 0;
    },
  },
  setsockopt: {
    handler: (_k, t, a) => {
      sockOf(t, a.i(0));
      return 0;
    },
    status: 'partial',
    note: 'options are accepted and ignored',
  },
  getsockopt: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      const level = a.i(1);
      const opt = a.i(2);
      const val = a.p(3);
      const lenPtr = a.p(4);
      if (level !== SOL_SOCKET) return -Errno.ENOPROTOOPT;
      let out: Uint8Array;
      const int = (n: number): Uint8Array => {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setInt32(0, n, true);
        return b;
      };
      switch (opt) {
        case SO_TYPE:
          out = int(s.type);
          break;
        case SO_ERROR:
          out = int(0);
          break;
        case SO_SNDBUF:
        case SO_RCVBUF:
          out = int(CAPACITY);
          break;
        case SO_ACCEPTCONN:
          out = int(s.listening ? 1 : 0);
          break;
        case SO_DOMAIN:
          out = int(AF_UNIX);
          break;
        case SO_PEERCRED: {
          const p = s.peer?.creds ?? { pid: 0, uid: -1, gid: -1 };
          out = new Uint8Array(12);
          const v = new DataView(out.buffer);
          v.setInt32(0, p.pid, true);
          v.setInt32(4, p.uid, true);
          v.setInt32(8, p.gid, true);
          break;
        }
        default:
          return -Errno.ENOPROTOOPT;
      }
      const max = readU32(t.mm.as, lenPtr);
      copyOut(t.mm.as, val, out.subarray(0, Math.min(max, out.length)));
      writeU32(t.mm.as, lenPtr, out.length);
      return 0;
    },
    status: 'partial',
    note: 'SO_TYPE, SO_ERROR, SO_SNDBUF/RCVBUF, SO_ACCEPTCONN, SO_DOMAIN, SO_PEERCRED',
  },
};
