/** openat, close, close_range, dup, dup3, fcntl, pipe2, ioctl, flock. */
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, readPath, type UserAddr } from '../uaccess';
import { ObjectLinkReached, type OpenFile } from '@lichen/vfs';
import { KFile, O_APPEND, O_CLOEXEC, O_NONBLOCK, O_PATH, O_TRUNC } from './file';
import { cachedPagesOf } from '../mm/shared';
import { FIOCLEX, FIONBIO, FIONCLEX } from './termios';
import { makePipe, openFifo } from './pipe';
import { DeviceOpen } from './pty';
import { dirfdRef } from './paths';
import { VfsFile } from './vfs-file';
import {
  F_RDLCK,
  F_UNLCK,
  F_WRLCK,
  OFFSET_MAX,
  flockFile,
  holdOnDescription,
  releasePosixLocks,
  resolveRange,
  setLock,
  testLock,
} from './locks';

const F_DUPFD = 0;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_GETLK = 5;
const F_SETLK = 6;
const F_SETLKW = 7;
const F_SETOWN = 8;
const F_GETOWN = 9;
const F_SETSIG = 10;
const F_GETSIG = 11;
const F_OFD_GETLK = 36;
const F_OFD_SETLK = 37;
const F_OFD_SETLKW = 38;
const F_DUPFD_CLOEXEC = 1030;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
const FD_CLOEXEC = 1;

async function openat(
  k: Kernel,
  t: Task,
  dirfd: number,
  pathPtr: UserAddr,
  flags: number,
  mode: number,
): Promise<number> {
  const path = readPath(t.mm.as, pathPtr);
  const at = path.startsWith('/') ? undefined : dirfdRef(t, dirfd);
  if (t.files.count >= t.files.limit) return -Errno.EMFILE;
  let of: OpenFile;
  try {
    of = await k.hostIo(k.vfs.open(t.process.fs.ctx, at, path, flags & ~O_CLOEXEC, mode));
  } catch (e) {
    // /proc/PID/fd/N of a pipe or the console: a new description of that object.
    if (!(e instanceof ObjectLinkReached) || !(e.target.object instanceof KFile) || flags & O_PATH) throw e;
    const f = await e.target.object.reopen(t, flags & ~O_CLOEXEC);
    return k.allocFd(t, f, (flags & O_CLOEXEC) !== 0);
  }
  if ((of.flags & O_PATH) === 0 && (of.stat().mode & 0o170000) === 0o010000) {
    // a named pipe: the kernel's pipe replaces the VFS description
    const name = k.vfs.pathOf(of.path, t.process.fs.ctx.root);
    const node = of.node;
    await of.release();
    const end = await openFifo(k, t, node, flags & ~O_CLOEXEC, name);
    return k.allocFd(t, end, (flags & O_CLOEXEC) !== 0);
  }
  if (of.private_ instanceof DeviceOpen) {
    // a device the kernel implements (pseudo-terminals, /dev/tty of one)
    const kf = of.private_.open(t, flags & ~O_CLOEXEC);
    if (kf) {
      await of.release();
      return k.allocFd(t, kf, (flags & O_CLOEXEC) !== 0);
    }
  }
  const f = new VfsFile(k, of);
  // O_TRUNC emptied a file that may be mapped shared: its cached pages go (mappings then SIGBUS)
  if (flags & O_TRUNC && !of.ops && of.stat().size === 0) cachedPagesOf(k.memory, of.node)?.truncate(0, 0);
  return k.allocFd(t, f, (flags & O_CLOEXEC) !== 0);
}

export function closeFd(k: Kernel, t: Task, fd: number): number {
  const f = t.files.remove(fd);
  releasePosixLocks(k, t.process, f);
  f.flush(t.process);
  k.closeFile(f);
  return 0;
}

function dup3(k: Kernel, t: Task, oldfd: number, newfd: number, flags: number): number {
  if (flags & ~O_CLOEXEC) return -Errno.EINVAL;
  if (oldfd === newfd) return -Errno.EINVAL;
  const f = t.files.get(oldfd);
  if (newfd < 0 || newfd >= t.files.limit) return -Errno.EBADF;
  f.refs++;
  const old = t.files.install(newfd, f, (flags & O_CLOEXEC) !== 0);
  if (old) {
    releasePosixLocks(k, t.process, old);
    old.flush(t.process);
    k.closeFile(old);
  }
  return newfd;
}

/** struct flock on aarch64: l_type(2) l_whence(2) pad(4) l_start(8) l_len(8) l_pid(4) pad(4). */
async function fcntlLock(k: Kernel, t: Task, f: KFile, cmd: number, arg: UserAddr): Promise<number> {
  if (f.flags & O_PATH) return -Errno.EBADF;
  const b = copyIn(t.mm.as, arg, 32);
  const v = new DataView(b.buffer);
  const type = v.getInt16(0, true);
  if (type !== F_RDLCK && type !== F_WRLCK && type !== F_UNLCK) return -Errno.EINVAL;
  const ofd = cmd === F_OFD_GETLK || cmd === F_OFD_SETLK || cmd === F_OFD_SETLKW;
  // OFD requests must carry l_pid 0
  if (ofd && v.getInt32(24, true) !== 0) return -Errno.EINVAL;
  const vf = f.vfsFile;
  const r = resolveRange(
    type,
    v.getInt16(2, true),
    v.getBigInt64(8, true),
    v.getBigInt64(16, true),
    vf ? vf.pos : 0,
    vf ? f.stat().size : 0,
  );
  if (typeof r === 'number') return -r;
  const owner = ofd ? f : t.process;
  if (cmd === F_GETLK || cmd === F_OFD_GETLK) {
    if (type === F_UNLCK) return -Errno.EINVAL;
    const c = testLock(k, f, owner, r);
    if (c) {
      v.setInt16(0, c.type, true);
      v.setInt16(2, 0 /* SEEK_SET */, true);
      v.setBigInt64(8, c.start, true);
      v.setBigInt64(16, c.end === OFFSET_MAX ? 0n : c.end - c.start + 1n, true);
      v.setInt32(24, c.pid, true);
    } else v.setInt16(0, F_UNLCK, true);
    copyOut(t.mm.as, arg, b);
    return 0;
  }
  if ((type === F_RDLCK && !f.readable) || (type === F_WRLCK && !f.writable)) return -Errno.EBADF;
  if (ofd) holdOnDescription(k, f);
  const wait = cmd === F_SETLKW || cmd === F_OFD_SETLKW;
  return setLock(k, t, f, owner, ofd ? -1 : t.process.pid, r, wait);
}

function fcntl(k: Kernel, t: Task, fd: number, cmd: number, arg: number, argPtr: UserAddr): number | Promise<number> {
  const f = t.files.get(fd);
  const e = t.files.entry(fd);
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (arg < 0 || arg >= t.files.limit) return -Errno.EINVAL;
      f.refs++;
      return k.allocFd(t, f, cmd === F_DUPFD_CLOEXEC, arg);
    case F_GETFD:
      return e?.cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
      if (e) e.cloexec = (arg & FD_CLOEXEC) !== 0;
      return 0;
    case F_GETFL:
      return f.flags & ~O_CLOEXEC;
    case F_SETFL: {
      if (f.flags & O_PATH) return -Errno.EBADF;
      const settable =
        O_APPEND | O_NONBLOCK | 0o20000 /* O_ASYNC */ | 0o40000 /* O_DIRECT */ | 0o1000000; /* O_NOATIME */
      f.flags = (f.flags & ~settable) | (arg & settable);
      f.pollWq.wakeAll();
      return 0;
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return fcntlLock(k, t, f, cmd, argPtr);
    case F_GETOWN:
      return 0;
    case F_SETOWN:
    case F_SETSIG:
      return 0;
    case F_GETSIG:
      return 0;
    case F_GETPIPE_SZ:
      return 'pipe' in f ? 65536 : -Errno.EBADF;
    case F_SETPIPE_SZ:
      return 'pipe' in f ? Math.max(arg, 65536) : -Errno.EBADF;
    case F_ADD_SEALS:
    case F_GET_SEALS:
      return -Errno.EINVAL;
    default:
      return -Errno.EINVAL;
  }
}

function ioctl(_k: Kernel, t: Task, fd: number, cmd: number, arg: number): number | Promise<number> {
  const f: KFile = t.files.get(fd);
  switch (cmd) {
    case FIOCLEX:
    case FIONCLEX: {
      const e = t.files.entry(fd);
      if (e) e.cloexec = cmd === FIOCLEX;
      return 0;
    }
    case FIONBIO: {
      if (!('console' in f)) {
        const b = copyIn(t.mm.as, arg as UserAddr, 4);
        const on = new DataView(b.buffer).getInt32(0, true) !== 0;
        f.flags = on ? f.flags | O_NONBLOCK : f.flags & ~O_NONBLOCK;
        return 0;
      }
    }
  }
  return f.ioctl(t, cmd >>> 0, arg);
}

export const openSyscalls: SyscallDefs = {
  openat: {
    handler: (k, t, a) => openat(k, t, a.i(0), a.p(1), a.i(2), a.i(3)),
    status: 'partial',
    note: 'O_TMPFILE on tmpfs and the root overlay; --mount host directories give EOPNOTSUPP',
  },
  close: { handler: (k, t, a) => closeFd(k, t, a.i(0)) },
  close_range: {
    handler: (k, t, a) => {
      const first = a.u(0);
      const last = a.u(1);
      const flags = a.u(2);
      if (first > last) return -Errno.EINVAL;
      for (const fd of t.files.list()) {
        if (fd < first || fd > last) continue;
        if (flags & 4 /* CLOSE_RANGE_CLOEXEC */) {
          const e = t.files.entry(fd);
          if (e) e.cloexec = true;
        } else closeFd(k, t, fd);
      }
      return 0;
    },
  },
  dup: {
    handler: (k, t, a) => {
      const f = t.files.get(a.i(0));
      f.refs++;
      return k.allocFd(t, f, false);
    },
  },
  dup3: { handler: (k, t, a) => dup3(k, t, a.i(0), a.i(1), a.i(2)) },
  fcntl: {
    handler: (k, t, a) => fcntl(k, t, a.i(0), a.i(1), a.i(2), a.p(2)),
    status: 'partial',
    note: 'record locks (F_GETLK/F_SETLK/F_SETLKW, F_OFD_*) conflict between processes of the VM; F_SETOWN/F_SETSIG accepted without SIGIO; no seals',
  },
  pipe2: {
    handler: (k, t, a) => {
      const ptr = a.p(0);
      const flags = a.i(1);
      if (flags & ~(O_CLOEXEC | O_NONBLOCK | 0o40000)) return -Errno.EINVAL;
      const [r, w] = makePipe(k, flags & O_NONBLOCK);
      const cloexec = (flags & O_CLOEXEC) !== 0;
      const rfd = k.allocFd(t, r, cloexec);
      let wfd: number;
      try {
        wfd = k.allocFd(t, w, cloexec);
      } catch (e) {
        closeFd(k, t, rfd);
        throw e;
      }
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setInt32(0, rfd, true);
      v.setInt32(4, wfd, true);
      try {
        copyOut(t.mm.as, ptr, b);
      } catch (e) {
        closeFd(k, t, rfd);
        closeFd(k, t, wfd);
        throw e;
      }
      return 0;
    },
  },
  ioctl: {
    handler: (k, t, a) => ioctl(k, t, a.i(0), a.i(1), a.x(2)),
    status: 'partial',
    note: 'terminal ioctls on the console and pseudo-terminals (TCGETS/TCSETS*, TIOC[GS]WINSZ, TIOC[GS]PGRP, TIOCGSID, TIOCSCTTY, FIONREAD, FIONBIO, FIOCLEX; ptmx: TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER); no TIOCPKT, TIOCSTI, TIOCCONS; ENOTTY elsewhere',
  },
  flock: {
    handler: (k, t, a) => {
      const f = t.files.get(a.i(0));
      if (f.flags & O_PATH) return -Errno.EBADF;
      return flockFile(k, t, f, a.i(1));
    },
  },
};
