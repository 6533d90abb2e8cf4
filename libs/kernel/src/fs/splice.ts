/**
 * splice, tee, vmsplice and copy_file_range: moving bytes between a pipe and another file (or
 * between two regular files) without a trip through user memory, with Linux's checks and their
 * order. Pipes here hold bytes rather than Linux's sixteen page buffers, so a transfer is
 * bounded by the pipe's free bytes (Linux counts free buffers); the two agree for writes that
 * fill whole pages. A pipe side blocks and wakes as read/write on the pipe do (fs/pipe.ts),
 * re-checking after every wake, and gives EAGAIN instead with SPLICE_F_NONBLOCK (splice and
 * tee also with O_NONBLOCK on a pipe; vmsplice only with the flag, as on Linux).
 */
import { S_IFDIR, S_IFMT, S_IFREG } from '@lichen/vfs';
import { Errno, errnoOf, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import { MSG_DONTWAIT, SOCK_STREAM, Socket } from '../net/socket';
import { UnixSocket } from '../net/unix';
import type { SyscallArgs } from '../syscalls/args';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, readIovecs, readU64Big, writeU64Big, type IoVec, type UserAddr } from '../uaccess';
import type { WaitQueue } from '../wait';
import { ConsoleFile } from './console';
import { O_APPEND, O_NONBLOCK, type KFile } from './file';
import { PipeEnd, pipeBroken, type Pipe } from './pipe';
import { checkFsize, MAX_RW } from './read_write';
import { VfsFile } from './vfs-file';

const SPLICE_F_MOVE = 1;
const SPLICE_F_NONBLOCK = 2;
const SPLICE_F_MORE = 4;
const SPLICE_F_GIFT = 8;
/** MOVE and GIFT are hints (pages are always copied here), MORE only matters to sockets. */
const SPLICE_F_ALL = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

/** Bytes one step of a pipe-to-file splice or a copy_file_range moves through a kernel buffer. */
const CHUNK = 1 << 20;
const I64_MAX = (1n << 63n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

const pipeOf = (f: KFile): Pipe | null => (f instanceof PipeEnd ? f.pipe : null);
const fileType = (f: KFile): number => f.stat().mode & S_IFMT;

/** Files with Linux's splice_read/splice_write: VFS files other than directories, sockets, the console. */
function spliceable(f: KFile): boolean {
  if (f instanceof VfsFile) return fileType(f) !== S_IFDIR;
  return f instanceof Socket || f instanceof ConsoleFile;
}

/** FMODE_PREAD/FMODE_PWRITE: whether an explicit offset can be used with `f` (EINVAL otherwise). */
function positional(f: KFile): boolean {
  const v = f.vfsFile;
  return v !== null && (v.ops === undefined || v.ops.seekable === true);
}

/** The file position splice starts at without an offset (f_pos: 0 for sockets and the console). */
const filePos = (f: KFile): bigint => BigInt(f.vfsFile?.pos ?? 0);

/** rw_verify_area: a count above SSIZE_MAX, a negative position or a range past 2^63 is EINVAL. */
export function verifyArea(pos: bigint, count: bigint): void {
  if (count > I64_MAX || pos < 0n || pos + count > I64_MAX) throw new KernelError(Errno.EINVAL);
}

/** A loff_t the caller passed by pointer: read before the transfer, advanced after it. */
interface Offset {
  ptr: UserAddr;
  value: bigint;
}

function readOffset(t: Task, ptr: UserAddr): Offset | null {
  return ptr === 0 ? null : { ptr, value: BigInt.asIntN(64, readU64Big(t.mm.as, ptr)) };
}

function advance(t: Task, off: Offset | null, n: number): void {
  if (off !== null) writeU64Big(t.mm.as, off.ptr, off.value + BigInt(n));
}

/** One wait on `wq`, or EAGAIN when `nonblock`; the caller re-checks its condition afterwards. */
function sleepOn(t: Task, wq: WaitQueue, nonblock: boolean): Promise<unknown> {
  if (nonblock) throw new KernelError(Errno.EAGAIN);
  return t.sleep([wq]);
}

/** wait_for_space's test: EPIPE (and SIGPIPE) once `p` has no reader, else whether it has room. */
function hasRoom(k: Kernel, t: Task, p: Pipe): boolean {
  if (p.readers === 0) pipeBroken(k, t);
  return p.space > 0;
}

/** ipipe_prep's and splice_from_pipe_next's test: `p` is empty, but a writer may still fill it. */
const awaitingData = (p: Pipe): boolean => p.size === 0 && p.writers > 0;

/**
 * An error after `done` bytes moved ends the call with that count, as Linux's splice loops
 * return what they spliced; before any, it is the call's error. Kernel bugs still propagate.
 */
function partial(done: number, e: unknown): number {
  errnoOf(e);
  if (done > 0) return done;
  throw e;
}

/** Pipe to pipe (splice) and pipe to pipe without consuming (tee): min(len, data, room) bytes. */
async function pipeToPipe(
  k: Kernel,
  t: Task,
  ip: Pipe,
  op: Pipe,
  len: number,
  nonblock: boolean,
  keep: boolean,
): Promise<number> {
  for (;;) {
    while (awaitingData(ip)) await sleepOn(t, ip.readWq, nonblock);
    // opipe_prep looks for a reader only when the pipe is full; the transfer below always does
    while (op.space <= 0 && !hasRoom(k, t, op)) await sleepOn(t, op.writeWq, nonblock);
    if (op.readers === 0) pipeBroken(k, t);
    const n = Math.min(len, ip.size, Math.max(op.space, 0));
    if (n > 0) {
      op.push(keep ? ip.peek(n) : ip.take(n));
      return n;
    }
    // tee gives up when it finds nothing; splice stops at EOF and retries after a race
    if (keep || (ip.size === 0 && ip.writers === 0)) return 0;
    if (nonblock) throw new KernelError(Errno.EAGAIN);
  }
}

/** Pipe to a file or socket: waits for data, then writes what the pipe holds (up to len). */
async function pipeToFile(
  k: Kernel,
  t: Task,
  ip: Pipe,
  out: KFile,
  pos: number | null,
  len: number,
  nonblock: boolean,
): Promise<number> {
  while (awaitingData(ip)) await sleepOn(t, ip.readWq, nonblock);
  let done = 0;
  while (done < len && ip.size > 0) {
    const at = pos === null ? null : pos + done;
    let data: Uint8Array | null = null;
    let n: number;
    try {
      data = ip.take(checkFsize(k, t, out, at, Math.min(len - done, ip.size, CHUNK)));
      n = await (at === null ? out.write(t, data) : out.pwrite(t, data, at));
    } catch (e) {
      if (data !== null) ip.unshift(data);
      return partial(done, e);
    }
    ip.unshift(data.subarray(n));
    done += n;
    if (n < data.length) break;
  }
  return done;
}

/** A file or socket to a pipe: one read of at most the pipe's room, like Linux's splice_read. */
async function fileToPipe(
  k: Kernel,
  t: Task,
  inp: KFile,
  off: Offset | null,
  op: Pipe,
  len: bigint,
  nonblock: boolean,
): Promise<number> {
  verifyArea(off?.value ?? filePos(inp), len);
  while (!hasRoom(k, t, op)) await sleepOn(t, op.writeWq, nonblock);
  const n = Number(minBig(len, BigInt(Math.min(op.space, MAX_RW))));
  if (!spliceable(inp)) return -Errno.EINVAL;
  // unix stream sockets read a nonblocking splice's bytes with MSG_DONTWAIT, as Linux's do
  const dontWait = nonblock && inp instanceof UnixSocket && inp.type === SOCK_STREAM;
  const data = await (dontWait
    ? inp.readFlags(t, n, MSG_DONTWAIT)
    : off === null
      ? inp.read(t, n)
      : inp.pread(t, n, Number(off.value)));
  op.push(data);
  advance(t, off, data.length);
  return data.length;
}

async function splice(k: Kernel, t: Task, a: SyscallArgs): Promise<number> {
  const [fdIn, offInPtr, fdOut, offOutPtr, len, flags] = [a.i(0), a.p(1), a.i(2), a.p(3), a.big(4), a.u(5)];
  if (len === 0n) return 0;
  if (flags & ~SPLICE_F_ALL) return -Errno.EINVAL;
  const inp = t.files.getOpen(fdIn);
  const out = t.files.getOpen(fdOut);
  const ip = pipeOf(inp);
  const op = pipeOf(out);
  if ((ip !== null && offInPtr !== 0) || (op !== null && offOutPtr !== 0)) return -Errno.ESPIPE;
  const offOut = readOffset(t, offOutPtr);
  const offIn = readOffset(t, offInPtr);
  if (!inp.readable || !out.writable) return -Errno.EBADF;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  const count = Number(minBig(len, BigInt(MAX_RW)));
  if (ip !== null && op !== null) {
    if (ip === op) return -Errno.EINVAL;
    return pipeToPipe(k, t, ip, op, count, nonblock || ((inp.flags | out.flags) & O_NONBLOCK) !== 0, false);
  }
  if (ip !== null) {
    if (offOut !== null && !positional(out)) return -Errno.EINVAL;
    if (out.flags & O_APPEND) return -Errno.EINVAL;
    const pos = offOut?.value ?? filePos(out);
    verifyArea(pos, len);
    if (!spliceable(out)) return -Errno.EINVAL;
    const n = await pipeToFile(k, t, ip, out, offOut === null ? null : Number(pos), count, nonblock || inp.nonblock);
    advance(t, offOut, n);
    return n;
  }
  if (op !== null) {
    if (offIn !== null && !positional(inp)) return -Errno.EINVAL;
    return fileToPipe(k, t, inp, offIn, op, len, nonblock || out.nonblock);
  }
  return -Errno.EINVAL;
}

async function tee(k: Kernel, t: Task, a: SyscallArgs): Promise<number> {
  const [fdIn, fdOut, len, flags] = [a.i(0), a.i(1), a.big(2), a.u(3)];
  if (flags & ~SPLICE_F_ALL) return -Errno.EINVAL;
  if (len === 0n) return 0;
  const inp = t.files.getOpen(fdIn);
  const out = t.files.getOpen(fdOut);
  if (!inp.readable || !out.writable) return -Errno.EBADF;
  const ip = pipeOf(inp);
  const op = pipeOf(out);
  if (ip === null || op === null || ip === op) return -Errno.EINVAL;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0 || ((inp.flags | out.flags) & O_NONBLOCK) !== 0;
  return pipeToPipe(k, t, ip, op, Number(minBig(len, BigInt(MAX_RW))), nonblock, true);
}

/** User memory into a pipe: as much as the pipe has room for once it has any (no waiting for more). */
async function vmspliceIn(k: Kernel, t: Task, p: Pipe, iov: IoVec[], nonblock: boolean): Promise<number> {
  while (!hasRoom(k, t, p)) await sleepOn(t, p.writeWq, nonblock);
  const room = p.space;
  let done = 0;
  try {
    for (const v of iov) {
      const n = Math.min(v.len, room - done);
      if (n <= 0) break;
      p.push(copyIn(t.mm.as, v.base, n));
      done += n;
    }
  } catch (e) {
    return partial(done, e);
  }
  return done;
}

/** A pipe into user memory (a copy, as Linux does it): waits for data, consumes what was copied. */
async function vmspliceOut(t: Task, p: Pipe, iov: IoVec[], total: number, nonblock: boolean): Promise<number> {
  while (awaitingData(p)) await sleepOn(t, p.readWq, nonblock);
  const data = p.peek(Math.min(total, p.size));
  let done = 0;
  let failure: unknown = null;
  for (const v of iov) {
    const n = Math.min(v.len, data.length - done);
    if (n <= 0) break;
    try {
      copyOut(t.mm.as, v.base, data.subarray(done, done + n));
    } catch (e) {
      failure = e;
      break;
    }
    done += n;
  }
  p.discard(done);
  return failure === null ? done : partial(done, failure);
}

async function vmsplice(k: Kernel, t: Task, a: SyscallArgs): Promise<number> {
  const [fd, iovPtr, nrSegs, flags] = [a.i(0), a.p(1), a.x(2), a.u(3)];
  if (flags & ~SPLICE_F_ALL) return -Errno.EINVAL;
  const f = t.files.getOpen(fd);
  if (!f.writable && !f.readable) return -Errno.EBADF;
  const iov = readIovecs(t.mm.as, iovPtr, nrSegs);
  const total = iov.reduce((n, v) => n + v.len, 0);
  if (total === 0) return 0;
  const p = pipeOf(f);
  if (p === null) return -Errno.EBADF;
  // a write end is filled from user memory, a read end copied out; as on Linux only the flag,
  // not the pipe's O_NONBLOCK, keeps vmsplice from waiting
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  return f.writable ? vmspliceIn(k, t, p, iov, nonblock) : vmspliceOut(t, p, iov, total, nonblock);
}

/**
 * generic_copy_file_checks, in Linux's order and with its unsigned arithmetic: the byte count
 * to copy (shortened to the input's end and to RLIMIT_FSIZE), or an error.
 */
function copyCount(k: Kernel, t: Task, inp: KFile, posIn: bigint, out: KFile, posOut: bigint, len: bigint): bigint {
  const sizeIn = BigInt(inp.stat().size);
  if (u64(u64(posIn) + len) < u64(posIn) || u64(u64(posOut) + len) < u64(posOut)) {
    throw new KernelError(Errno.EOVERFLOW);
  }
  let count = posIn >= sizeIn ? 0n : minBig(len, u64(sizeIn - u64(posIn)));
  // generic_write_check_limits: RLIMIT_FSIZE, then the largest file size (s_maxbytes)
  count = BigInt(checkFsize(k, t, out, Number(posOut), Number(count)));
  if (posOut >= I64_MAX) throw new KernelError(Errno.EFBIG);
  count = minBig(count, I64_MAX - posOut);
  // overlapping ranges of one file
  const same = inp.vfsFile?.node === out.vfsFile?.node;
  if (same && u64(posOut + count) > u64(posIn) && u64(posOut) < u64(posIn + count)) {
    throw new KernelError(Errno.EINVAL);
  }
  verifyArea(posIn, count);
  verifyArea(posOut, count);
  return count;
}

async function copyFileRange(k: Kernel, t: Task, a: SyscallArgs): Promise<number> {
  const [fdIn, offInPtr, fdOut, offOutPtr, len, flags] = [a.i(0), a.p(1), a.i(2), a.p(3), a.big(4), a.u(5)];
  const inp = t.files.getOpen(fdIn);
  const out = t.files.getOpen(fdOut);
  const offIn = readOffset(t, offInPtr);
  const offOut = readOffset(t, offOutPtr);
  if (flags !== 0) return -Errno.EINVAL;
  const [typeIn, typeOut] = [fileType(inp), fileType(out)];
  if (typeIn === S_IFDIR || typeOut === S_IFDIR) return -Errno.EISDIR;
  const vin = inp.vfsFile;
  const vout = out.vfsFile;
  if (typeIn !== S_IFREG || typeOut !== S_IFREG || vin === null || vout === null) return -Errno.EINVAL;
  if (!inp.readable || !out.writable || out.flags & O_APPEND) return -Errno.EBADF;
  const posIn = offIn?.value ?? BigInt(vin.pos);
  const posOut = offOut?.value ?? BigInt(vout.pos);
  const count = Number(minBig(copyCount(k, t, inp, posIn, out, posOut, len), BigInt(MAX_RW)));
  const [from, to] = [Number(posIn), Number(posOut)];
  let done = 0;
  while (done < count) {
    let data: Uint8Array;
    let n: number;
    try {
      data = await inp.pread(t, Math.min(count - done, CHUNK), from + done);
      if (data.length === 0) break;
      n = await out.pwrite(t, data, to + done);
    } catch (e) {
      return partial(done, e);
    }
    done += n;
    // a short write, or a signal to handle: return what was copied (Linux checks between steps)
    if (n < data.length || t.hasDeliverableSignal()) break;
  }
  if (done === 0) return 0;
  if (offIn === null) vin.pos = from + done;
  if (offOut === null) vout.pos = to + done;
  advance(t, offIn, done);
  advance(t, offOut, done);
  return done;
}

export const spliceSyscalls: SyscallDefs = {
  splice: {
    handler: splice,
    status: 'partial',
    note:
      'pipe buffers are counted in bytes, not 16 pages; the VM console (stdin/stdout that are not a ' +
      'terminal) reports S_IFIFO but is not a pipe here: splicing it to a non-pipe file is EINVAL',
  },
  tee: {
    handler: tee,
    status: 'partial',
    note: 'pipe buffers are counted in bytes, not 16 pages; the VM console is not a pipe here (EINVAL)',
  },
  vmsplice: {
    handler: vmsplice,
    note: 'user pages are copied into the pipe, not mapped (SPLICE_F_GIFT is only a hint)',
  },
  copy_file_range: {
    handler: copyFileRange,
    note: 'copies across filesystems too (Linux since 5.19 may give EXDEV there)',
  },
};
