/**
 * Pipes and fifos with Linux's rules: 64 KiB capacity, writes of at most PIPE_BUF (4096)
 * bytes are atomic, blocking writers wait until everything is written, EOF once every
 * writer is gone, EPIPE + SIGPIPE once every reader is gone.
 */
import type { Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import { sendSignalToTask } from '../signal/deliver';
import { SIGPIPE, SI_USER } from '../signal/signals';
import type { Task } from '../task';
import { WaitQueue } from '../wait';
import { userAddr, writeI32 } from '../uaccess';
import { KFile, O_NONBLOCK, O_RDONLY, O_WRONLY, POLLERR, POLLHUP, POLLIN, POLLOUT, anonStat, newAnonIno } from './file';

export const PIPE_BUF = 4096;
export const PIPE_CAPACITY = 65536;

export class Pipe {
  private chunks: Uint8Array[] = [];
  size = 0;
  capacity = PIPE_CAPACITY;
  readers = 0;
  writers = 0;
  /** Readers were ever attached (a fifo opened for writing first has none yet). */
  readonly readWq = new WaitQueue();
  readonly writeWq = new WaitQueue();
  readonly ino = newAnonIno();
  /** Files whose poll state follows this pipe. */
  readonly ends = new Set<KFile>();

  get space(): number {
    return this.capacity - this.size;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data.slice());
    this.size += data.length;
    this.readWq.wakeAll();
    this.notifyPoll();
  }

  /** The first `len` bytes (at most `size`), copied; they stay in the pipe (tee, vmsplice). */
  peek(len: number): Uint8Array {
    const out = new Uint8Array(Math.min(len, this.size));
    let o = 0;
    for (let i = 0; o < out.length; i++) {
      const c = this.chunks[i];
      const n = Math.min(c.length, out.length - o);
      out.set(c.subarray(0, n), o);
      o += n;
    }
    return out;
  }

  take(len: number): Uint8Array {
    const out = this.peek(len);
    this.discard(out.length);
    return out;
  }

  /** Drops the first `n` bytes (at most `size`) and wakes writers. */
  discard(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    while (left > 0) {
      const c = this.chunks[0];
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.writeWq.wakeAll();
    this.notifyPoll();
  }

  /**
   * Puts bytes taken with take() back at the front (a splice whose write failed or fell short).
   * A writer that filled the room meanwhile leaves the pipe over capacity until it drains.
   */
  unshift(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.unshift(data);
    this.size += data.length;
    this.readWq.wakeAll();
    this.notifyPoll();
  }

  notifyPoll(): void {
    for (const f of this.ends) f.pollWq.wakeAll();
  }
}

/** Writing into a pipe with no reader left: SIGPIPE to the writer, then EPIPE. */
export function pipeBroken(k: Kernel, t: Task): never {
  sendSignalToTask(k, t, { signo: SIGPIPE, code: SI_USER, pid: t.pid, uid: t.process.creds.uid });
  throw new KernelError(Errno.EPIPE);
}

export class PipeEnd extends KFile {
  constructor(
    readonly k: Kernel,
    readonly pipe: Pipe,
    flags: number,
    readonly fifoName: string | null = null,
  ) {
    super(flags);
    if (this.readable) pipe.readers++;
    if (this.writable) pipe.writers++;
    pipe.ends.add(this);
  }

  describe(): string {
    return this.fifoName ?? `pipe:[${this.pipe.ino}]`;
  }
  stat(): Stat {
    return { ...anonStat(0o10600, this.pipe.ino), size: 0 };
  }

  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (!this.readable) throw new KernelError(Errno.EBADF);
    const p = this.pipe;
    if (len === 0) return new Uint8Array(0);
    if (p.size > 0) return p.take(len);
    if (p.writers === 0) return new Uint8Array(0);
    if (this.nonblock) throw new KernelError(Errno.EAGAIN);
    return this.readSlow(t, len);
  }
  private async readSlow(t: Task, len: number): Promise<Uint8Array> {
    const p = this.pipe;
    while (p.size === 0 && p.writers > 0) await t.sleep([p.readWq]);
    return p.take(len);
  }

  override write(t: Task, data: Uint8Array): number | Promise<number> {
    if (!this.writable) throw new KernelError(Errno.EBADF);
    const p = this.pipe;
    if (p.readers === 0) return pipeBroken(this.k, t);
    if (data.length === 0) return 0;
    const atomic = data.length <= PIPE_BUF;
    if (atomic ? p.space >= data.length : p.space > 0) {
      const n = Math.min(p.space, data.length);
      p.push(data.subarray(0, n));
      if (n === data.length || this.nonblock) return n;
      return this.writeSlow(t, data, n);
    }
    if (this.nonblock) throw new KernelError(Errno.EAGAIN);
    return this.writeSlow(t, data, 0);
  }

  private async writeSlow(t: Task, data: Uint8Array, done: number): Promise<number> {
    const p = this.pipe;
    const atomic = data.length <= PIPE_BUF;
    while (done < data.length) {
      if (p.readers === 0) {
        if (done > 0) return done;
        return pipeBroken(this.k, t);
      }
      const need = atomic ? data.length : 1;
      if (p.space >= need) {
        const n = Math.min(p.space, data.length - done);
        p.push(data.subarray(done, done + n));
        done += n;
        continue;
      }
      try {
        await t.sleep([p.writeWq]);
      } catch (e) {
        if (done > 0) return done;
        throw e;
      }
    }
    return done;
  }

  override poll(events: number): number {
    const p = this.pipe;
    let r = 0;
    if (this.readable) {
      if (p.size > 0) r |= POLLIN;
      if (p.writers === 0) r |= POLLHUP;
    }
    if (this.writable) {
      if (p.space >= PIPE_BUF || (p.space > 0 && p.space === p.capacity)) r |= POLLOUT;
      if (p.readers === 0) r |= POLLERR;
    }
    return r & (events | POLLHUP | POLLERR);
  }

  override ioctl(t: Task, cmd: number, arg: number): number {
    if (cmd === 0x541b) {
      // FIONREAD
      writeI32(t.mm.as, userAddr(arg), this.readable ? this.pipe.size : 0);
      return 0;
    }
    throw new KernelError(Errno.ENOTTY);
  }

  override reopen(t: Task, flags: number): Promise<KFile> {
    return openPipe(this.k, t, this.pipe, flags, this.fifoName);
  }

  override release(): void {
    const p = this.pipe;
    if (this.readable) p.readers--;
    if (this.writable) p.writers--;
    p.ends.delete(this);
    p.readWq.wakeAll();
    p.writeWq.wakeAll();
    p.notifyPoll();
  }
}

const fifos = new WeakMap<object, Pipe>();

/**
 * Opening a named pipe (the VFS found an S_IFIFO node): the description becomes a kernel
 * pipe end shared by every opener of that node.
 */
export async function openFifo(k: Kernel, t: Task, node: object, flags: number, name: string): Promise<PipeEnd> {
  let pipe = fifos.get(node);
  if (!pipe) {
    pipe = new Pipe();
    fifos.set(node, pipe);
  }
  return openPipe(k, t, pipe, flags, name);
}

/**
 * A new end of `pipe` opened with `flags` (Linux's fifo_open). For a named pipe (`name`) a
 * blocking open for reading waits for a writer and vice versa, O_NONBLOCK opens for writing
 * with no reader fail with ENXIO, O_RDWR never waits; an anonymous pipe reopened through
 * /proc/PID/fd/N (`name` null) never waits nor fails.
 */
async function openPipe(k: Kernel, t: Task, pipe: Pipe, flags: number, name: string | null): Promise<PipeEnd> {
  const acc = flags & 3;
  const nonblock = (flags & O_NONBLOCK) !== 0;
  const named = name !== null;
  if (named && acc === O_WRONLY && nonblock && pipe.readers === 0) throw new KernelError(Errno.ENXIO);
  const end = new PipeEnd(k, pipe, flags & ~O_CREAT_LIKE, name);
  pipe.readWq.wakeAll();
  pipe.writeWq.wakeAll();
  pipe.notifyPoll();
  if (named && !nonblock) {
    try {
      if (acc === O_RDONLY) while (pipe.writers === 0) await t.sleep([pipe.readWq]);
      else if (acc === O_WRONLY) while (pipe.readers === 0) await t.sleep([pipe.writeWq]);
    } catch (e) {
      end.release();
      throw e;
    }
  }
  return end;
}
const O_CREAT_LIKE = 0o100 | 0o200 | 0o1000;

/** pipe2(): [read end, write end]. */
export function makePipe(k: Kernel, flags: number): [PipeEnd, PipeEnd] {
  const p = new Pipe();
  return [new PipeEnd(k, p, O_RDONLY | flags), new PipeEnd(k, p, O_WRONLY | flags)];
}
