/**
 * Advisory file locks (Linux fs/locks.c), one table per VM keyed by the inode's (dev, ino):
 * - POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW): byte ranges owned by a process
 *   (threads share them), split and merged per owner, released when the owner closes any fd
 *   of the file or exits. Open file description locks (F_OFD_*) are the same ranges owned by
 *   the description instead, released when its last reference goes.
 * - flock(2) locks: whole-file, owned by the open file description (shared across dup and
 *   fork), released when its last reference goes; independent of the POSIX locks.
 * Blocked requests sleep on the inode's wait queue and re-check when any lock there goes away.
 */
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import type { Process, Task } from '../task';
import { WaitQueue } from '../wait';
import type { KFile } from './file';

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
/** Largest file offset: a lock with this end reaches "to EOF and beyond" (l_len 0). */
export const OFFSET_MAX = (1n << 63n) - 1n;

/** Who holds a record lock: a process (classic POSIX) or an open file description (OFD). */
type LockOwner = Process | KFile;

interface RangeLock {
  owner: LockOwner;
  /** l_pid reported by F_GETLK: the process's pid, -1 for OFD locks. */
  pid: number;
  type: number;
  start: bigint;
  /** Inclusive; OFFSET_MAX for a lock to EOF. */
  end: bigint;
}

class InodeLocks {
  ranges: RangeLock[] = [];
  /** flock(2) holders: description -> F_RDLCK (LOCK_SH) or F_WRLCK (LOCK_EX). */
  readonly flocks = new Map<KFile, number>();
  readonly wq = new WaitQueue();
  get empty(): boolean {
    return this.ranges.length === 0 && this.flocks.size === 0;
  }
}

class LockTable {
  readonly inodes = new Map<string, InodeLocks>();
  /** POSIX owners sleeping in F_SETLKW -> the owner of the lock they wait for (deadlock check). */
  readonly waitingFor = new Map<LockOwner, LockOwner>();
}

const tables = new WeakMap<Kernel, LockTable>();
function tableOf(k: Kernel): LockTable {
  let t = tables.get(k);
  if (!t) tables.set(k, (t = new LockTable()));
  return t;
}

/** Identity of the inode behind an open file, the same across separate opens. */
function inodeKey(f: KFile): string {
  const st = f.stat();
  return `${st.dev}:${st.ino}`;
}

function inodeOf(table: LockTable, key: string): InodeLocks {
  let n = table.inodes.get(key);
  if (!n) table.inodes.set(key, (n = new InodeLocks()));
  return n;
}

function drop(table: LockTable, key: string, n: InodeLocks): void {
  n.wq.wakeAll();
  if (n.empty && n.wq.size === 0) table.inodes.delete(key);
}

/** A requested record lock after whence/start/len were resolved. */
export interface LockRequest {
  type: number;
  start: bigint;
  end: bigint;
}

/** Linux flock_to_posix_lock: the absolute range of (whence, start, len); errno on bad input. */
export function resolveRange(
  type: number,
  whence: number,
  start: bigint,
  len: bigint,
  pos: number,
  size: number,
): LockRequest | Errno {
  let base = 0n;
  if (whence === 1) base = BigInt(pos);
  else if (whence === 2) base = BigInt(size);
  else if (whence !== 0) return Errno.EINVAL;
  if (start > OFFSET_MAX - base) return Errno.EOVERFLOW;
  let s = base + start;
  if (s < 0n) return Errno.EINVAL;
  let end: bigint;
  if (len > 0n) {
    if (len - 1n > OFFSET_MAX - s) return Errno.EOVERFLOW;
    end = s + len - 1n;
  } else if (len < 0n) {
    if (s + len < 0n) return Errno.EINVAL;
    end = s - 1n;
    s += len;
  } else end = OFFSET_MAX;
  return { type, start: s, end };
}

const overlaps = (a: RangeLock, r: LockRequest): boolean => a.start <= r.end && r.start <= a.end;

function firstConflict(n: InodeLocks, owner: LockOwner, r: LockRequest): RangeLock | undefined {
  for (const l of n.ranges) {
    if (l.owner === owner || !overlaps(l, r)) continue;
    if (l.type === F_WRLCK || r.type === F_WRLCK) return l;
  }
  return undefined;
}

/** F_GETLK: the first lock that would block `r`, or undefined. */
export function testLock(k: Kernel, f: KFile, owner: LockOwner, r: LockRequest): RangeLock | undefined {
  const n = tableOf(k).inodes.get(inodeKey(f));
  return n ? firstConflict(n, owner, r) : undefined;
}

/** Record locks one inode may carry (a guest splitting ranges endlessly gets ENOLCK). */
export const MAX_RANGES_PER_INODE = 4096;

/**
 * Replaces `owner`'s locks over r's range with r (nothing for F_UNLCK), merging neighbours.
 * Whether any lock was removed or shrunk; ENOLCK (nothing changed) beyond the range limit.
 */
function apply(n: InodeLocks, owner: LockOwner, pid: number, r: LockRequest): boolean | Errno.ENOLCK {
  const mine: RangeLock[] = [];
  const others: RangeLock[] = [];
  let changed = false;
  for (const l of n.ranges) {
    if (l.owner !== owner) others.push(l);
    else if (!overlaps(l, r)) mine.push(l);
    else {
      changed = true;
      if (l.start < r.start) mine.push({ ...l, end: r.start - 1n });
      if (l.end > r.end) mine.push({ ...l, start: r.end + 1n });
    }
  }
  if (r.type !== F_UNLCK) mine.push({ owner, pid, type: r.type, start: r.start, end: r.end });
  mine.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: RangeLock[] = [];
  for (const l of mine) {
    const last = merged[merged.length - 1];
    if (last && last.type === l.type && last.end !== OFFSET_MAX && last.end + 1n >= l.start) {
      if (l.end > last.end) last.end = l.end;
    } else merged.push({ ...l });
  }
  if (others.length + merged.length > MAX_RANGES_PER_INODE) return Errno.ENOLCK;
  n.ranges = others.concat(merged);
  return changed;
}

/** Whether `owner` waiting for `holder` closes a cycle of waiting POSIX owners. */
function wouldDeadlock(table: LockTable, owner: LockOwner, holder: LockOwner): boolean {
  let o: LockOwner | undefined = holder;
  for (let i = 0; i < 10 && o !== undefined; i++) {
    if (o === owner) return true;
    o = table.waitingFor.get(o);
  }
  return false;
}

/**
 * F_SETLK (wait false) / F_SETLKW (wait true): sets, changes or removes `owner`'s lock over a
 * range. Conflicts: EAGAIN, or sleep until they go (EDEADLK on a cycle, ERESTARTSYS on signals).
 */
export async function setLock(
  k: Kernel,
  t: Task,
  f: KFile,
  owner: LockOwner,
  pid: number,
  r: LockRequest,
  wait: boolean,
): Promise<number> {
  const table = tableOf(k);
  const key = inodeKey(f);
  for (;;) {
    const n = inodeOf(table, key);
    const c = r.type === F_UNLCK ? undefined : firstConflict(n, owner, r);
    if (!c) {
      const changed = apply(n, owner, pid, r);
      if (changed === true) n.wq.wakeAll();
      if (n.empty && n.wq.size === 0) table.inodes.delete(key);
      return changed === Errno.ENOLCK ? -Errno.ENOLCK : 0;
    }
    if (!wait) {
      if (n.empty && n.wq.size === 0) table.inodes.delete(key);
      return -Errno.EAGAIN;
    }
    const posix = pid > 0;
    if (posix && wouldDeadlock(table, owner, c.owner)) return -Errno.EDEADLK;
    if (posix) table.waitingFor.set(owner, c.owner);
    try {
      await t.sleep([n.wq]);
    } finally {
      if (posix) table.waitingFor.delete(owner);
      if (n.empty && n.wq.size === 0) table.inodes.delete(key);
    }
  }
}

/** Whether the VM holds any lock at all (close paths skip the lookup otherwise). */
function anyLocks(k: Kernel): boolean {
  const t = tables.get(k);
  return t !== undefined && t.inodes.size > 0;
}

/** close(2) of any fd of `f` by `p`: every POSIX lock `p` holds on that inode goes. */
export function releasePosixLocks(k: Kernel, p: Process, f: KFile): void {
  if (!anyLocks(k)) return;
  const table = tableOf(k);
  let key: string;
  try {
    key = inodeKey(f);
  } catch {
    return;
  }
  const n = table.inodes.get(key);
  if (!n) return;
  const before = n.ranges.length;
  n.ranges = n.ranges.filter((l) => l.owner !== p);
  if (n.ranges.length !== before) drop(table, key, n);
}

/** Process exit: all its POSIX locks go. */
export function exitPosixLocks(k: Kernel, p: Process): void {
  if (!anyLocks(k)) return;
  const table = tableOf(k);
  for (const [key, n] of [...table.inodes]) {
    const before = n.ranges.length;
    n.ranges = n.ranges.filter((l) => l.owner !== p);
    if (n.ranges.length !== before) drop(table, key, n);
  }
}

/** The last reference to a description went: its flock and OFD locks go. */
function releaseDescription(k: Kernel, f: KFile, key: string): void {
  const table = tables.get(k);
  const n = table?.inodes.get(key);
  if (!table || !n) return;
  const had = n.flocks.delete(f);
  const before = n.ranges.length;
  n.ranges = n.ranges.filter((l) => l.owner !== f);
  if (had || n.ranges.length !== before) drop(table, key, n);
}

/** Arranges for the description's locks to go with its last reference. */
export function holdOnDescription(k: Kernel, f: KFile): void {
  if (f.lockRelease) return;
  const key = inodeKey(f);
  f.lockRelease = (): void => releaseDescription(k, f, key);
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2) on the description `f`. */
export async function flockFile(k: Kernel, t: Task, f: KFile, op: number): Promise<number> {
  const cmd = op & ~LOCK_NB;
  if (cmd !== LOCK_SH && cmd !== LOCK_EX && cmd !== LOCK_UN) return -Errno.EINVAL;
  const table = tableOf(k);
  const key = inodeKey(f);
  const n0 = inodeOf(table, key);
  const type = cmd === LOCK_EX ? F_WRLCK : F_RDLCK;
  const held = n0.flocks.get(f);
  if (cmd !== LOCK_UN && held === type) return 0;
  if (held !== undefined) {
    // Linux drops the old lock first: a conversion is not atomic
    n0.flocks.delete(f);
    n0.wq.wakeAll();
  }
  if (cmd === LOCK_UN) {
    if (n0.empty && n0.wq.size === 0) table.inodes.delete(key);
    return 0;
  }
  for (;;) {
    const n = inodeOf(table, key);
    let conflict = false;
    for (const [o, ty] of n.flocks) if (o !== f && (ty === F_WRLCK || type === F_WRLCK)) conflict = true;
    if (!conflict) {
      n.flocks.set(f, type);
      holdOnDescription(k, f);
      return 0;
    }
    if (op & LOCK_NB) {
      if (n.empty && n.wq.size === 0) table.inodes.delete(key);
      return -Errno.EAGAIN;
    }
    try {
      await t.sleep([n.wq]);
    } finally {
      if (n.empty && n.wq.size === 0) table.inodes.delete(key);
    }
  }
}
