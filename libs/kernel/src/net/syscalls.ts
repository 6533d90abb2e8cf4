/**
 * The socket syscalls: argument copying (sockaddrs, msghdr, iovecs, control messages) and
 * dispatch to the socket's family (net/unix.ts, net/inet.ts).
 */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, readI32, readIovecs, writeU32, type IoVec, type UserAddr } from '../uaccess';
import { O_NONBLOCK, type KFile } from '../fs/file';
import { AF_INET, AF_INET6, createInetSocket } from './inet';
import { AF_UNIX, createUnixSocket, unixSocketPair } from './unix';
import {
  MSG_DONTWAIT,
  MSG_TRUNC,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  Socket,
  whenReady,
  type RecvResult,
} from './socket';

const SCM_RIGHTS = 1;
const MSG_CTRUNC = 8;
const SOCKADDR_MAX = 128;
/** SOCK_PACKET: Linux refuses larger types with EINVAL before asking the family. */
const SOCK_TYPE_MAX = 10;

function sockOf(t: Task, fd: number): Socket {
  const f = t.files.get(fd);
  if (!(f instanceof Socket)) throw new KernelError(Errno.ENOTSOCK);
  return f;
}

function readSockaddr(t: Task, addr: UserAddr, len: number): Uint8Array {
  if (len < 0 || len > SOCKADDR_MAX) throw new KernelError(Errno.EINVAL);
  return copyIn(t.mm.as, addr, len);
}

/** Copies an address out (truncated to the caller's buffer) and stores its full length. */
function writeSockaddr(t: Task, addrPtr: UserAddr, lenPtr: UserAddr, bytes: Uint8Array | null): void {
  if (addrPtr === 0) return;
  const max = readI32(t.mm.as, lenPtr);
  if (max < 0) throw new KernelError(Errno.EINVAL);
  const b = bytes ?? new Uint8Array(0);
  copyOut(t.mm.as, addrPtr, b.subarray(0, Math.min(max, b.length)));
  writeU32(t.mm.as, lenPtr, b.length);
}

function createSocket(k: Kernel, t: Task, domain: number, type: number, protocol: number): Socket {
  if ((type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0 || (type & 0xf) > SOCK_TYPE_MAX)
    throw new KernelError(Errno.EINVAL);
  if (domain === AF_UNIX) return createUnixSocket(k, t, type);
  if (domain === AF_INET || domain === AF_INET6) return createInetSocket(k, domain, type, protocol);
  throw new KernelError(Errno.EAFNOSUPPORT);
}

function accept(
  k: Kernel,
  t: Task,
  fd: number,
  addr: UserAddr,
  len: UserAddr,
  flags: number,
): number | Promise<number> {
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -Errno.EINVAL;
  const s = sockOf(t, fd);
  return whenReady(s.accept(t), (c) => {
    if (flags & SOCK_NONBLOCK) c.flags |= O_NONBLOCK;
    try {
      writeSockaddr(t, addr, len, c.acceptedName());
    } catch (e) {
      k.closeFile(c);
      throw e;
    }
    return k.allocFd(t, c, (flags & SOCK_CLOEXEC) !== 0);
  });
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
    namelen: v.getInt32(8, true),
    iov: u(16) as UserAddr,
    iovlen: u(24),
    control: u(32) as UserAddr,
    controllen: u(40),
  };
}

/** SCM_RIGHTS files of a control buffer (each gains a reference when queued). */
function readRights(t: Task, control: UserAddr, controllen: number): KFile[] {
  const files: KFile[] = [];
  if (control === 0 || controllen < 16) return files;
  const c = copyIn(t.mm.as, control, Math.min(controllen, 1 << 16));
  const cv = new DataView(c.buffer);
  let o = 0;
  while (o + 16 <= c.length) {
    const len = Number(cv.getBigUint64(o, true));
    const level = cv.getInt32(o + 8, true);
    const type = cv.getInt32(o + 12, true);
    if (len < 16 || o + len > c.length) throw new KernelError(Errno.EINVAL);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      for (let q = o + 16; q + 4 <= o + len; q += 4) files.push(t.files.get(cv.getInt32(q, true)));
    }
    o += (len + 7) & ~7;
  }
  return files;
}

function sendmsg(t: Task, fd: number, p: UserAddr, flags: number): number | Promise<number> {
  const s = sockOf(t, fd);
  const h = readMsghdr(t, p);
  const iov = readIovecs(t.mm.as, h.iov, h.iovlen);
  const data = Buffer.concat(iov.map((v) => copyIn(t.mm.as, v.base, v.len)));
  const files = readRights(t, h.control, h.controllen);
  if (files.length > 0 && s.domain !== AF_UNIX) return -Errno.EINVAL;
  const to = h.name !== 0 && h.namelen > 0 ? readSockaddr(t, h.name, h.namelen) : null;
  return s.send(t, data, files, flags, to);
}

function recvmsg(k: Kernel, t: Task, fd: number, p: UserAddr, flags: number): number | Promise<number> {
  const s = sockOf(t, fd);
  const h = readMsghdr(t, p);
  const iov = readIovecs(t.mm.as, h.iov, h.iovlen);
  const total = iov.reduce((a, v) => a + v.len, 0);
  return whenReady(s.recv(t, total, flags), (r) => finishRecvmsg(k, t, s, p, h, iov, flags, r));
}

function finishRecvmsg(
  k: Kernel,
  t: Task,
  s: Socket,
  p: UserAddr,
  h: MsgHdr,
  iov: IoVec[],
  flags: number,
  r: RecvResult,
): number {
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
      msgFlags |= MSG_CTRUNC;
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
  let namelen = 0;
  if (h.name !== 0 && r.from) {
    copyOut(t.mm.as, h.name, r.from.subarray(0, Math.max(0, Math.min(h.namelen, r.from.length))));
    namelen = r.from.length;
  }
  v.setUint32(8, namelen, true);
  v.setBigUint64(40, BigInt(controlLen), true);
  v.setInt32(48, msgFlags, true);
  copyOut(t.mm.as, p, new Uint8Array(v.buffer));
  return s.type === SOCK_DGRAM && flags & MSG_TRUNC ? r.fullLength : r.data.length;
}

/** struct mmsghdr: a msghdr and the byte count the call stores for it. */
const MMSG_SIZE = 64;
const UIO_MAXIOV = 1024;
const MSG_WAITFORONE = 0x10000;

/**
 * sendmmsg/recvmmsg: one sendmsg/recvmsg per entry, storing msg_len. An error after the
 * first message ends the batch with the count so far (Linux's rule). recvmmsg's timeout is
 * checked after each datagram, as on Linux, and the time left is written back.
 */
async function multiMsg(
  k: Kernel,
  t: Task,
  fd: number,
  vec: UserAddr,
  vlen: number,
  flags: number,
  recv: boolean,
  timeout: UserAddr,
): Promise<number> {
  sockOf(t, fd);
  let deadline: number | null = null;
  if (recv && timeout !== 0) {
    const v = new DataView(copyIn(t.mm.as, timeout, 16).buffer);
    const sec = Number(v.getBigInt64(0, true));
    const nsec = Number(v.getBigInt64(8, true));
    if (sec < 0 || nsec < 0 || nsec >= 1e9) return -Errno.EINVAL;
    deadline = k.clock.monotonicNs() + sec * 1e9 + nsec;
  }
  const n = Math.min(vlen >>> 0, UIO_MAXIOV);
  let i = 0;
  for (; i < n; i++) {
    const entry = (vec + i * MMSG_SIZE) as UserAddr;
    let r: number;
    try {
      r = recv ? await recvmsg(k, t, fd, entry, flags) : await sendmsg(t, fd, entry, flags);
    } catch (e) {
      if (i === 0) throw e;
      break;
    }
    if (r < 0) {
      if (i === 0) return r;
      break;
    }
    writeU32(t.mm.as, (entry + 56) as UserAddr, r);
    if (flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT;
    if (deadline !== null && k.clock.monotonicNs() >= deadline) {
      i++;
      break;
    }
  }
  if (deadline !== null) {
    const left = Math.max(0, deadline - k.clock.monotonicNs());
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setBigInt64(0, BigInt(Math.floor(left / 1e9)), true);
    v.setBigInt64(8, BigInt(Math.floor(left % 1e9)), true);
    copyOut(t.mm.as, timeout, b);
  }
  return i;
}

export const socketSyscalls: SyscallDefs = {
  socket: {
    handler: (k, t, a) => {
      const s = createSocket(k, t, a.i(0), a.i(1), a.i(2));
      return k.allocFd(t, s, (a.i(1) & SOCK_CLOEXEC) !== 0);
    },
    status: 'partial',
    note:
      'AF_UNIX stream/datagram/seqpacket; AF_INET/AF_INET6 TCP and UDP on a guest-internal loopback ' +
      'network (127.0.0.0/8, ::1, wildcard binds; no host network); no raw sockets',
  },
  socketpair: {
    handler: (k, t, a) => {
      const domain = a.i(0);
      const type = a.i(1);
      if (domain === AF_INET || domain === AF_INET6) return -Errno.EOPNOTSUPP;
      if (domain !== AF_UNIX) return -Errno.EAFNOSUPPORT;
      const [x, y] = unixSocketPair(k, t, type);
      const cloexec = (type & SOCK_CLOEXEC) !== 0;
      const fx = k.allocFd(t, x, cloexec);
      const fy = k.allocFd(t, y, cloexec);
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setInt32(0, fx, true);
      v.setInt32(4, fy, true);
      copyOut(t.mm.as, a.p(3), b);
      return 0;
    },
  },
  bind: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      s.bind(t, readSockaddr(t, a.p(1), a.i(2)));
      return 0;
    },
    status: 'partial',
    note: 'AF_UNIX names live in a per-VM table (no socket inode is created); inet: loopback and wildcard addresses',
  },
  listen: {
    handler: (_k, t, a) => {
      sockOf(t, a.i(0)).listen(a.i(1));
      return 0;
    },
  },
  accept: { handler: (k, t, a) => accept(k, t, a.i(0), a.p(1), a.p(2), 0) },
  accept4: { handler: (k, t, a) => accept(k, t, a.i(0), a.p(1), a.p(2), a.i(3)) },
  connect: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      return s.connect(t, readSockaddr(t, a.p(1), a.i(2)));
    },
    note: 'inet: only loopback destinations are reachable (ENETUNREACH otherwise)',
  },
  getsockname: {
    handler: (_k, t, a) => {
      writeSockaddr(t, a.p(1), a.p(2), sockOf(t, a.i(0)).sockName());
      return 0;
    },
  },
  getpeername: {
    handler: (_k, t, a) => {
      writeSockaddr(t, a.p(1), a.p(2), sockOf(t, a.i(0)).peerName());
      return 0;
    },
  },
  sendto: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      const data = copyIn(t.mm.as, a.p(1), Math.min(a.x(2), 1 << 24));
      const to = a.p(4) !== 0 ? readSockaddr(t, a.p(4), a.i(5)) : null;
      return s.send(t, data, [], a.i(3), to);
    },
  },
  recvfrom: {
    handler: (_k, t, a) => {
      // the argument registers are read before waiting (another task runs meanwhile)
      const s = sockOf(t, a.i(0));
      const [buf, len, flags, addr, alen] = [a.p(1), Math.min(a.x(2), 1 << 24), a.i(3), a.p(4), a.p(5)];
      return whenReady(s.recv(t, len, flags), (r) => {
        copyOut(t.mm.as, buf, r.data);
        writeSockaddr(t, addr, alen, r.from);
        return s.type === SOCK_DGRAM && flags & MSG_TRUNC ? r.fullLength : r.data.length;
      });
    },
  },
  sendmsg: { handler: (_k, t, a) => sendmsg(t, a.i(0), a.p(1), a.i(2)) },
  recvmsg: { handler: (k, t, a) => recvmsg(k, t, a.i(0), a.p(1), a.i(2)) },
  sendmmsg: { handler: (k, t, a) => multiMsg(k, t, a.i(0), a.p(1), a.i(2), a.i(3), false, 0 as UserAddr) },
  recvmmsg: {
    handler: (k, t, a) => multiMsg(k, t, a.i(0), a.p(1), a.i(2), a.i(3), true, a.p(4)),
    note: 'the timeout is checked after each datagram, as on Linux',
  },
  shutdown: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      const how = a.i(1);
      if (how < 0 || how > 2) return -Errno.EINVAL;
      s.shutdown(how);
      return 0;
    },
  },
  setsockopt: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      const len = a.i(4);
      if (len < 0) return -Errno.EINVAL;
      const val = len === 0 ? new Uint8Array(0) : copyIn(t.mm.as, a.p(3), Math.min(len, 256));
      s.setSocketOption(a.i(1), a.i(2), val);
      return 0;
    },
    status: 'partial',
    note:
      'SO_RCVTIMEO/SO_SNDTIMEO on every socket; AF_UNIX: other options accepted and ignored; inet: ' +
      'SO_REUSEADDR/REUSEPORT/KEEPALIVE/RCVBUF/SNDBUF/LINGER/BROADCAST, TCP_NODELAY and keepalive ' +
      'tunables, IP_TOS/IP_TTL, IPV6_V6ONLY (stored; the loopback has no retransmit or keepalive timers)',
  },
  getsockopt: {
    handler: (_k, t, a) => {
      const s = sockOf(t, a.i(0));
      const lenPtr = a.p(4);
      const max = readI32(t.mm.as, lenPtr);
      if (max < 0) return -Errno.EINVAL;
      const out = s.getSocketOption(a.i(1), a.i(2));
      const n = Math.min(max, out.length);
      copyOut(t.mm.as, a.p(3), out.subarray(0, n));
      writeU32(t.mm.as, lenPtr, n);
      return 0;
    },
    status: 'partial',
    note: 'SO_TYPE/ERROR/DOMAIN/PROTOCOL/ACCEPTCONN/SNDBUF/RCVBUF, SO_PEERCRED (unix), the inet options above',
  },
};
