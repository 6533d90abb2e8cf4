/**
 * Open file descriptions as the kernel sees them (Linux struct file) and the per-process fd
 * table. A `KFile` is either a VFS file (`VfsFile`, wrapping the VFS's OpenFile) or a
 * kernel object (pipe end, console, eventfd, socket, epoll, ...).
 */
import type { OpenFile, Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import { WaitQueue } from '../wait';
import type { Process, Task } from '../task';

export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o40000;
export const O_NOFOLLOW = 0o100000;
export const O_LARGEFILE = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLRDBAND = 0x80;
export const POLLWRNORM = 0x100;
export const POLLRDHUP = 0x2000;

let nextAnonIno = 1;
export const newAnonIno = (): number => nextAnonIno++;

/** An open file description. Methods may finish at once (number) or wait (Promise). */
export abstract class KFile {
  refs = 1;
  private flagBits: number;
  /** Woken whenever readiness may have changed (poll, epoll, select sleep on it). */
  readonly pollWq = new WaitQueue();
  /** Drops the flock/OFD locks of this description (set by fs/locks.ts once it holds one). */
  lockRelease: (() => void) | null = null;

  constructor(flags: number) {
    this.flagBits = flags;
  }

  /** O_ACCMODE | status flags (O_APPEND, O_NONBLOCK, …). */
  get flags(): number {
    return this.flagBits;
  }
  set flags(v: number) {
    this.flagBits = v;
  }

  get nonblock(): boolean {
    return (this.flags & O_NONBLOCK) !== 0;
  }
  get readable(): boolean {
    const a = this.flags & O_ACCMODE;
    return (this.flags & O_PATH) === 0 && (a === O_RDONLY || a === O_RDWR);
  }
  get writable(): boolean {
    const a = this.flags & O_ACCMODE;
    return (this.flags & O_PATH) === 0 && (a === O_WRONLY || a === O_RDWR);
  }

  /** What /proc/[pid]/fd/N points at for non-path files ('pipe:[3]'). */
  abstract describe(): string;

  read(_t: Task, _len: number): Uint8Array | Promise<Uint8Array> {
    throw new KernelError(Errno.EINVAL);
  }
  write(_t: Task, _data: Uint8Array): number | Promise<number> {
    throw new KernelError(Errno.EINVAL);
  }
  pread(_t: Task, _len: number, _pos: number): Uint8Array | Promise<Uint8Array> {
    throw new KernelError(Errno.ESPIPE);
  }
  pwrite(_t: Task, _data: Uint8Array, _pos: number): number | Promise<number> {
    throw new KernelError(Errno.ESPIPE);
  }
  seek(_offset: number, _whence: number): number | Promise<number> {
    throw new KernelError(Errno.ESPIPE);
  }
  ioctl(_t: Task, _cmd: number, _arg: number): number | Promise<number> {
    throw new KernelError(Errno.ENOTTY);
  }
  /** Ready events among `events` (POLL* bits); POLLERR/POLLHUP are always reported. */
  poll(events: number): number {
    return events & (POLLIN | POLLOUT);
  }
  abstract stat(): Stat;
  getdents(_size: number): Promise<Uint8Array> {
    throw new KernelError(Errno.ENOTDIR);
  }
  /**
   * open() of this description's /proc/PID/fd/N link (`/dev/stdin`, bash's `<(...)`): a new
   * description of the same object opened with `flags`. Objects Linux cannot reopen that way
   * (sockets, anonymous inodes) give ENXIO.
   */
  reopen(_t: Task, _flags: number): KFile | Promise<KFile> {
    throw new KernelError(Errno.ENXIO);
  }
  /**
   * Process `p` closed a descriptor of this description (any close, not only the last: Linux's
   * f_op->flush). A message queue drops `p`'s mq_notify registration here.
   */
  flush(_p: Process): void {}
  /** The last reference went away. */
  release(): void | Promise<void> {}
  /** The VFS file when this is one (fchdir, fstatat with dirfd, mmap of files). */
  get vfsFile(): OpenFile | null {
    return null;
  }
}

/** Stat for kernel objects (pipes, sockets, anon inodes). */
export function anonStat(mode: number, ino: number, uid = 0, gid = 0): Stat {
  const t = { sec: 0, nsec: 0 };
  return {
    ino,
    mode,
    nlink: 1,
    uid,
    gid,
    rdev: 0,
    size: 0,
    blocks: 0,
    atime: t,
    mtime: t,
    ctime: t,
    dev: 0x0c,
    blksize: 4096,
    mask: 0x7ff,
    mntId: 0,
  };
}

export interface FdEntry {
  file: KFile;
  cloexec: boolean;
}

export class FdTable {
  private fds: (FdEntry | undefined)[] = [];
  /** Tasks sharing this table (CLONE_FILES). */
  users = 1;

  constructor(public limit: number) {}

  get(fd: number): KFile {
    const e = fd >= 0 ? this.fds[fd] : undefined;
    if (e === undefined) throw new KernelError(Errno.EBADF);
    return e.file;
  }
  /** Like get, but an O_PATH descriptor is EBADF too (Linux's fdget() for calls that do I/O). */
  getOpen(fd: number): KFile {
    const f = this.get(fd);
    if (f.flags & O_PATH) throw new KernelError(Errno.EBADF);
    return f;
  }
  entry(fd: number): FdEntry | undefined {
    return fd >= 0 ? this.fds[fd] : undefined;
  }

  /** Lowest free fd >= min. EMFILE beyond the limit. */
  alloc(file: KFile, cloexec: boolean, min = 0): number {
    for (let fd = min; ; fd++) {
      if (fd >= this.limit) throw new KernelError(Errno.EMFILE);
      if (this.fds[fd] === undefined) {
        this.fds[fd] = { file, cloexec };
        return fd;
      }
    }
  }

  /** Installs at a given number (dup2/dup3); returns the file that was there, if any. */
  install(fd: number, file: KFile, cloexec: boolean): KFile | undefined {
    if (fd < 0 || fd >= this.limit) throw new KernelError(Errno.EBADF);
    const old = this.fds[fd];
    this.fds[fd] = { file, cloexec };
    return old?.file;
  }

  /** Removes an fd and returns its file (the caller drops the reference). */
  remove(fd: number): KFile {
    const e = fd >= 0 ? this.fds[fd] : undefined;
    if (e === undefined) throw new KernelError(Errno.EBADF);
    this.fds[fd] = undefined;
    return e.file;
  }

  /** fds in ascending order. */
  list(): number[] {
    const out: number[] = [];
    this.fds.forEach((e, i) => {
      if (e) out.push(i);
    });
    return out;
  }
  get count(): number {
    let n = 0;
    for (const e of this.fds) if (e) n++;
    return n;
  }

  /** A copy for fork (every file gains a reference). */
  clone(): FdTable {
    const t = new FdTable(this.limit);
    t.fds = this.fds.map((e) => {
      if (!e) return undefined;
      e.file.refs++;
      return { file: e.file, cloexec: e.cloexec };
    });
    return t;
  }

  /** execve: closes CLOEXEC fds, returning their files. */
  takeCloexec(): KFile[] {
    const out: KFile[] = [];
    this.fds.forEach((e, i) => {
      if (e?.cloexec) {
        out.push(e.file);
        this.fds[i] = undefined;
      }
    });
    return out;
  }

  /** Every file (exit): the table is empty afterwards. */
  takeAll(): KFile[] {
    const out: KFile[] = [];
    for (const e of this.fds) if (e) out.push(e.file);
    this.fds = [];
    return out;
  }
}

/** Drops one reference; releases the description when it was the last. */
export function putFile(f: KFile): void | Promise<void> {
  if (--f.refs === 0) {
    f.lockRelease?.();
    return f.release();
  }
}
