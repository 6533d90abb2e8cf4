/** stat family, directories, links, permissions, times, truncate, statfs, sync, cwd. */
import {
  AT_EMPTY_PATH,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_INSERT_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_OPERATIONS,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_UNSHARE_RANGE,
  FALLOC_FL_WRITE_ZEROES,
  FALLOC_FL_ZERO_RANGE,
  major,
  minor,
  ObjectLinkReached,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  type Stat,
  type StatFs,
  type Timespec,
} from '@lichen/vfs';
import { Errno } from '../errno';
import { cachedPagesOf } from '../mm/shared';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, readPath, setU64, type UserAddr } from '../uaccess';
import { KFile } from './file';
import { atRef, dirfdRef } from './paths';
import { fileSizeLimit, fileTooLarge } from './read_write';

/**
 * The errno of a mode Linux refuses before looking at the file (vfs_fallocate, 6.17+), or 0:
 * KEEP_SIZE plus at most one operation; PUNCH_HOLE needs KEEP_SIZE, COLLAPSE_RANGE,
 * INSERT_RANGE and WRITE_ZEROES refuse it.
 */
export function fallocateModeError(mode: number): number {
  if (mode & ~(FALLOC_FL_OPERATIONS | FALLOC_FL_KEEP_SIZE)) return Errno.EOPNOTSUPP;
  const keep = (mode & FALLOC_FL_KEEP_SIZE) !== 0;
  switch (mode & FALLOC_FL_OPERATIONS) {
    case 0:
    case FALLOC_FL_UNSHARE_RANGE:
    case FALLOC_FL_ZERO_RANGE:
      return 0;
    case FALLOC_FL_PUNCH_HOLE:
      return keep ? 0 : Errno.EOPNOTSUPP;
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
    case FALLOC_FL_WRITE_ZEROES:
      return keep ? Errno.EOPNOTSUPP : 0;
    default:
      return Errno.EOPNOTSUPP;
  }
}

async function fallocate(k: Kernel, t: Task, fd: number, mode: number, off: number, len: number): Promise<number> {
  const file = t.files.get(fd);
  if (off < 0 || len <= 0) return -Errno.EINVAL;
  const bad = fallocateModeError(mode);
  if (bad) return -bad;
  if (!file.writable) return -Errno.EBADF;
  const f = file.vfsFile;
  if (!f) return (file.stat().mode & S_IFMT) === S_IFIFO ? -Errno.ESPIPE : -Errno.ENODEV;
  const end = off + len;
  if (!Number.isSafeInteger(end)) return -Errno.EFBIG;
  const punch = (mode & FALLOC_FL_PUNCH_HOLE) !== 0;
  // Allocating past the end meets RLIMIT_FSIZE even with KEEP_SIZE (as in Linux's tmpfs).
  const st = f.stat();
  if (!punch && end > st.size && end > fileSizeLimit(k, t) && (st.mode & S_IFMT) === S_IFREG) fileTooLarge(k, t);
  // A write-back still under way (the last mapping went) lands before a hole is punched, not over it.
  if (punch && !f.ops) await cachedPagesOf(k.memory, f.node)?.settled();
  await k.hostIo(f.allocate(mode, off, len));
  // Mappings of the file read the punched range as zero too.
  if (punch && !f.ops) cachedPagesOf(k.memory, f.node)?.punch(off, len);
  return 0;
}

/** Integer fields of Stat that struct stat and struct statx both carry. */
type StatInt = 'dev' | 'ino' | 'mode' | 'nlink' | 'uid' | 'gid' | 'rdev' | 'size' | 'blksize' | 'blocks';

/** Where a struct keeps each shared Stat field: integers as [field, offset, bytes], times as [field, offset]. */
interface StatLayout {
  bytes: number;
  ints: ReadonlyArray<readonly [StatInt, number, 2 | 4 | 8]>;
  times: ReadonlyArray<readonly ['atime' | 'mtime' | 'ctime' | 'btime', number]>;
  /** tv_nsec width: 8 in struct stat's timespec, 4 in struct statx_timestamp. */
  nsecBytes: 4 | 8;
}

/** aarch64 struct stat (asm-generic, 128 bytes). */
const STAT_LAYOUT: StatLayout = {
  bytes: 128,
  ints: [
    ['dev', 0, 8],
    ['ino', 8, 8],
    ['mode', 16, 4],
    ['nlink', 20, 4],
    ['uid', 24, 4],
    ['gid', 28, 4],
    ['rdev', 32, 8],
    ['size', 48, 8],
    ['blksize', 56, 4],
    ['blocks', 64, 8],
  ],
  times: [
    ['atime', 72],
    ['mtime', 88],
    ['ctime', 104],
  ],
  nsecBytes: 8,
};

/** struct statx (256 bytes); dev/rdev are split into major/minor by encodeStatx. */
const STATX_LAYOUT: StatLayout = {
  bytes: 256,
  ints: [
    ['blksize', 4, 4],
    ['nlink', 16, 4],
    ['uid', 20, 4],
    ['gid', 24, 4],
    ['mode', 28, 2],
    ['ino', 32, 8],
    ['size', 40, 8],
    ['blocks', 48, 8],
  ],
  times: [
    ['atime', 64],
    ['btime', 80],
    ['ctime', 96],
    ['mtime', 112],
  ],
  nsecBytes: 4,
};

/** Copies the fields both structs share into a new buffer laid out as `layout` says. */
function encodeStatFields(st: Stat, layout: StatLayout): { b: Uint8Array; v: DataView } {
  const b = new Uint8Array(layout.bytes);
  const v = new DataView(b.buffer);
  for (const [field, off, bytes] of layout.ints) {
    const x = st[field];
    if (bytes === 8) setU64(v, off, x);
    else if (bytes === 4) v.setUint32(off, x >>> 0, true);
    else v.setUint16(off, x & 0xffff, true);
  }
  for (const [field, off] of layout.times) {
    const ts = st[field];
    if (!ts) continue;
    setU64(v, off, ts.sec);
    if (layout.nsecBytes === 8) setU64(v, off + 8, ts.nsec);
    else v.setUint32(off + 8, ts.nsec, true);
  }
  return { b, v };
}

export function encodeStat(st: Stat): Uint8Array {
  return encodeStatFields(st, STAT_LAYOUT).b;
}

function encodeStatx(st: Stat, mask: number): Uint8Array {
  const { b, v } = encodeStatFields(st, STATX_LAYOUT);
  v.setUint32(0, st.mask & (mask | 0x7ff), true);
  setU64(v, 8, st.attributes ?? 0);
  setU64(v, 56, 0x30 | 0x2000); // attributes_mask: APPEND|IMMUTABLE|MOUNT_ROOT known
  v.setUint32(128, major(st.rdev), true);
  v.setUint32(132, minor(st.rdev), true);
  v.setUint32(136, major(st.dev), true);
  v.setUint32(140, minor(st.dev), true);
  setU64(v, 144, st.mntId);
  return b;
}

export function encodeStatfs(s: StatFs): Uint8Array {
  const b = new Uint8Array(120);
  const v = new DataView(b.buffer);
  setU64(v, 0, s.type);
  setU64(v, 8, s.bsize);
  setU64(v, 16, s.blocks);
  setU64(v, 24, s.bfree);
  setU64(v, 32, s.bavail);
  setU64(v, 40, s.files);
  setU64(v, 48, s.ffree);
  v.setInt32(56, s.fsid[0], true);
  v.setInt32(60, s.fsid[1], true);
  setU64(v, 64, s.namelen);
  setU64(v, 72, s.frsize);
  setU64(v, 80, s.flags);
  return b;
}

async function statAt(k: Kernel, t: Task, dirfd: number, path: string, flags: number): Promise<Stat> {
  if (path === '' && flags & AT_EMPTY_PATH) {
    if (dirfd === -100) return k.vfs.stat(t.process.fs.ctx, undefined, '.', 0);
    return t.files.get(dirfd).stat();
  }
  const at = atRef(t, dirfd, path, false);
  try {
    return await k.hostIo(k.vfs.stat(t.process.fs.ctx, at, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)));
  } catch (e) {
    // /proc/PID/fd/N of a pipe, socket or console: that object's stat (`[ -p /dev/stdin ]`).
    if (e instanceof ObjectLinkReached && e.target.object instanceof KFile) return e.target.object.stat();
    throw e;
  }
}

function readTimes(t: Task, ptr: UserAddr): [Timespec, Timespec] | undefined {
  if (ptr === 0) return undefined;
  const b = copyIn(t.mm.as, ptr, 32);
  const v = new DataView(b.buffer);
  const one = (o: number): Timespec => ({
    sec: Number(v.getBigInt64(o, true)),
    nsec: Number(v.getBigInt64(o + 8, true)),
  });
  const a = one(0);
  const m = one(16);
  for (const x of [a, m]) {
    if (x.nsec !== (1 << 30) - 1 && x.nsec !== (1 << 30) - 2 && (x.nsec < 0 || x.nsec >= 1e9))
      throw Object.assign(new Error('EINVAL'), { errno: Errno.EINVAL });
  }
  return [a, m];
}

async function getcwd(k: Kernel, t: Task, buf: UserAddr, size: number): Promise<number> {
  const ctx = t.process.fs.ctx;
  const p = k.vfs.pathOf(ctx.cwd, ctx.root);
  const bytes = Buffer.from(p + '\0', 'latin1');
  if (bytes.length > size) return -Errno.ERANGE;
  copyOut(t.mm.as, buf, bytes);
  return bytes.length;
}

export const statSyscalls: SyscallDefs = {
  newfstatat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const buf = a.p(2);
      const flags = a.i(3);
      const st = await statAt(k, t, dirfd, path, flags);
      copyOut(t.mm.as, buf, encodeStat(st));
      return 0;
    },
  },
  fstat: {
    handler: (_k, t, a) => {
      const st = t.files.get(a.i(0)).stat();
      copyOut(t.mm.as, a.p(1), encodeStat(st));
      return 0;
    },
  },
  statx: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const flags = a.i(2);
      const mask = a.u(3);
      const buf = a.p(4);
      if (mask & 0x80000000) return -Errno.EINVAL;
      const st = await statAt(k, t, dirfd, path, flags);
      copyOut(t.mm.as, buf, encodeStatx(st, mask));
      return 0;
    },
  },
  readlinkat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const buf = a.p(2);
      const size = a.i(3);
      if (size <= 0) return -Errno.EINVAL;
      const target = await k.hostIo(k.vfs.readlink(t.process.fs.ctx, atRef(t, dirfd, path, true), path));
      const bytes = Buffer.from(target, 'latin1').subarray(0, size);
      copyOut(t.mm.as, buf, bytes);
      return bytes.length;
    },
  },
  getdents64: {
    handler: async (_k, t, a) => {
      const f = t.files.get(a.i(0));
      const buf = a.p(1);
      const size = Math.min(a.x(2), 1 << 20);
      const data = await f.getdents(size);
      copyOut(t.mm.as, buf, data);
      return data.length;
    },
  },
  getcwd: { handler: (k, t, a) => getcwd(k, t, a.p(0), a.x(1)) },
  chdir: {
    handler: async (k, t, a) => {
      const path = readPath(t.mm.as, a.p(0));
      const ctx = t.process.fs.ctx;
      ctx.cwd = await k.hostIo(k.vfs.chdirTarget(ctx, undefined, path));
      return 0;
    },
  },
  fchdir: {
    handler: async (k, t, a) => {
      const ref = dirfdRef(t, a.i(0));
      const ctx = t.process.fs.ctx;
      ctx.cwd = await k.vfs.chdirTarget(ctx, ref, '');
      return 0;
    },
  },
  chroot: {
    handler: async (k, t, a) => {
      const path = readPath(t.mm.as, a.p(0));
      const ctx = t.process.fs.ctx;
      if (t.process.creds.euid !== 0) return -Errno.EPERM;
      ctx.root = await k.hostIo(k.vfs.chdirTarget(ctx, undefined, path));
      return 0;
    },
  },
  mkdirat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      await k.hostIo(k.vfs.mkdir(t.process.fs.ctx, atRef(t, dirfd, path, false), path, a.i(2)));
      return 0;
    },
  },
  mknodat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const mode = a.u(2);
      const dev = a.u(3);
      await k.hostIo(k.vfs.mknod(t.process.fs.ctx, atRef(t, dirfd, path, false), path, mode, dev));
      return 0;
    },
  },
  unlinkat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const flags = a.i(2);
      if (flags & ~AT_REMOVEDIR) return -Errno.EINVAL;
      await k.hostIo(k.vfs.unlink(t.process.fs.ctx, atRef(t, dirfd, path, false), path, flags));
      return 0;
    },
  },
  renameat: {
    handler: async (k, t, a) => {
      const ofd = a.i(0);
      const op = readPath(t.mm.as, a.p(1));
      const nfd = a.i(2);
      const np = readPath(t.mm.as, a.p(3));
      await k.hostIo(k.vfs.rename(t.process.fs.ctx, atRef(t, ofd, op, false), op, atRef(t, nfd, np, false), np, 0));
      return 0;
    },
  },
  renameat2: {
    handler: async (k, t, a) => {
      const ofd = a.i(0);
      const op = readPath(t.mm.as, a.p(1));
      const nfd = a.i(2);
      const np = readPath(t.mm.as, a.p(3));
      const flags = a.u(4);
      await k.hostIo(k.vfs.rename(t.process.fs.ctx, atRef(t, ofd, op, false), op, atRef(t, nfd, np, false), np, flags));
      return 0;
    },
  },
  symlinkat: {
    handler: async (k, t, a) => {
      const target = readPath(t.mm.as, a.p(0));
      const dirfd = a.i(1);
      const path = readPath(t.mm.as, a.p(2));
      await k.hostIo(k.vfs.symlink(t.process.fs.ctx, target, atRef(t, dirfd, path, false), path));
      return 0;
    },
  },
  linkat: {
    handler: async (k, t, a) => {
      const ofd = a.i(0);
      const op = readPath(t.mm.as, a.p(1));
      const nfd = a.i(2);
      const np = readPath(t.mm.as, a.p(3));
      const flags = a.i(4);
      await k.hostIo(
        k.vfs.link(
          t.process.fs.ctx,
          atRef(t, ofd, op, (flags & AT_EMPTY_PATH) !== 0),
          op,
          atRef(t, nfd, np, false),
          np,
          flags,
        ),
      );
      return 0;
    },
  },
  fchmod: {
    handler: async (k, t, a) => {
      const f = t.files.get(a.i(0)).vfsFile;
      if (!f) return -Errno.EINVAL;
      await k.hostIo(k.vfs.chmodRef(t.process.fs.ctx, f.path, a.u(1)));
      return 0;
    },
  },
  fchmodat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      await k.hostIo(k.vfs.chmod(t.process.fs.ctx, atRef(t, dirfd, path, false), path, a.u(2), 0));
      return 0;
    },
  },
  fchmodat2: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const mode = a.u(2);
      const flags = a.i(3);
      await k.hostIo(
        k.vfs.chmod(t.process.fs.ctx, atRef(t, dirfd, path, (flags & AT_EMPTY_PATH) !== 0), path, mode, flags),
      );
      return 0;
    },
  },
  fchown: {
    handler: async (k, t, a) => {
      const f = t.files.get(a.i(0)).vfsFile;
      if (!f) return -Errno.EINVAL;
      await k.hostIo(k.vfs.chownRef(t.process.fs.ctx, f.path, a.i(1), a.i(2)));
      return 0;
    },
  },
  fchownat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const uid = a.i(2);
      const gid = a.i(3);
      const flags = a.i(4);
      await k.hostIo(
        k.vfs.chown(t.process.fs.ctx, atRef(t, dirfd, path, (flags & AT_EMPTY_PATH) !== 0), path, uid, gid, flags),
      );
      return 0;
    },
  },
  utimensat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const pathPtr = a.p(1);
      const times = readTimes(t, a.p(2));
      const flags = a.i(3);
      if (pathPtr === 0) {
        const f = t.files.get(dirfd).vfsFile;
        if (!f) return -Errno.EBADF;
        await k.hostIo(k.vfs.utimensRef(t.process.fs.ctx, f.path, times));
        return 0;
      }
      const path = readPath(t.mm.as, pathPtr);
      await k.hostIo(
        k.vfs.utimens(t.process.fs.ctx, atRef(t, dirfd, path, (flags & AT_EMPTY_PATH) !== 0), path, times, flags),
      );
      return 0;
    },
  },
  faccessat: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      await k.hostIo(k.vfs.access(t.process.fs.ctx, atRef(t, dirfd, path, false), path, a.i(2), 0));
      return 0;
    },
  },
  faccessat2: {
    handler: async (k, t, a) => {
      const dirfd = a.i(0);
      const path = readPath(t.mm.as, a.p(1));
      const mode = a.i(2);
      const flags = a.i(3);
      await k.hostIo(
        k.vfs.access(t.process.fs.ctx, atRef(t, dirfd, path, (flags & AT_EMPTY_PATH) !== 0), path, mode, flags),
      );
      return 0;
    },
  },
  truncate: {
    handler: async (k, t, a) => {
      const path = readPath(t.mm.as, a.p(0));
      const len = a.l(1);
      if (len < 0) return -Errno.EINVAL;
      const node = (await k.hostIo(k.vfs.resolve(t.process.fs.ctx, undefined, path))).dentry.node;
      const before = node?.attr().size ?? 0;
      await k.hostIo(k.vfs.truncate(t.process.fs.ctx, undefined, path, len));
      if (node) cachedPagesOf(k.memory, node)?.truncate(before, len);
      return 0;
    },
  },
  ftruncate: {
    handler: async (k, t, a) => {
      const f = t.files.get(a.i(0)).vfsFile;
      const len = a.l(1);
      if (!f) return -Errno.EINVAL;
      if (len < 0) return -Errno.EINVAL;
      const before = f.stat().size;
      await k.hostIo(f.truncate(len));
      if (!f.ops) cachedPagesOf(k.memory, f.node)?.truncate(before, len);
      return 0;
    },
  },
  fallocate: {
    handler: (k, t, a) => fallocate(k, t, a.i(0), a.i(1), a.l(2), a.l(3)),
    status: 'partial',
    note: 'tmpfs and the overlay: modes 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE (as Linux tmpfs: other modes EOPNOTSUPP); --mount host directories: 0 and KEEP_SIZE',
  },
  statfs: {
    handler: async (k, t, a) => {
      const path = readPath(t.mm.as, a.p(0));
      const s = await k.hostIo(k.vfs.statfs(t.process.fs.ctx, undefined, path));
      copyOut(t.mm.as, a.p(1), encodeStatfs(s));
      return 0;
    },
  },
  fstatfs: {
    handler: async (k, t, a) => {
      const f = t.files.get(a.i(0)).vfsFile;
      const buf = a.p(1);
      if (!f) return -Errno.ENOSYS;
      const s = await k.hostIo(k.vfs.statfsOf(f.path));
      copyOut(t.mm.as, buf, encodeStatfs(s));
      return 0;
    },
  },
  fsync: {
    handler: async (k, t, a) => {
      const f = t.files.get(a.i(0)).vfsFile;
      if (f) await k.hostIo(f.fsync());
      return 0;
    },
  },
  fdatasync: {
    handler: async (k, t, a) => {
      const f = t.files.get(a.i(0)).vfsFile;
      if (f) await k.hostIo(f.fsync());
      return 0;
    },
  },
  sync: { handler: () => 0 },
  syncfs: { handler: (_k, t, a) => (t.files.get(a.i(0)), 0) },
  sync_file_range: { handler: (_k, t, a) => (t.files.get(a.i(0)), 0) },
};
