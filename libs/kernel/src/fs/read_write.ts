/** read, write, readv, writev, pread64, pwrite64, preadv(2), pwritev(2), lseek, sendfile. */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import { RLIMIT_FSIZE, type Task } from '../task';
import { copyIn, copyOut, readIovecs, readI64, writeU64, type IoVec, type UserAddr } from '../uaccess';
import { sendSignalToTask } from '../signal/deliver';
import { SIGXFSZ, SI_USER } from '../signal/signals';
import type { KFile } from './file';
import { MAX_IO } from './vfs-file';

/** Linux's MAX_RW_COUNT: the most one read/write/splice moves (INT_MAX rounded down to a page). */
export const MAX_RW = 0x7ffff000;

function then<T, R>(v: T | Promise<T>, f: (x: T) => R): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** The largest size `t` may give a regular file: RLIMIT_FSIZE or the VM's file-size quota (MAX_SAFE_INTEGER: none). */
export function fileSizeLimit(k: Kernel, t: Task): number {
  return Math.min(t.process.rlimits[RLIMIT_FSIZE].cur, k.config.limits?.fileSizeBytes ?? Number.MAX_SAFE_INTEGER);
}

/** A file would grow past fileSizeLimit: SIGXFSZ to the task, and EFBIG. */
export function fileTooLarge(k: Kernel, t: Task): never {
  sendSignalToTask(k, t, { signo: SIGXFSZ, code: SI_USER });
  throw new KernelError(Errno.EFBIG);
}

/**
 * RLIMIT_FSIZE (and the VM's file-size quota) for a write of `len` bytes at `pos` (null: the
 * file position, or the end with O_APPEND) to a regular file: the length that fits, or SIGXFSZ
 * and EFBIG when the write would start at or beyond the limit.
 */
export function checkFsize(k: Kernel, t: Task, f: KFile, pos: number | null, len: number): number {
  const lim = fileSizeLimit(k, t);
  if (lim >= Number.MAX_SAFE_INTEGER || !f.vfsFile) return len;
  const vf = f.vfsFile;
  const st = vf.stat();
  if ((st.mode & 0o170000) !== 0o100000) return len;
  const at = pos ?? (f.flags & 0o2000 ? st.size : vf.pos);
  if (at >= lim) fileTooLarge(k, t);
  return Math.min(len, lim - at);
}

function doRead(
  _k: Kernel,
  t: Task,
  fd: number,
  buf: UserAddr,
  len: number,
  pos: number | null,
): number | Promise<number> {
  const f = t.files.get(fd);
  if (!f.readable) return -Errno.EBADF;
  if (len > MAX_RW) len = MAX_RW;
  if (len === 0) return 0;
  const r = pos === null ? f.read(t, len) : f.pread(t, len, pos);
  return then(r, (data) => {
    copyOut(t.mm.as, buf, data);
    return data.length;
  });
}

function doWrite(
  k: Kernel,
  t: Task,
  fd: number,
  buf: UserAddr,
  len: number,
  pos: number | null,
): number | Promise<number> {
  const f = t.files.get(fd);
  if (!f.writable) return -Errno.EBADF;
  if (len > MAX_RW) len = MAX_RW;
  len = checkFsize(k, t, f, pos, Math.min(len, MAX_IO));
  const data = copyIn(t.mm.as, buf, len);
  return pos === null ? f.write(t, data) : f.pwrite(t, data, pos);
}

async function readv(_k: Kernel, t: Task, fd: number, iov: IoVec[], pos: number | null): Promise<number> {
  const f = t.files.get(fd);
  if (!f.readable) return -Errno.EBADF;
  let total = 0;
  for (const v of iov) {
    if (v.len === 0) continue;
    const data = await (pos === null ? f.read(t, v.len) : f.pread(t, v.len, pos + total));
    copyOut(t.mm.as, v.base, data);
    total += data.length;
    if (data.length < v.len) break;
  }
  return total;
}

async function writev(k: Kernel, t: Task, fd: number, iov: IoVec[], pos: number | null): Promise<number> {
  const f = t.files.get(fd);
  if (!f.writable) return -Errno.EBADF;
  // gather into one buffer so pipes and consoles see one write (atomicity, one output chunk)
  let len = 0;
  for (const v of iov) len += v.len;
  len = checkFsize(k, t, f, pos, Math.min(len, MAX_IO));
  const data = new Uint8Array(len);
  let o = 0;
  for (const v of iov) {
    if (o >= len) break;
    const n = Math.min(v.len, len - o);
    data.set(copyIn(t.mm.as, v.base, n), o);
    o += n;
  }
  return pos === null ? f.write(t, data) : f.pwrite(t, data, pos);
}

function vecFast(
  k: Kernel,
  t: Task,
  fd: number,
  iovPtr: UserAddr,
  cnt: number,
  pos: number | null,
  write: boolean,
): number | Promise<number> {
  const iov = readIovecs(t.mm.as, iovPtr, cnt);
  if (pos !== null && pos < 0) return -Errno.EINVAL;
  const f = t.files.get(fd);
  // a single-vector console/pipe write completes synchronously in the common case
  if (write && iov.length === 1) return doWrite(k, t, fd, iov[0].base, iov[0].len, pos);
  void f;
  return write ? writev(k, t, fd, iov, pos) : readv(k, t, fd, iov, pos);
}

async function sendfile(
  _k: Kernel,
  t: Task,
  outFd: number,
  inFd: number,
  offPtr: UserAddr,
  count: number,
): Promise<number> {
  const out = t.files.get(outFd);
  const inp = t.files.get(inFd);
  if (!inp.readable || !out.writable) return -Errno.EBADF;
  let pos = offPtr !== 0 ? readI64(t.mm.as, offPtr) : null;
  let total = 0;
  while (total < count) {
    const want = Math.min(count - total, 1 << 20);
    const data = await (pos === null ? inp.read(t, want) : inp.pread(t, want, pos));
    if (data.length === 0) break;
    const n = await out.write(t, data);
    total += n;
    if (pos !== null) pos += n;
    if (n < data.length) break;
  }
  if (offPtr !== 0 && pos !== null) writeU64(t.mm.as, offPtr, pos);
  return total;
}

export const readWriteSyscalls: SyscallDefs = {
  read: { handler: (k, t, a) => doRead(k, t, a.i(0), a.p(1), a.x(2), null) },
  write: { handler: (k, t, a) => doWrite(k, t, a.i(0), a.p(1), a.x(2), null) },
  pread64: {
    handler: (k, t, a) => {
      const pos = a.l(3);
      return pos < 0 ? -Errno.EINVAL : doRead(k, t, a.i(0), a.p(1), a.x(2), pos);
    },
  },
  pwrite64: {
    handler: (k, t, a) => {
      const pos = a.l(3);
      return pos < 0 ? -Errno.EINVAL : doWrite(k, t, a.i(0), a.p(1), a.x(2), pos);
    },
  },
  readv: { handler: (k, t, a) => vecFast(k, t, a.i(0), a.p(1), a.i(2), null, false) },
  writev: { handler: (k, t, a) => vecFast(k, t, a.i(0), a.p(1), a.i(2), null, true) },
  preadv: { handler: (k, t, a) => vecFast(k, t, a.i(0), a.p(1), a.i(2), a.l(3), false) },
  pwritev: { handler: (k, t, a) => vecFast(k, t, a.i(0), a.p(1), a.i(2), a.l(3), true) },
  preadv2: {
    handler: (k, t, a) => vecFast(k, t, a.i(0), a.p(1), a.i(2), a.l(3) === -1 ? null : a.l(3), false),
    status: 'partial',
    note: 'RWF_* flags ignored',
  },
  pwritev2: {
    handler: (k, t, a) => vecFast(k, t, a.i(0), a.p(1), a.i(2), a.l(3) === -1 ? null : a.l(3), true),
    status: 'partial',
    note: 'RWF_* flags ignored',
  },
  lseek: {
    handler: (_k, t, a) => {
      const f = t.files.get(a.i(0));
      return f.seek(a.l(1), a.i(2));
    },
  },
  sendfile: { handler: (k, t, a) => sendfile(k, t, a.i(0), a.i(1), a.p(2), a.x(3)) },
};
