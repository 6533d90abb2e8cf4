/**
 * Pseudo-terminals (pty(7), ptmx(4)): opening /dev/ptmx allocates pair N and gives its master;
 * the slave is /dev/pts/N (char 136:N, a devfs node while the master is open). Master writes
 * go through a line discipline (canonical editing, echo, ICRNL, ISIG characters) to the slave's
 * input; slave writes go through OPOST/ONLCR to the master. Closing the master hangs the slave
 * up (SIGHUP to the controlling process and the foreground group, EOF on read, EIO on write).
 * Buffers are bounded: 4096 bytes of slave input (N_TTY_BUF_SIZE), OUTPUT_LIMIT of output.
 */
import { S_IFCHR, makedev, type DevFs, type Stat, type TmpNode } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import { sendSignalToProcess } from '../signal/deliver';
import { SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SI_KERNEL } from '../signal/signals';
import type { Task } from '../task';
import { readI32, userAddr, writeI32 } from '../uaccess';
import { WaitQueue } from '../wait';
import { KFile, O_ACCMODE, O_NOCTTY, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLOUT } from './file';
import {
  C_CC,
  C_IFLAG,
  C_LFLAG,
  C_OFLAG,
  ECHO,
  ECHOCTL,
  ECHOE,
  ECHOK,
  ECHOKE,
  ECHONL,
  FIONREAD,
  ICANON,
  ICRNL,
  IEXTEN,
  IGNCR,
  INLCR,
  ISIG,
  ISTRIP,
  NOFLSH,
  OCRNL,
  ONLCR,
  OPOST,
  TCSETSF,
  TIOCGSID,
  TIOCNOTTY,
  TIOCOUTQ,
  TIOCSCTTY,
  TIOCSWINSZ,
  VEOF,
  VEOL,
  VEOL2,
  VERASE,
  VINTR,
  VKILL,
  VMIN,
  VQUIT,
  VSUSP,
  VTIME,
  VWERASE,
  defaultTermios,
  termiosFlag,
  ttyStateIoctl,
  type TtyState,
  type Winsize,
} from './termios';

export const PTY_SLAVE_MAJOR = 136;
/** Pairs that may exist at once (Linux's kernel.pty.max is larger; ENOSPC beyond). */
export const MAX_PTYS = 1024;
/** Slave input capacity (Linux N_TTY_BUF_SIZE); also the canonical line limit. */
export const N_TTY_BUF_SIZE = 4096;
/** Slave output not yet read by the master. */
export const OUTPUT_LIMIT = 16384;

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTLCK = 0x80045439;
const TIOCGPTPEER = 0x5441;
const TCSBRK = 0x5409;
const TCXONC = 0x540a;
const TCFLSH = 0x540b;

/**
 * Put in an OpenFile's `private_` by a character device's open: openat replaces the VFS
 * description with the kernel file `open` returns (null: keep the VFS description).
 */
export class DeviceOpen {
  constructor(readonly open: (t: Task, flags: number) => KFile | null) {}
}

/** One pseudo-terminal pair. */
export class Pty implements TtyState {
  termios = defaultTermios();
  winsize: Winsize = { rows: 0, cols: 0 };
  foregroundPgrp = 0;
  sessionSid = 0;
  locked = true;
  masterOpen = true;
  slaveOpens = 0;
  slaveWasOpened = false;
  /** Slave input ready to read: whole lines in canonical mode (an empty one is VEOF). */
  private ready: Uint8Array[] = [];
  readyBytes = 0;
  /** The canonical line being edited. */
  private line: number[] = [];
  private output: Uint8Array[] = [];
  outBytes = 0;
  readonly wq = new WaitQueue();
  readonly files = new Set<KFile>();

  constructor(
    readonly table: PtyTable,
    readonly index: number,
    readonly node: TmpNode | null,
  ) {}

  private lflag(bit: number): boolean {
    return (termiosFlag(this.termios, C_LFLAG) & bit) !== 0;
  }
  private cc(i: number): number {
    return this.termios[C_CC + i];
  }
  get canonical(): boolean {
    return this.lflag(ICANON);
  }
  get hungUp(): boolean {
    return !this.masterOpen;
  }

  wake(): void {
    this.wq.wakeAll();
    for (const f of this.files) f.pollWq.wakeAll();
  }

  /** Bytes a slave read could return now (canonical: a whole line is there). */
  get slaveReadable(): boolean {
    return this.canonical ? this.ready.length > 0 : this.readyBytes > 0;
  }
  get inputRoom(): number {
    return N_TTY_BUF_SIZE - this.readyBytes - this.line.length;
  }

  // ---- output (slave → master) ----

  /** OPOST processing of `data` (ONLCR, OCRNL). */
  private opost(data: Uint8Array): Uint8Array {
    const of = termiosFlag(this.termios, C_OFLAG);
    if (!(of & OPOST) || !(of & (ONLCR | OCRNL))) return data.slice();
    const out: number[] = [];
    for (const c of data) {
      if (c === 10 && of & ONLCR) out.push(13, 10);
      else if (c === 13 && of & OCRNL) out.push(10);
      else out.push(c);
    }
    return Uint8Array.from(out);
  }
  private pushOutput(b: Uint8Array): void {
    if (b.length === 0) return;
    this.output.push(b);
    this.outBytes += b.length;
  }
  /** Echo of input: dropped when the output is full (as Linux drops echoes). */
  private echo(bytes: number[]): void {
    const b = this.opost(Uint8Array.from(bytes));
    if (this.outBytes + b.length <= OUTPUT_LIMIT) this.pushOutput(b);
  }
  private echoChar(c: number): void {
    if (this.lflag(ECHOCTL) && (c < 32 || c === 127) && c !== 9 && c !== 10) this.echo([94, c === 127 ? 63 : c + 64]);
    else this.echo([c]);
  }
  /** Writes slave data to the master side; returns the bytes taken (0: full). */
  slaveOutput(data: Uint8Array): number {
    const room = OUTPUT_LIMIT - this.outBytes;
    if (room <= 0) return 0;
    // worst case ONLCR doubles each byte
    const n = Math.min(data.length, Math.max(1, Math.floor(room / 2)));
    this.pushOutput(this.opost(data.subarray(0, n)));
    this.wake();
    return n;
  }
  takeOutput(len: number): Uint8Array {
    return takeChunks(this.output, len, (n) => (this.outBytes -= n));
  }

  // ---- input (master → slave), the line discipline ----

  private signalForeground(sig: number): void {
    if (!this.lflag(NOFLSH)) this.flushInput();
    signalGroup(this.table.k, this.foregroundPgrp, sig);
  }
  flushInput(): void {
    this.ready = [];
    this.readyBytes = 0;
    this.line = [];
  }
  flushOutput(): void {
    this.output = [];
    this.outBytes = 0;
  }
  private pushReady(b: Uint8Array): void {
    this.ready.push(b);
    this.readyBytes += b.length;
  }
  private erase(n: number): void {
    for (let i = 0; i < n && this.line.length; i++) {
      const c = this.line.pop() ?? 0;
      if (!this.lflag(ECHO)) continue;
      if (!this.lflag(ECHOE)) {
        this.echoChar(this.cc(VERASE));
        continue;
      }
      const wide = this.lflag(ECHOCTL) && (c < 32 || c === 127) && c !== 9;
      this.echo(wide ? [8, 32, 8, 8, 32, 8] : [8, 32, 8]);
    }
  }

  /** Master write: feeds `data` to the line discipline; returns the bytes taken (0: full). */
  receive(data: Uint8Array): number {
    const ifl = termiosFlag(this.termios, C_IFLAG);
    let i = 0;
    for (; i < data.length; i++) {
      let c = data[i];
      if (ifl & ISTRIP) c &= 0x7f;
      if (c === 13) {
        if (ifl & IGNCR) continue;
        if (ifl & ICRNL) c = 10;
      } else if (c === 10 && ifl & INLCR) c = 13;
      if (this.lflag(ISIG) && c !== 0) {
        const sig = c === this.cc(VINTR) ? SIGINT : c === this.cc(VQUIT) ? SIGQUIT : c === this.cc(VSUSP) ? SIGTSTP : 0;
        if (sig) {
          this.signalForeground(sig);
          if (this.lflag(ECHO)) this.echoChar(c);
          continue;
        }
      }
      if (!this.canonical) {
        if (this.readyBytes >= N_TTY_BUF_SIZE) break;
        this.pushReady(Uint8Array.of(c));
        if (this.lflag(ECHO)) this.echoChar(c);
        continue;
      }
      if (c !== 0 && c === this.cc(VERASE)) {
        this.erase(1);
        continue;
      }
      if (c !== 0 && c === this.cc(VKILL)) {
        if (this.lflag(ECHOKE) && this.lflag(ECHOE)) this.erase(this.line.length);
        else {
          this.line = [];
          if (this.lflag(ECHO)) this.echoChar(c);
          if (this.lflag(ECHOK)) this.echo([10]);
        }
        continue;
      }
      if (c !== 0 && c === this.cc(VWERASE) && this.lflag(IEXTEN)) {
        let n = 0;
        while (n < this.line.length && this.line[this.line.length - 1 - n] === 32) n++;
        while (n < this.line.length && this.line[this.line.length - 1 - n] !== 32) n++;
        this.erase(n);
        continue;
      }
      const eof = c !== 0 && c === this.cc(VEOF);
      const eol = c === 10 || (c !== 0 && (c === this.cc(VEOL) || c === this.cc(VEOL2)));
      if (eof || eol) {
        if (this.readyBytes + this.line.length + 1 > N_TTY_BUF_SIZE && this.ready.length) break;
        if (eol) this.line.push(c);
        this.pushReady(Uint8Array.from(this.line));
        this.line = [];
        if (eol && (this.lflag(ECHO) || (c === 10 && this.lflag(ECHONL)))) this.echo([c]);
        continue;
      }
      // a full line keeps only room for its terminator (Linux discards the rest)
      if (this.inputRoom <= 1) continue;
      this.line.push(c);
      if (this.lflag(ECHO)) this.echoChar(c);
    }
    if (i > 0) this.wake();
    return i;
  }

  /** Slave read of what is ready: one line at most in canonical mode. */
  takeInput(len: number): Uint8Array {
    if (!this.canonical) return takeChunks(this.ready, len, (n) => (this.readyBytes -= n));
    const first = this.ready[0];
    const n = Math.min(len, first.length);
    const out = first.slice(0, n);
    if (n === first.length) this.ready.shift();
    else this.ready[0] = first.subarray(n);
    this.readyBytes -= n;
    return out;
  }

  termiosChanged(cmd: number, old: Winsize): void {
    if (cmd === TIOCSWINSZ) {
      const w = this.winsize;
      if (w.rows !== old.rows || w.cols !== old.cols || w.xpixel !== old.xpixel || w.ypixel !== old.ypixel)
        signalGroup(this.table.k, this.foregroundPgrp, SIGWINCH);
      return;
    }
    if (cmd === TCSETSF) this.flushInput();
    // leaving canonical mode makes the line being edited readable
    if (!this.canonical && this.line.length) {
      this.pushReady(Uint8Array.from(this.line));
      this.line = [];
    }
    this.wake();
  }

  /** The slave's stat: that of its /dev/pts node (ttyname compares dev and inode). */
  slaveStat(): Stat {
    const a = this.node?.attr();
    return {
      ino: a?.ino ?? 0,
      mode: a?.mode ?? S_IFCHR | 0o620,
      nlink: 1,
      uid: a?.uid ?? 0,
      gid: a?.gid ?? 0,
      rdev: makedev(PTY_SLAVE_MAJOR, this.index),
      size: 0,
      blocks: 0,
      atime: a?.atime ?? { sec: 0, nsec: 0 },
      mtime: a?.mtime ?? { sec: 0, nsec: 0 },
      ctime: a?.ctime ?? { sec: 0, nsec: 0 },
      dev: this.table.devfs?.dev ?? 0,
      blksize: 1024,
      mask: 0x7ff,
      mntId: 0,
    };
  }

  /** The master closed: hang up the slave side. */
  hangup(): void {
    this.masterOpen = false;
    this.table.devfs?.removeNode(`pts/${this.index}`);
    if (this.sessionSid) {
      const k = this.table.k;
      const leader = k.processes.get(this.sessionSid);
      if (leader && !leader.zombie) {
        sendSignalToProcess(k, leader, { signo: SIGHUP, code: SI_KERNEL });
        sendSignalToProcess(k, leader, { signo: SIGCONT, code: SI_KERNEL });
      }
      if (this.foregroundPgrp !== this.sessionSid) signalGroup(k, this.foregroundPgrp, SIGHUP);
    }
    this.sessionSid = 0;
    this.foregroundPgrp = 0;
    this.flushOutput();
    this.wake();
    this.table.maybeFree(this);
  }
}

/** Takes up to `len` bytes from the front of `chunks`. */
function takeChunks(chunks: Uint8Array[], len: number, taken: (n: number) => void): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  while (chunks.length && n < len) {
    const c = chunks[0];
    const want = len - n;
    if (c.length <= want) {
      parts.push(c);
      n += c.length;
      chunks.shift();
    } else {
      parts.push(c.subarray(0, want));
      chunks[0] = c.subarray(want);
      n += want;
    }
  }
  taken(n);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function signalGroup(k: Kernel, pgrp: number, signo: number): void {
  if (pgrp <= 0) return;
  for (const p of k.processes.values())
    if (p.pgid === pgrp && !p.zombie) sendSignalToProcess(k, p, { signo, code: SI_KERNEL });
}

/** The pairs of one VM and its /dev/pts directory. */
export class PtyTable {
  readonly pairs = new Map<number, Pty>();

  constructor(
    readonly k: Kernel,
    readonly devfs: DevFs | null,
  ) {}

  /** Opening /dev/ptmx: a new pair's master. */
  openMaster(t: Task, flags: number, stat: Stat): PtyMaster {
    let n = 0;
    while (this.pairs.has(n)) n++;
    if (n >= MAX_PTYS) throw new KernelError(Errno.ENOSPC);
    const fsuid = t.process.creds.fsuid;
    let node: TmpNode | null = null;
    try {
      node = this.devfs?.addNode(`pts/${n}`, S_IFCHR | 0o620, makedev(PTY_SLAVE_MAJOR, n), fsuid, 5) ?? null;
    } catch {
      node = null; // /dev/pts removed by the guest: the pair still works through TIOCGPTPEER
    }
    const pty = new Pty(this, n, node);
    this.pairs.set(n, pty);
    this.k.vfs.registerCharDevice(PTY_SLAVE_MAJOR, n, {
      open: (file) => {
        file.private_ = new DeviceOpen((tt, fl) => this.openSlave(pty, tt, fl));
      },
    });
    return new PtyMaster(pty, flags, stat);
  }

  openSlave(pty: Pty, t: Task, flags: number): PtySlave {
    if (this.pairs.get(pty.index) !== pty || pty.hungUp || pty.locked) throw new KernelError(Errno.EIO);
    const f = new PtySlave(pty, flags);
    if (!(flags & O_NOCTTY)) this.makeControlling(pty, t, false);
    return f;
  }

  /** The session's controlling pseudo-terminal, if it has one. */
  controlling(sid: number): Pty | undefined {
    for (const p of this.pairs.values()) if (p.sessionSid === sid && !p.hungUp) return p;
    return undefined;
  }

  /** setsid + open without O_NOCTTY, or TIOCSCTTY: `pty` becomes the caller's controlling terminal. */
  makeControlling(pty: Pty, t: Task, explicit: boolean): void {
    const p = t.process;
    const ok = p.sid === p.pid && pty.sessionSid === 0 && this.controlling(p.sid) === undefined;
    if (!ok) {
      if (explicit && pty.sessionSid !== p.sid) throw new KernelError(Errno.EPERM);
      return;
    }
    pty.sessionSid = p.sid;
    pty.foregroundPgrp = p.pgid;
  }

  /** /dev/tty: a new slave description of the caller's controlling pseudo-terminal, or null. */
  openControlling(t: Task, flags: number): PtySlave | null {
    const pty = this.controlling(t.process.sid);
    return pty ? new PtySlave(pty, flags) : null;
  }

  maybeFree(pty: Pty): void {
    if (!pty.masterOpen && pty.slaveOpens === 0 && this.pairs.get(pty.index) === pty) this.pairs.delete(pty.index);
  }
}

/** Common to both ends: nonblocking waits and the shared ioctls. */
abstract class PtyEnd extends KFile {
  constructor(
    readonly pty: Pty,
    flags: number,
  ) {
    super(flags);
    pty.files.add(this);
  }

  protected async waitFor(t: Task, ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.nonblock) throw new KernelError(Errno.EAGAIN);
      await t.sleep([this.pty.wq]);
    }
  }

  /** Writes all of `data` with `put` (which takes what fits), sleeping while nothing fits. */
  protected async writeAll(
    t: Task,
    data: Uint8Array,
    put: (d: Uint8Array) => number,
    gone: () => boolean,
  ): Promise<number> {
    let done = 0;
    while (done < data.length) {
      if (gone()) {
        if (done) return done;
        throw new KernelError(Errno.EIO);
      }
      const n = put(data.subarray(done));
      done += n;
      if (n > 0) continue;
      if (this.nonblock) {
        if (done) return done;
        throw new KernelError(Errno.EAGAIN);
      }
      try {
        await t.sleep([this.pty.wq]);
      } catch (e) {
        if (done) return done;
        throw e;
      }
    }
    return done;
  }

  protected commonIoctl(t: Task, cmd: number, arg: number, pending: number): number {
    const pty = this.pty;
    const p = userAddr(arg);
    switch (cmd) {
      case FIONREAD:
        writeI32(t.mm.as, p, pending);
        return 0;
      case TIOCOUTQ:
        writeI32(t.mm.as, p, 0);
        return 0;
      case TCSBRK:
      case TCXONC:
        return 0;
      case TCFLSH:
        if (arg === 0 || arg === 2) pty.flushInput();
        if (arg === 1 || arg === 2) pty.flushOutput();
        if (arg < 0 || arg > 2) throw new KernelError(Errno.EINVAL);
        pty.wake();
        return 0;
      case TIOCGSID:
        if (!pty.sessionSid) throw new KernelError(Errno.ENOTTY);
        break;
      case TIOCSCTTY:
        pty.table.makeControlling(pty, t, true);
        return 0;
      case TIOCNOTTY:
        if (pty.sessionSid !== t.process.sid) throw new KernelError(Errno.ENOTTY);
        pty.sessionSid = 0;
        pty.foregroundPgrp = 0;
        return 0;
    }
    const r = ttyStateIoctl(t, pty, cmd, arg, (c, old) => pty.termiosChanged(c, old));
    if (r === null) throw new KernelError(Errno.ENOTTY);
    return r;
  }
}

export class PtyMaster extends PtyEnd {
  constructor(
    pty: Pty,
    flags: number,
    private readonly ptmxStat: Stat,
  ) {
    super(pty, flags);
  }
  describe(): string {
    return '/dev/ptmx';
  }
  stat(): Stat {
    return this.ptmxStat;
  }
  private get slaveGone(): boolean {
    return this.pty.slaveWasOpened && this.pty.slaveOpens === 0;
  }
  override release(): void {
    this.pty.files.delete(this);
    this.pty.hangup();
  }
  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (!this.readable) throw new KernelError(Errno.EBADF);
    const pty = this.pty;
    if (len === 0) return new Uint8Array(0);
    if (pty.outBytes > 0) return this.takeOutput(len);
    if (this.slaveGone) throw new KernelError(Errno.EIO);
    if (this.nonblock) throw new KernelError(Errno.EAGAIN);
    return this.waitFor(t, () => pty.outBytes > 0 || this.slaveGone).then(() => {
      if (pty.outBytes === 0) throw new KernelError(Errno.EIO);
      return this.takeOutput(len);
    });
  }
  private takeOutput(len: number): Uint8Array {
    const out = this.pty.takeOutput(len);
    this.pty.wake();
    return out;
  }
  override write(t: Task, data: Uint8Array): number | Promise<number> {
    if (!this.writable) throw new KernelError(Errno.EBADF);
    const n = this.pty.receive(data);
    if (n === data.length) return n;
    return this.writeAll(
      t,
      data.subarray(n),
      (d) => this.pty.receive(d),
      () => false,
    ).then((m) => n + m);
  }
  override poll(events: number): number {
    const pty = this.pty;
    let r = 0;
    if (pty.outBytes > 0) r |= POLLIN;
    if (pty.inputRoom > 0) r |= POLLOUT;
    if (this.slaveGone) r |= POLLHUP;
    return r & (events | POLLHUP | POLLERR);
  }
  override ioctl(t: Task, cmd: number, arg: number): number {
    const pty = this.pty;
    const as = t.mm.as;
    const p = userAddr(arg);
    switch (cmd) {
      case TIOCGPTN:
        writeI32(as, p, pty.index);
        return 0;
      case TIOCSPTLCK:
        pty.locked = readI32(as, p) !== 0;
        return 0;
      case TIOCGPTLCK:
        writeI32(as, p, pty.locked ? 1 : 0);
        return 0;
      case TIOCGPTPEER: {
        const f = pty.table.openSlave(pty, t, arg & ~0o2000000);
        return pty.table.k.allocFd(t, f, (arg & 0o2000000) !== 0);
      }
    }
    return this.commonIoctl(t, cmd, arg, pty.outBytes);
  }
}

export class PtySlave extends PtyEnd {
  constructor(pty: Pty, flags: number) {
    super(pty, flags & (O_ACCMODE | O_NONBLOCK | 0o2000));
    pty.slaveOpens++;
    pty.slaveWasOpened = true;
    pty.wake();
  }
  describe(): string {
    return `/dev/pts/${this.pty.index}`;
  }
  stat(): Stat {
    return this.pty.slaveStat();
  }
  override reopen(t: Task, flags: number): KFile {
    return this.pty.table.openSlave(this.pty, t, flags | O_NOCTTY);
  }
  override release(): void {
    const pty = this.pty;
    pty.files.delete(this);
    pty.slaveOpens--;
    pty.wake();
    pty.table.maybeFree(pty);
  }
  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (!this.readable) throw new KernelError(Errno.EBADF);
    const pty = this.pty;
    if (len === 0) return new Uint8Array(0);
    if (pty.canonical) {
      if (pty.slaveReadable) return this.takeInput(len);
      if (pty.hungUp) return new Uint8Array(0);
      if (this.nonblock) throw new KernelError(Errno.EAGAIN);
      return this.waitFor(t, () => pty.slaveReadable || pty.hungUp || !pty.canonical).then(() =>
        pty.slaveReadable ? this.takeInput(len) : pty.hungUp ? new Uint8Array(0) : this.read(t, len),
      );
    }
    return this.readRaw(t, len);
  }
  private takeInput(len: number): Uint8Array {
    const out = this.pty.takeInput(len);
    this.pty.wake();
    return out;
  }
  /** Non-canonical read with VMIN/VTIME (termios(3)). */
  private async readRaw(t: Task, len: number): Promise<Uint8Array> {
    const pty = this.pty;
    const k = pty.table.k;
    const min = pty.termios[C_CC + VMIN];
    const tenths = pty.termios[C_CC + VTIME];
    const need = Math.max(1, Math.min(min, len));
    let deadline = min === 0 && tenths > 0 ? k.clock.monotonicNs() + tenths * 1e8 : null;
    for (;;) {
      if (pty.readyBytes >= need) return this.takeInput(len);
      if (pty.hungUp) return this.takeInput(len);
      if (min === 0 && tenths === 0) return this.takeInput(len);
      if (this.nonblock) {
        if (pty.readyBytes > 0) return this.takeInput(len);
        throw new KernelError(Errno.EAGAIN);
      }
      if (deadline !== null && k.clock.monotonicNs() >= deadline) return this.takeInput(len);
      const before = pty.readyBytes;
      const until = deadline;
      await t.sleep([pty.wq], until === null ? undefined : (fire) => k.addTimer(until, fire), (x) => k.cancelTimer(x));
      // MIN and TIME both set: TIME is an inter-byte timer started by the first byte
      if (min > 0 && tenths > 0 && pty.readyBytes > before) deadline = k.clock.monotonicNs() + tenths * 1e8;
    }
  }
  override write(t: Task, data: Uint8Array): number | Promise<number> {
    if (!this.writable) throw new KernelError(Errno.EBADF);
    const pty = this.pty;
    if (pty.hungUp) throw new KernelError(Errno.EIO);
    const n = pty.slaveOutput(data);
    if (n === data.length) return n;
    return this.writeAll(
      t,
      data.subarray(n),
      (d) => pty.slaveOutput(d),
      () => pty.hungUp,
    ).then((m) => n + m);
  }
  override poll(events: number): number {
    const pty = this.pty;
    if (pty.hungUp) return (POLLIN | POLLOUT | POLLERR | POLLHUP) & (events | POLLHUP | POLLERR);
    let r = 0;
    if (pty.slaveReadable) r |= POLLIN;
    if (pty.outBytes < OUTPUT_LIMIT) r |= POLLOUT;
    return r & (events | POLLHUP | POLLERR);
  }
  override ioctl(t: Task, cmd: number, arg: number): number {
    return this.commonIoctl(t, cmd, arg, this.pty.readyBytes);
  }
}
