/**
 * What every socket family shares: the receive queue with its stream/datagram recv rules
 * (MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, truncation, SCM_RIGHTS files), the blocking stream
 * push with flow control, the listen backlog, SIGPIPE, and the per-family operations the
 * socket syscalls (net/syscalls.ts) dispatch to.
 */
import type { Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import { sendSignalToTask } from '../signal/deliver';
import { SIGPIPE, SI_USER } from '../signal/signals';
import type { Task } from '../task';
import { userAddr, writeI32 } from '../uaccess';
import { WaitQueue } from '../wait';
import { KFile, O_NONBLOCK, O_RDWR, anonStat, newAnonIno } from '../fs/file';

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_PEEK = 2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_ACCEPTCONN = 30;
/** The 64-bit-time variants (same struct on aarch64). */
export const SO_RCVTIMEO_NEW = 66;
export const SO_SNDTIMEO_NEW = 67;
const FIONREAD = 0x541b;
/** The tick socket timeouts are counted in (CONFIG_HZ of Debian's arm64 and x86 kernels). */
const HZ = 250;
const SIOCOUTQ = 0x5411;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;

/** One queued unit: a datagram, or a piece of a stream (files ride on the first byte). */
export interface Message {
  data: Uint8Array;
  files: KFile[];
  /** The sender's address as the receiver's family formats it (datagrams), or null. */
  from: Uint8Array | null;
}

export interface RecvResult {
  data: Uint8Array;
  files: KFile[];
  from: Uint8Array | null;
  /** A datagram longer than the buffer: its full length (MSG_TRUNC) and the flag. */
  truncated: boolean;
  fullLength: number;
}

/** A stream send: `broken` says the connection takes no more, `fail` throws its error. */
export interface StreamPush {
  peer: Socket;
  data: Uint8Array;
  files: KFile[];
  nonblock: boolean;
  /** seqpacket: the whole record or nothing */
  atomic: boolean;
  broken: () => boolean;
  fail: () => never;
}

/** What recv does when nothing is queued: wait, or report end of file (it may also throw). */
export type EmptyState = 'wait' | 'eof';

/** Applies `f` now when `v` is ready (not named `then`: a module exporting `then` is thenable), after it settles otherwise (no promise on the ready path). */
export function whenReady<T, R>(v: T | Promise<T>, f: (x: T) => R): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}

export function intBytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
}

/** The int value of a setsockopt argument (EINVAL when shorter than an int). */
export function optInt(val: Uint8Array): number {
  if (val.length < 4) throw new KernelError(Errno.EINVAL);
  return new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
}

export function raiseSigpipe(k: Kernel, t: Task, flags: number): void {
  if (!(flags & MSG_NOSIGNAL)) sendSignalToTask(k, t, { signo: SIGPIPE, code: SI_USER, pid: t.pid });
}

export abstract class Socket extends KFile {
  readonly ino = newAnonIno();
  readonly queue: Message[] = [];
  queued = 0;
  /** Woken when data arrives, is consumed, or the connection state changes. */
  readonly wq = new WaitQueue();
  listening = false;
  backlog: Socket[] = [];
  backlogMax = 128;
  shutRead = false;
  shutWrite = false;
  /** SO_RCVTIMEO / SO_SNDTIMEO in ns (0: wait forever). */
  rcvTimeoNs = 0;
  sndTimeoNs = 0;

  abstract readonly domain: number;
  abstract readonly protocol: number;

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
  /** Bytes this socket's receive queue takes before senders wait (or datagrams drop). */
  abstract get capacity(): number;

  wake(): void {
    this.wq.wakeAll();
    this.pollWq.wakeAll();
  }

  deliver(m: Message): void {
    this.queue.push(m);
    this.queued += m.data.length;
    this.wake();
  }

  // ---- per-family operations (the syscalls dispatch here) -------------------------------
  abstract bind(t: Task, addr: Uint8Array): void;
  abstract listen(backlog: number): void;
  abstract connect(t: Task, addr: Uint8Array): number | Promise<number>;
  abstract sockName(): Uint8Array;
  /** The peer's address; ENOTCONN when there is none. */
  abstract peerName(): Uint8Array;
  /** The address accept() reports for a connection taken from the backlog. */
  abstract acceptedName(): Uint8Array | null;
  abstract send(
    t: Task,
    data: Uint8Array,
    files: KFile[],
    flags: number,
    to: Uint8Array | null,
  ): number | Promise<number>;
  abstract shutdown(how: number): void;
  abstract setOption(level: number, opt: number, val: Uint8Array): void;
  abstract getOption(level: number, opt: number): Uint8Array;
  /** Checked before each recv attempt (pending errors that come before queued data). */
  protected beforeRecv(): void {}
  /** With nothing queued: wait, EOF, or throw (ENOTCONN, a pending error). */
  protected abstract emptyState(): EmptyState;
  /** Called after data was taken from the queue (a sender may have room again). */
  protected consumed(): void {}

  // ---- shared machinery -----------------------------------------------------------------

  /** The monotonic deadline of a blocking call under a socket timeout, or null. */
  deadline(timeoNs: number): number | null {
    return timeoNs > 0 ? this.k.clock.monotonicNs() + timeoNs : null;
  }

  /**
   * Sleeps on `queues` until woken. With a socket timeout the call gives EAGAIN when it
   * expires and EINTR (never a restart) when a signal comes, as Linux's sock_intr_errno.
   */
  async waitOn(t: Task, queues: WaitQueue[], deadline: number | null): Promise<void> {
    if (deadline === null) {
      await t.sleep(queues);
      return;
    }
    if (deadline <= this.k.clock.monotonicNs()) throw new KernelError(Errno.EAGAIN);
    let r: 'woken' | 'timeout';
    try {
      r = await t.sleep(
        queues,
        (fire) => this.k.addTimer(deadline, fire),
        (x) => this.k.cancelTimer(x),
      );
    } catch (e) {
      if (e instanceof KernelError && e.errno === Errno.ERESTARTSYS) throw new KernelError(Errno.EINTR);
      throw e;
    }
    if (r === 'timeout') throw new KernelError(Errno.EAGAIN);
  }

  /** SO_RCVTIMEO/SO_SNDTIMEO (struct timeval); other options go to the family. */
  setSocketOption(level: number, opt: number, val: Uint8Array): void {
    if (level === SOL_SOCKET && isTimeoOpt(opt)) {
      if (val.length < 16) throw new KernelError(Errno.EINVAL);
      const v = new DataView(val.buffer, val.byteOffset, 16);
      const sec = Number(v.getBigInt64(0, true));
      const usec = Number(v.getBigInt64(8, true));
      if (usec < 0 || usec >= 1_000_000) throw new KernelError(Errno.EDOM);
      // kept in jiffies like Linux (rounded up); {0, 0}: no timeout; negative: expire at once
      const jiffies = sec < 0 ? 0 : Math.min(sec * HZ + Math.ceil(usec / (1e6 / HZ)), 2 ** 52);
      const ns = sec < 0 ? 1 : jiffies * (1e9 / HZ);
      if (opt === SO_RCVTIMEO || opt === SO_RCVTIMEO_NEW) this.rcvTimeoNs = ns;
      else this.sndTimeoNs = ns;
      return;
    }
    this.setOption(level, opt, val);
  }

  getSocketOption(level: number, opt: number): Uint8Array {
    if (level === SOL_SOCKET && isTimeoOpt(opt)) {
      const ns = opt === SO_RCVTIMEO || opt === SO_RCVTIMEO_NEW ? this.rcvTimeoNs : this.sndTimeoNs;
      const out = new Uint8Array(16);
      const v = new DataView(out.buffer);
      const jiffies = Math.floor(ns / (1e9 / HZ));
      v.setBigInt64(0, BigInt(Math.floor(jiffies / HZ)), true);
      v.setBigInt64(8, BigInt(((jiffies % HZ) * 1e6) / HZ), true);
      return out;
    }
    return this.getOption(level, opt);
  }

  /** FIONREAD (bytes queued; a datagram socket: the first datagram) and SIOCOUTQ. */
  override ioctl(t: Task, cmd: number, arg: number): number {
    if (cmd === FIONREAD || cmd === SIOCOUTQ) {
      if (this.listening) throw new KernelError(Errno.EINVAL);
      const n = cmd === SIOCOUTQ ? 0 : this.type === SOCK_STREAM ? this.queued : (this.queue[0]?.data.length ?? 0);
      writeI32(t.mm.as, userAddr(arg), n);
      return 0;
    }
    throw new KernelError(Errno.ENOTTY);
  }

  /**
   * recv: synchronous when data (or EOF, or an error) is there, so a ready socket costs no
   * promise; waits otherwise.
   */
  recv(t: Task, len: number, flags: number): RecvResult | Promise<RecvResult> {
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    const peek = (flags & MSG_PEEK) !== 0;
    const stream = this.type === SOCK_STREAM;
    const waitAll = stream && !peek && !nonblock && (flags & MSG_WAITALL) !== 0;
    this.beforeRecv();
    if (this.queue.length > 0) {
      if (!stream) return this.takeDatagram(len, peek);
      if (!waitAll || this.queued >= len) {
        const parts: Uint8Array[] = [];
        const files: KFile[] = [];
        this.takeStream(len, peek, parts, files);
        return streamResult(parts, files);
      }
    } else {
      if (this.emptyState() === 'eof') return streamResult([], []);
      if (nonblock) throw new KernelError(Errno.EAGAIN);
    }
    return this.recvWait(t, len, nonblock, peek, waitAll);
  }

  private async recvWait(
    t: Task,
    len: number,
    nonblock: boolean,
    peek: boolean,
    waitAll: boolean,
  ): Promise<RecvResult> {
    const stream = this.type === SOCK_STREAM;
    const parts: Uint8Array[] = [];
    const files: KFile[] = [];
    const deadline = this.deadline(this.rcvTimeoNs);
    let n = 0;
    for (;;) {
      this.beforeRecv();
      if (this.queue.length === 0) {
        let state: EmptyState;
        try {
          state = this.emptyState();
        } catch (e) {
          if (n > 0) break;
          throw e;
        }
        if (state === 'eof' || (n > 0 && !waitAll)) break;
        if (nonblock) throw new KernelError(Errno.EAGAIN);
        try {
          await this.waitOn(t, [this.wq], deadline);
        } catch (e) {
          if (n > 0) break;
          throw e;
        }
        continue;
      }
      if (!stream) return this.takeDatagram(len, peek);
      n += this.takeStream(len - n, peek, parts, files);
      if (n >= len || files.length > 0 || !waitAll) break;
    }
    return streamResult(parts, files);
  }

  private takeDatagram(len: number, peek: boolean): RecvResult {
    const m = peek ? this.queue[0] : (this.queue.shift() as Message);
    if (!peek) {
      this.queued -= m.data.length;
      this.consumed();
    }
    this.wake();
    return {
      data: m.data.subarray(0, len),
      files: peek ? [] : m.files,
      from: m.from,
      truncated: m.data.length > len,
      fullLength: m.data.length,
    };
  }

  /** Gathers up to `len` stream bytes, stopping at a message that carries files. */
  private takeStream(len: number, peek: boolean, parts: Uint8Array[], files: KFile[]): number {
    let n = 0;
    let i = 0;
    while (n < len && i < this.queue.length) {
      const m = this.queue[i];
      if (m.files.length && (n > 0 || parts.length > 0)) break;
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
    if (!peek) this.consumed();
    this.wake();
    return n;
  }

  /**
   * Stream (or seqpacket, `atomic`) send into `peer`'s queue, waiting for room. `broken`
   * says the connection can take no more; then bytes already sent are returned, or `fail`
   * throws (EPIPE and SIGPIPE, as the family decides).
   */
  protected pushStream(t: Task, p: StreamPush): number | Promise<number> {
    const { peer, data, files } = p;
    // a zero-length stream write sends nothing (a seqpacket one sends an empty record)
    if (data.length === 0 && !p.atomic && files.length === 0) return 0;
    if (p.broken()) p.fail();
    if (peer.capacity - peer.queued >= data.length) {
      for (const f of files) f.refs++;
      peer.deliver({ data: data.slice(), files, from: null });
      return data.length;
    }
    return this.pushStreamWait(t, p);
  }

  private async pushStreamWait(t: Task, p: StreamPush): Promise<number> {
    const { peer, data, files, nonblock, atomic, broken, fail } = p;
    const deadline = this.deadline(this.sndTimeoNs);
    let done = 0;
    while (done < data.length || (data.length === 0 && done === 0)) {
      if (broken()) {
        if (done > 0) return done;
        fail();
      }
      const space = peer.capacity - peer.queued;
      if (space <= 0 || (atomic && space < data.length)) {
        if (nonblock) {
          if (done > 0) return done;
          throw new KernelError(Errno.EAGAIN);
        }
        try {
          await this.waitOn(t, [peer.wq, this.wq], deadline);
        } catch (e) {
          if (done > 0) return done;
          throw e;
        }
        continue;
      }
      const n = atomic ? data.length : Math.min(space, data.length - done);
      const first = done === 0 ? files : [];
      for (const f of first) f.refs++;
      peer.deliver({ data: data.slice(done, done + n), files: first, from: null });
      done += n;
      if (data.length === 0) break;
    }
    return done;
  }

  /** accept(): a connection from the backlog, at once when one is there. */
  accept(t: Task): Socket | Promise<Socket> {
    if (!this.listening) throw new KernelError(Errno.EINVAL);
    if (this.backlog.length > 0) return this.takeConnection();
    if (this.nonblock) throw new KernelError(Errno.EAGAIN);
    return this.acceptWait(t);
  }

  private takeConnection(): Socket {
    const c = this.backlog.shift() as Socket;
    this.admitWaiting();
    this.wake();
    return c;
  }

  /** The backlog has room again: a family may complete connections that waited for it. */
  protected admitWaiting(): void {}

  private async acceptWait(t: Task): Promise<Socket> {
    const deadline = this.deadline(this.rcvTimeoNs);
    while (this.backlog.length === 0) {
      if (this.nonblock) throw new KernelError(Errno.EAGAIN);
      await this.waitOn(t, [this.wq], deadline);
      if (!this.listening) throw new KernelError(Errno.EINVAL);
    }
    return this.takeConnection();
  }

  /** Queues an established connection for accept(). */
  enqueueConnection(c: Socket): void {
    this.backlog.push(c);
    this.wake();
  }

  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    return this.readFlags(t, len, 0);
  }
  /** read(2) with recv flags (a nonblocking splice reads with MSG_DONTWAIT); passed files are closed. */
  readFlags(t: Task, len: number, flags: number): Uint8Array | Promise<Uint8Array> {
    return whenReady(this.recv(t, len, flags), (r) => {
      for (const f of r.files) this.k.closeFile(f);
      return r.data;
    });
  }
  override write(t: Task, data: Uint8Array): number | Promise<number> {
    return this.send(t, data, [], 0, null);
  }

  /** Drops queued messages (their files) and unaccepted connections. */
  protected dropQueued(): void {
    for (const m of this.queue) for (const f of m.files) this.k.closeFile(f);
    this.queue.length = 0;
    this.queued = 0;
    const pending = this.backlog;
    this.backlog = [];
    for (const s of pending) this.k.closeFile(s);
  }
}

function streamResult(parts: Uint8Array[], files: KFile[]): RecvResult {
  const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return { data, files, from: null, truncated: false, fullLength: data.length };
}

function isTimeoOpt(opt: number): boolean {
  return opt === SO_RCVTIMEO || opt === SO_SNDTIMEO || opt === SO_RCVTIMEO_NEW || opt === SO_SNDTIMEO_NEW;
}

/** Sets a socket's O_NONBLOCK from SOCK_NONBLOCK-style flags. */
export function nonblockFlag(type: number): number {
  return type & SOCK_NONBLOCK ? O_NONBLOCK : 0;
}
