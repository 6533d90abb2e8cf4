/**
 * futex(2): wait/wake/requeue/cmp_requeue/wake_op/bitset, private and shared, with
 * timeouts. Queues are keyed by address space + address (private) or physical frame +
 * offset (shared mappings), so shared futexes work across fork. Robust futex lists
 * (set/get_robust_list) are walked when a thread exits or execs, as Linux's exit_robust_list.
 */
import { guestAddr } from '@lichen/machine';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { Mm } from '../mm/mm';
import type { Task } from '../task';
import { readTimespec } from '../time/timespec';
import { readI64, readU32, readU64, userAddr, writeU32, writeU64, type UserAddr } from '../uaccess';
import type { SyscallDefs } from '../syscalls/types';
import type { SyscallArgs } from '../syscalls/args';

export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;
export const FUTEX_FD = 2;
export const FUTEX_REQUEUE = 3;
export const FUTEX_CMP_REQUEUE = 4;
export const FUTEX_WAKE_OP = 5;
export const FUTEX_LOCK_PI = 6;
export const FUTEX_UNLOCK_PI = 7;
export const FUTEX_TRYLOCK_PI = 8;
export const FUTEX_WAIT_BITSET = 9;
export const FUTEX_WAKE_BITSET = 10;
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_CLOCK_REALTIME = 256;
export const FUTEX_BITSET_MATCH_ANY = 0xffffffff;

interface Waiter {
  task: Task;
  bitset: number;
  key: string;
  wake: () => void;
}

/** All futex queues of a VM. */
export class FutexTable {
  readonly queues = new Map<string, Waiter[]>();
  private static mmIds = new WeakMap<Mm, number>();
  private static nextMmId = 1;

  /** Private futexes are keyed by address space; shared ones by frame when the page is shared. */
  static key(mm: Mm, addr: number, priv = false): string {
    const q = priv ? undefined : mm.as.query(guestAddr(addr - (addr % 4096)));
    if (q && q.frame >= 0) {
      // a page shared with another address space keeps one key for both
      const refs = mm.as.memory.refCount(q.frame);
      if (refs > 1) return `f${q.frame}:${addr % 4096}`;
    }
    let id = FutexTable.mmIds.get(mm);
    if (id === undefined) {
      id = FutexTable.nextMmId++;
      FutexTable.mmIds.set(mm, id);
    }
    return `m${id}:${addr}`;
  }

  add(w: Waiter): void {
    let q = this.queues.get(w.key);
    if (!q) {
      q = [];
      this.queues.set(w.key, q);
    }
    q.push(w);
  }
  remove(w: Waiter): void {
    const q = this.queues.get(w.key);
    if (!q) return;
    const i = q.indexOf(w);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.queues.delete(w.key);
  }
}

const tables = new WeakMap<Kernel, FutexTable>();
export function futexTable(k: Kernel): FutexTable {
  let t = tables.get(k);
  if (!t) {
    t = new FutexTable();
    tables.set(k, t);
  }
  return t;
}

/** Wakes up to `n` waiters on (mm, addr) whose bitset intersects `bitset`. */
export function futexWake(k: Kernel, mm: Mm, addr: number, n: number, bitset: number, priv = false): number {
  const table = futexTable(k);
  const key = FutexTable.key(mm, addr, priv);
  const q = table.queues.get(key);
  if (!q) return 0;
  let woken = 0;
  for (const w of [...q]) {
    if (woken >= n) break;
    if ((w.bitset & bitset) === 0) continue;
    table.remove(w);
    w.wake();
    woken++;
  }
  return woken;
}

async function futexWait(
  k: Kernel,
  t: Task,
  addr: UserAddr,
  val: number,
  deadline: number | null,
  bitset: number,
  priv: boolean,
): Promise<number> {
  const table = futexTable(k);
  const key = FutexTable.key(t.mm, addr, priv);
  let woken = false;
  let timedOut = false;
  let resolveFn: (() => void) | null = null;
  const w: Waiter = {
    task: t,
    bitset,
    key,
    wake: () => {
      woken = true;
      resolveFn?.();
    },
  };
  table.add(w);
  try {
    await new Promise<void>((resolve, reject) => {
      resolveFn = resolve;
      if (t.hasDeliverableSignal()) {
        reject(new KernelError(Errno.ERESTARTSYS));
        return;
      }
      let timer: ReturnType<Kernel['addTimer']> | null = null;
      if (deadline !== null)
        timer = k.addTimer(deadline, () => {
          timedOut = true;
          resolve();
        });
      t.interrupter = () => {
        if (timer) k.cancelTimer(timer);
        reject(new KernelError(Errno.ERESTARTSYS));
      };
      resolveFn = () => {
        if (timer) k.cancelTimer(timer);
        resolve();
      };
    });
  } finally {
    t.interrupter = null;
    table.remove(w);
  }
  void val;
  if (woken) return 0;
  if (timedOut) return -Errno.ETIMEDOUT;
  return 0;
}

/** The futex syscall. */
export function sysFutex(k: Kernel, t: Task, a: SyscallArgs): number | Promise<number> {
  const uaddr = a.p(0);
  const op = a.i(1);
  const val = a.u(2);
  const timeoutPtr = a.p(3);
  const val2 = a.x(3);
  const uaddr2 = a.p(4);
  const val3 = a.u(5);
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  const priv = (op & FUTEX_PRIVATE_FLAG) !== 0;
  if (uaddr % 4 !== 0) return -Errno.EINVAL;
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      const bitset = cmd === FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3;
      if (bitset === 0) return -Errno.EINVAL;
      let deadline: number | null = null;
      if (timeoutPtr !== 0) {
        const ts = readTimespec(t.mm.as, timeoutPtr);
        const ns = ts.sec * 1e9 + ts.nsec;
        if (cmd === FUTEX_WAIT) deadline = k.clock.monotonicNs() + ns;
        else if (op & FUTEX_CLOCK_REALTIME) deadline = k.clock.realtimeToMonotonic(ts.sec, ts.nsec);
        else deadline = ns;
      }
      const cur = readU32(t.mm.as, uaddr);
      if (cur !== val) return -Errno.EAGAIN;
      if (deadline !== null && deadline <= k.clock.monotonicNs()) return -Errno.ETIMEDOUT;
      return futexWait(k, t, uaddr, val, deadline, bitset, priv);
    }
    case FUTEX_WAKE:
      return futexWake(k, t.mm, uaddr, val, FUTEX_BITSET_MATCH_ANY, priv);
    case FUTEX_WAKE_BITSET:
      if (val3 === 0) return -Errno.EINVAL;
      return futexWake(k, t.mm, uaddr, val, val3, priv);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      if (cmd === FUTEX_CMP_REQUEUE && readU32(t.mm.as, uaddr) !== val3) return -Errno.EAGAIN;
      return requeue(k, t.mm, uaddr, uaddr2, val, val2, priv);
    }
    case FUTEX_WAKE_OP:
      return wakeOp(k, t, uaddr, uaddr2, val, val2, val3, priv);
    default:
      return -Errno.ENOSYS;
  }
}

function requeue(
  k: Kernel,
  mm: Mm,
  from: UserAddr,
  to: UserAddr,
  nWake: number,
  nRequeue: number,
  priv: boolean,
): number {
  const table = futexTable(k);
  const key = FutexTable.key(mm, from, priv);
  const key2 = FutexTable.key(mm, to, priv);
  const q = table.queues.get(key);
  if (!q) return 0;
  let done = 0;
  let moved = 0;
  for (const w of [...q]) {
    if (done < nWake) {
      table.remove(w);
      w.wake();
      done++;
    } else if (moved < nRequeue) {
      table.remove(w);
      w.key = key2;
      table.add(w);
      moved++;
    } else break;
  }
  return done + moved;
}

function wakeOp(
  k: Kernel,
  t: Task,
  uaddr: UserAddr,
  uaddr2: UserAddr,
  n1: number,
  n2: number,
  encoded: number,
  priv: boolean,
): number {
  const op = (encoded >>> 28) & 0xf;
  const cmp = (encoded >>> 24) & 0xf;
  let oparg = (encoded << 8) >> 20; // sign-extended 12 bits
  const cmparg = (encoded << 20) >> 20;
  if (op & 8) oparg = 1 << (oparg & 31);
  const old = readU32(t.mm.as, uaddr2);
  let nv: number;
  switch (op & 7) {
    case 0:
      nv = oparg;
      break;
    case 1:
      nv = old + oparg;
      break;
    case 2:
      nv = old | oparg;
      break;
    case 3:
      nv = old & ~oparg;
      break;
    case 4:
      nv = old ^ oparg;
      break;
    default:
      return -Errno.ENOSYS;
  }
  writeU32(t.mm.as, uaddr2, nv >>> 0);
  let woken = futexWake(k, t.mm, uaddr, n1, FUTEX_BITSET_MATCH_ANY, priv);
  const o = old | 0;
  let cond: boolean;
  switch (cmp) {
    case 0:
      cond = o === cmparg;
      break;
    case 1:
      cond = o !== cmparg;
      break;
    case 2:
      cond = o < cmparg;
      break;
    case 3:
      cond = o <= cmparg;
      break;
    case 4:
      cond = o > cmparg;
      break;
    case 5:
      cond = o >= cmparg;
      break;
    default:
      return -Errno.ENOSYS;
  }
  if (cond) woken += futexWake(k, t.mm, uaddr2, n2, FUTEX_BITSET_MATCH_ANY, priv);
  return woken;
}

/** Futex word bits a robust-list owner death uses (include/uapi/linux/futex.h). */
export const FUTEX_WAITERS = 0x80000000;
export const FUTEX_OWNER_DIED = 0x40000000;
export const FUTEX_TID_MASK = 0x3fffffff;
/** sizeof(struct robust_list_head) on 64-bit. */
const ROBUST_LIST_HEAD_SIZE = 24;
/** Entries walked at most (Linux ROBUST_LIST_LIMIT): a circular or hostile list ends. */
const ROBUST_LIST_LIMIT = 2048;

/**
 * One futex of a dying owner (Linux handle_futex_death): if the dead thread owns it, set
 * FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and wake one waiter; a pending unlock of an already
 * free non-PI futex wakes one waiter too. Faults end the step silently, as on Linux.
 */
function futexDeath(k: Kernel, t: Task, uaddr: number, pi: boolean, pendingOp: boolean): void {
  if (uaddr % 4 !== 0) return;
  try {
    const as = t.mm.as;
    const uval = readU32(as, userAddr(uaddr));
    if (pendingOp && !pi && uval === 0) {
      futexWake(k, t.mm, uaddr, 1, FUTEX_BITSET_MATCH_ANY);
      return;
    }
    if ((uval & FUTEX_TID_MASK) !== t.tid) return;
    writeU32(as, userAddr(uaddr), ((uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED) >>> 0);
    if (!pi && (uval & FUTEX_WAITERS) !== 0) futexWake(k, t.mm, uaddr, 1, FUTEX_BITSET_MATCH_ANY);
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
  }
}

/**
 * Walks `t`'s robust list at thread exit or exec (Linux exit_robust_list): every listed futex
 * and the list_op_pending one get futexDeath. The list head is forgotten afterwards.
 */
export function exitRobustList(k: Kernel, t: Task): void {
  const head = t.robustList;
  t.robustList = 0;
  if (head === 0) return;
  const as = t.mm.as;
  const fetch = (addr: number): { ptr: number; pi: boolean } | null => {
    try {
      const raw = readU64(as, userAddr(addr));
      return { ptr: raw - (raw % 2), pi: raw % 2 === 1 };
    } catch (e) {
      if (e instanceof KernelError) return null;
      throw e;
    }
  };
  let entry = fetch(head);
  if (!entry) return;
  let offset: number;
  try {
    offset = readI64(as, userAddr(head + 8));
  } catch (e) {
    if (e instanceof KernelError) return;
    throw e;
  }
  const pending = fetch(head + 16);
  if (!pending) return;
  for (let limit = ROBUST_LIST_LIMIT; entry.ptr !== head && limit > 0; limit--) {
    const next = fetch(entry.ptr);
    if (entry.ptr !== pending.ptr) futexDeath(k, t, entry.ptr + offset, entry.pi, false);
    if (!next) return;
    entry = next;
  }
  if (pending.ptr !== 0) futexDeath(k, t, pending.ptr + offset, pending.pi, true);
}

export const futexSyscalls: SyscallDefs = {
  futex: {
    handler: sysFutex,
    status: 'partial',
    note: 'WAIT/WAKE/REQUEUE/CMP_REQUEUE/WAKE_OP/BITSET, private and shared; PI futexes unsupported',
  },
  set_robust_list: {
    handler: (_k, t, a) => {
      if (a.x(1) !== ROBUST_LIST_HEAD_SIZE) return -Errno.EINVAL;
      t.robustList = a.x(0);
      return 0;
    },
    note: 'walked at thread exit and exec: owned futexes get FUTEX_OWNER_DIED and one waiter is woken',
  },
  get_robust_list: {
    handler: (k, t, a) => {
      const pid = a.i(0);
      const target = pid === 0 ? t : k.tasks.get(pid);
      if (!target) return -Errno.ESRCH;
      writeU64(t.mm.as, a.p(1), target.robustList);
      writeU64(t.mm.as, a.p(2), ROBUST_LIST_HEAD_SIZE);
      return 0;
    },
  },
};
