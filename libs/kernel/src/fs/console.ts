/**
 * The run's console: stdin from the host (VmIo.stdin), stdout/stderr to the host sinks.
 * fds 0, 1, 2 of the first process and /dev/tty, /dev/console refer to it. With
 * `VmConfig.tty` set it behaves as a terminal (TCGETS, TIOCGWINSZ, process groups).
 */
import type { Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { Task } from '../task';
import { readI32, writeI32, userAddr } from '../uaccess';
import { WaitQueue } from '../wait';
import {
  KFile,
  O_ACCMODE,
  O_APPEND,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  POLLIN,
  POLLOUT,
  POLLHUP,
  anonStat,
} from './file';
import {
  FIONBIO,
  FIONREAD,
  TIOCNOTTY,
  TIOCOUTQ,
  TIOCSCTTY,
  defaultTermios,
  ttyStateIoctl,
  type TtyState,
  type Winsize,
} from './termios';

/** Buffered host stdin. */
export class StdinSource {
  private chunks: Uint8Array[] = [];
  private eof = false;
  private pumping = false;
  readonly wq = new WaitQueue();
  /** Open files reading this stdin: poll/epoll sleep on their queues, woken with `wq`. */
  readonly readers = new Set<KFile>();
  private iterator: AsyncIterator<Uint8Array> | null = null;

  constructor(
    src: Uint8Array | string | AsyncIterable<Uint8Array> | undefined,
    private readonly k: Kernel,
  ) {
    if (src === undefined) this.eof = true;
    else if (typeof src === 'string') {
      this.chunks.push(Buffer.from(src, 'utf8'));
      this.eof = true;
    } else if (src instanceof Uint8Array) {
      this.chunks.push(src);
      this.eof = true;
    } else this.iterator = src[Symbol.asyncIterator]();
  }

  get available(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }
  get ready(): boolean {
    return this.chunks.length > 0 || this.eof;
  }

  /** Starts fetching the next host chunk (once). */
  pump(): void {
    if (this.pumping || this.eof || !this.iterator) return;
    this.pumping = true;
    const it = this.iterator;
    void this.k
      .hostIo(it.next())
      .then(
        (r) => {
          if (r.done) this.eof = true;
          else if (r.value.length) this.chunks.push(r.value);
        },
        () => {
          this.eof = true;
        },
      )
      .finally(() => {
        this.pumping = false;
        this.wq.wakeAll();
        for (const f of this.readers) f.pollWq.wakeAll();
      });
  }

  take(len: number): Uint8Array {
    const out: Uint8Array[] = [];
    let n = 0;
    while (this.chunks.length && n < len) {
      const c = this.chunks[0];
      const want = len - n;
      if (c.length <= want) {
        out.push(c);
        n += c.length;
        this.chunks.shift();
      } else {
        out.push(c.subarray(0, want));
        this.chunks[0] = c.subarray(want);
        n += want;
      }
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }
}

/** Terminal state shared by all console fds. */
export class Console implements TtyState {
  readonly stdin: StdinSource;
  /** termios bytes (struct termios, 60 bytes on aarch64 for TCGETS). */
  termios = defaultTermios();
  winsize: Winsize;
  foregroundPgrp = 1;
  sessionSid = 1;
  constructor(
    readonly k: Kernel,
    readonly isTty: boolean,
  ) {
    this.stdin = new StdinSource(k.io.stdin, k);
    this.winsize = k.config.tty ?? { rows: 24, cols: 80 };
  }
}

export class ConsoleFile extends KFile {
  constructor(
    readonly console: Console,
    flags: number,
    readonly stream: 0 | 1 | 2,
  ) {
    super(flags);
    if (this.readable) console.stdin.readers.add(this);
  }
  override release(): void {
    this.console.stdin.readers.delete(this);
  }
  /**
   * /dev/stdin, /dev/stdout, /proc/self/fd/N of the console: stdin can be opened again for
   * reading and stdout or stderr for writing (a terminal both ways). The other ends belong to
   * the host, so the rest is ENXIO.
   */
  override reopen(_t: Task, flags: number): KFile {
    const acc = flags & O_ACCMODE;
    const reads = acc === O_RDONLY || acc === O_RDWR;
    const writes = acc === O_WRONLY || acc === O_RDWR;
    if (!this.console.isTty && ((reads && this.stream !== 0) || (writes && this.stream === 0)))
      throw new KernelError(Errno.ENXIO);
    return new ConsoleFile(this.console, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK), this.stream);
  }
  static stdio(c: Console): [ConsoleFile, ConsoleFile, ConsoleFile] {
    return [new ConsoleFile(c, O_RDONLY, 0), new ConsoleFile(c, O_WRONLY, 1), new ConsoleFile(c, O_WRONLY, 2)];
  }
  describe(): string {
    return this.console.isTty ? '/dev/pts/0' : this.stream === 0 ? 'pipe:[1]' : 'pipe:[2]';
  }
  stat(): Stat {
    return this.console.isTty ? { ...anonStat(0o20620, 3), rdev: 0x8800 } : anonStat(0o10600, 1 + this.stream);
  }

  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (!this.readable) throw new KernelError(Errno.EBADF);
    const src = this.console.stdin;
    if (len === 0) return new Uint8Array(0);
    if (src.available > 0) return src.take(len);
    if (src.ready) return new Uint8Array(0);
    if (this.nonblock) {
      src.pump();
      throw new KernelError(Errno.EAGAIN);
    }
    return this.readSlow(t, len);
  }
  private async readSlow(t: Task, len: number): Promise<Uint8Array> {
    const src = this.console.stdin;
    while (!(src.available > 0) && !src.ready) {
      src.pump();
      await t.sleep([src.wq]);
    }
    return src.take(len);
  }
  override write(_t: Task, data: Uint8Array): number {
    if (!this.writable) throw new KernelError(Errno.EBADF);
    return this.console.k.output(this.stream === 2 ? 2 : 1, data);
  }
  override poll(events: number): number {
    let r = 0;
    const src = this.console.stdin;
    if (this.readable) {
      if (src.available > 0) r |= POLLIN;
      else if (src.ready) r |= POLLIN | POLLHUP;
      else src.pump();
    }
    if (this.writable) r |= POLLOUT;
    return r & (events | POLLHUP);
  }
  override ioctl(t: Task, cmd: number, arg: number): number {
    const c = this.console;
    const as = t.mm.as;
    const p = userAddr(arg);
    if (cmd === FIONREAD) {
      writeI32(as, p, this.readable ? c.stdin.available : 0);
      return 0;
    }
    if (cmd === FIONBIO) {
      const on = readI32(as, p);
      this.flags = on ? this.flags | 0o4000 : this.flags & ~0o4000;
      return 0;
    }
    if (!c.isTty) throw new KernelError(Errno.ENOTTY);
    const r = ttyStateIoctl(t, c, cmd, arg);
    if (r !== null) return r;
    switch (cmd) {
      case TIOCSCTTY:
      case TIOCNOTTY:
        return 0;
      case TIOCOUTQ:
        writeI32(as, p, 0);
        return 0;
      default:
        throw new KernelError(Errno.ENOTTY);
    }
  }
}
