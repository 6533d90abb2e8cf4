/**
 * System V semaphores (ipc/sem.c): semget, semop, semtimedop, semctl. A semop applies all of
 * its operations or none; a task that would block sleeps in the array's pending list and is
 * retried, in arrival order, whenever a value changes. SEM_UNDO adjustments are kept per
 * process (the thread group shares them, as with CLONE_SYSVSEM) and applied when it exits.
 * Sleeps end with EIDRM when the array is removed, EAGAIN at the timeout and EINTR on a signal
 * (semop is never restarted).
 */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Process, Task } from '../task';
import { readTimespec } from '../time/timespec';
import { copyIn, copyOut, type UserAddr } from '../uaccess';
import { WaitQueue } from '../wait';
import {
  IPC_INFO,
  IPC_NOWAIT,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  IpcIds,
  IpcObject,
  S_IRUGO,
  S_IWUGO,
  ctlTarget,
  statTarget,
  ipcGet,
  ipcPerms,
  nowSec,
  perVm,
  putLong,
  putPerm,
  setPerm,
} from './namespace';

/** Limits (/proc/sys/kernel/sem: semmsl semmns semopm semmni) and SEMVMX/SEMAEM. */
export const SEMMSL = 32000;
export const SEMMNS = 1024000000;
export const SEMOPM = 500;
export const SEMMNI = 32000;
export const SEMVMX = 32767;
const SEMAEM = SEMVMX;
const SEMUSZ = 20;

const GETPID = 11;
const GETVAL = 12;
const GETALL = 13;
const GETNCNT = 14;
const GETZCNT = 15;
const SETVAL = 16;
const SETALL = 17;
const SEM_STAT = 18;
const SEM_INFO = 19;
const SEM_STAT_ANY = 20;

const SEM_UNDO = 0x1000;

const SEMID64_DS_SIZE = 88;
const SEMINFO_SIZE = 40;
const SEMBUF_SIZE = 6;

interface SemOp {
  num: number;
  op: number;
  flg: number;
}

/** A sleeping semop (struct sem_queue). */
interface Pending {
  ops: SemOp[];
  undo: Undo | null;
  pid: number;
  /** The operation that blocked last (GETNCNT/GETZCNT count it). */
  blocking: SemOp;
  /** Set when the operation completed (0) or failed for good (errno). */
  status: number | null;
  wq: WaitQueue;
}

/** One process's adjustments for one array (struct sem_undo). */
interface Undo {
  arr: SemArray;
  adj: Int32Array;
}

class SemArray extends IpcObject {
  readonly vals: Uint16Array;
  readonly pids: Int32Array;
  otime = 0;
  readonly pending: Pending[] = [];

  constructor(key: number, t: Task, flags: number, now: number, nsems: number) {
    super(key, t, flags, now);
    this.vals = new Uint16Array(nsems);
    this.pids = new Int32Array(nsems);
  }

  get nsems(): number {
    return this.vals.length;
  }
}

class SemNamespace {
  readonly ids = new IpcIds<SemArray>(() => SEMMNI);
  usedSems = 0;
  /** SEM_UNDO lists by process (thread groups share one). */
  readonly undos = new Map<Process, Map<SemArray, Undo>>();
}

const ns = perVm(() => new SemNamespace());

function sysSemget(k: Kernel, t: Task, key: number, nsems: number, flags: number): number {
  if (nsems < 0 || nsems > SEMMSL) return -Errno.EINVAL;
  const n = ns(k);
  return ipcGet(
    n.ids,
    t,
    key,
    flags,
    () => {
      if (nsems === 0) throw new KernelError(Errno.EINVAL);
      if (n.usedSems + nsems > SEMMNS) throw new KernelError(Errno.ENOSPC);
      const arr = new SemArray(key, t, flags, nowSec(k), nsems);
      n.usedSems += nsems;
      return arr;
    },
    (arr) => {
      if (nsems > arr.nsems) throw new KernelError(Errno.EINVAL);
    },
  );
}

/**
 * perform_atomic_semop: applies every operation in order or none. 0: done; 1: would block
 * (`q.blocking` names the operation); -errno: EAGAIN (IPC_NOWAIT) or ERANGE.
 */
function tryOps(arr: SemArray, ops: SemOp[], undo: Undo | null, pid: number, q?: { blocking: SemOp }): number {
  const vals = arr.vals;
  const saved = vals.slice();
  const savedAdj = undo?.adj.slice();
  let r = 0;
  for (const s of ops) {
    const cur = vals[s.num];
    let result = cur + s.op;
    if ((s.op === 0 && cur !== 0) || result < 0) {
      if (q) q.blocking = s;
      r = s.flg & IPC_NOWAIT ? -Errno.EAGAIN : 1;
      break;
    }
    if (result > SEMVMX) {
      r = -Errno.ERANGE;
      break;
    }
    if (s.flg & SEM_UNDO && undo) {
      const u = undo.adj[s.num] - s.op;
      if (u < -SEMAEM - 1 || u > SEMAEM) {
        r = -Errno.ERANGE;
        break;
      }
      undo.adj[s.num] = u;
    }
    vals[s.num] = result;
    result = 0;
  }
  if (r !== 0) {
    vals.set(saved);
    if (undo && savedAdj) undo.adj.set(savedAdj);
    return r;
  }
  for (const s of ops) arr.pids[s.num] = pid;
  return 0;
}

/** update_queue: retries the sleepers in order after a change until none can proceed. */
function updateQueue(k: Kernel, arr: SemArray): void {
  let again = true;
  while (again) {
    again = false;
    for (const p of [...arr.pending]) {
      const r = tryOps(arr, p.ops, p.undo, p.pid, p);
      if (r === 1) continue;
      arr.pending.splice(arr.pending.indexOf(p), 1);
      p.status = r < 0 ? -r : 0;
      p.wq.wakeAll();
      if (r === 0) {
        arr.otime = nowSec(k);
        if (p.ops.some((s) => s.op !== 0)) {
          again = true;
          break;
        }
      }
    }
  }
}

function undoFor(n: SemNamespace, p: Process, arr: SemArray): Undo {
  let list = n.undos.get(p);
  if (list === undefined) {
    list = new Map();
    n.undos.set(p, list);
  }
  let u = list.get(arr);
  if (u === undefined) {
    u = { arr, adj: new Int32Array(arr.nsems) };
    list.set(arr, u);
  }
  return u;
}

async function sysSemtimedop(
  k: Kernel,
  t: Task,
  id: number,
  sops: UserAddr,
  nsops: number,
  timeout: UserAddr | null,
): Promise<number> {
  if (nsops < 1 || id < 0) return -Errno.EINVAL;
  if (nsops > SEMOPM) return -Errno.E2BIG;
  const raw = copyIn(t.mm.as, sops, nsops * SEMBUF_SIZE);
  const v = new DataView(raw.buffer);
  const ops: SemOp[] = [];
  for (let i = 0; i < nsops; i++)
    ops.push({
      num: v.getUint16(i * 6, true),
      op: v.getInt16(i * 6 + 2, true),
      flg: v.getInt16(i * 6 + 4, true),
    });
  let deadline: number | null = null;
  if (timeout !== null) {
    const ts = readTimespec(t.mm.as, timeout);
    deadline = k.clock.monotonicNs() + ts.sec * 1e9 + ts.nsec;
  }
  const n = ns(k);
  const arr = n.ids.obtain(id);
  let max = 0;
  let alter = false;
  let undos = false;
  for (const s of ops) {
    if (s.num > max) max = s.num;
    if (s.op !== 0) alter = true;
    if (s.flg & SEM_UNDO) undos = true;
  }
  if (max >= arr.nsems) return -Errno.EFBIG;
  if (!ipcPerms(t, arr, alter ? S_IWUGO : S_IRUGO)) return -Errno.EACCES;
  const undo = undos ? undoFor(n, t.process, arr) : null;
  const q: Pending = {
    ops,
    undo,
    pid: t.pid,
    blocking: ops[0],
    status: null,
    wq: new WaitQueue(),
  };
  const r = tryOps(arr, ops, undo, t.pid, q);
  if (r < 0) return r;
  if (r === 0) {
    arr.otime = nowSec(k);
    if (alter) updateQueue(k, arr);
    return 0;
  }
  arr.pending.push(q);
  let outcome: 'woken' | 'timeout' = 'woken';
  try {
    outcome = await t.sleep([q.wq], deadline === null ? undefined : (fire) => k.addTimer(deadline, fire), (x) =>
      k.cancelTimer(x),
    );
  } catch (e) {
    if (q.status === null) {
      if (e instanceof KernelError && e.errno === Errno.ERESTARTSYS) q.status = Errno.EINTR;
      else throw e;
    }
  } finally {
    const at = arr.pending.indexOf(q);
    if (at >= 0) arr.pending.splice(at, 1);
  }
  if (q.status === null) return outcome === 'timeout' ? -Errno.EAGAIN : -Errno.EINTR;
  return -q.status;
}

/** Wakes every sleeper with EIDRM and forgets the array (freeary). */
function removeArray(n: SemNamespace, arr: SemArray): void {
  n.ids.remove(arr);
  n.usedSems -= arr.nsems;
  for (const p of arr.pending.splice(0)) {
    p.status = Errno.EIDRM;
    p.wq.wakeAll();
  }
  for (const list of n.undos.values()) list.delete(arr);
}

/** Clears every process's adjustment of semaphore `num` (or all: -1) after SETVAL/SETALL. */
function clearUndos(n: SemNamespace, arr: SemArray, num: number): void {
  for (const list of n.undos.values()) {
    const u = list.get(arr);
    if (u === undefined) continue;
    if (num < 0) u.adj.fill(0);
    else u.adj[num] = 0;
  }
}

function countWaiters(arr: SemArray, num: number, zero: boolean): number {
  let c = 0;
  for (const p of arr.pending) if (p.blocking.num === num && (zero ? p.blocking.op === 0 : p.blocking.op < 0)) c++;
  return c;
}

function statArray(arr: SemArray): Uint8Array {
  const b = new Uint8Array(SEMID64_DS_SIZE);
  const v = new DataView(b.buffer);
  putPerm(v, 0, arr);
  putLong(v, 48, arr.otime);
  putLong(v, 56, arr.ctime);
  putLong(v, 64, arr.nsems);
  return b;
}

function sysSemctl(k: Kernel, t: Task, id: number, num: number, cmd: number, arg: bigint): number {
  if (id < 0) return -Errno.EINVAL;
  const n = ns(k);
  const as = t.mm.as;
  const ptr = Number(BigInt.asUintN(48, arg)) as UserAddr;
  const ptrBad = arg >= 1n << 48n;
  const buf = (): UserAddr => {
    if (ptrBad) throw new KernelError(Errno.EFAULT);
    return ptr;
  };
  switch (cmd) {
    case IPC_INFO:
    case SEM_INFO: {
      const b = new Uint8Array(SEMINFO_SIZE);
      const v = new DataView(b.buffer);
      const info = cmd === SEM_INFO;
      const vals = [
        SEMMNS,
        SEMMNI,
        SEMMNS,
        SEMMNS,
        SEMMSL,
        SEMOPM,
        SEMOPM,
        info ? n.ids.inUse : SEMUSZ,
        SEMVMX,
        info ? n.usedSems : SEMAEM,
      ];
      vals.forEach((x, i) => v.setInt32(i * 4, x, true));
      copyOut(as, buf(), b);
      return Math.max(n.ids.maxIdx, 0);
    }
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY: {
      const arr = statTarget(n.ids, t, id, cmd, SEM_STAT_ANY);
      copyOut(as, buf(), statArray(arr));
      return cmd === IPC_STAT ? 0 : arr.id;
    }
    case SETVAL: {
      const val = Number(BigInt.asIntN(32, arg));
      if (val > SEMVMX || val < 0) return -Errno.ERANGE;
      const arr = n.ids.obtain(id);
      if (num < 0 || num >= arr.nsems) return -Errno.EINVAL;
      if (!ipcPerms(t, arr, S_IWUGO)) return -Errno.EACCES;
      clearUndos(n, arr, num);
      arr.vals[num] = val;
      arr.pids[num] = t.pid;
      arr.ctime = nowSec(k);
      updateQueue(k, arr);
      return 0;
    }
    case GETALL:
    case SETALL:
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT: {
      const arr = n.ids.obtain(id);
      if (!ipcPerms(t, arr, cmd === SETALL ? S_IWUGO : S_IRUGO)) return -Errno.EACCES;
      if (cmd === GETALL) {
        copyOut(as, buf(), new Uint8Array(arr.vals.slice().buffer));
        return 0;
      }
      if (cmd === SETALL) {
        const raw = copyIn(as, buf(), arr.nsems * 2);
        const vals = new Uint16Array(raw.buffer);
        if (vals.some((x) => x > SEMVMX)) return -Errno.ERANGE;
        clearUndos(n, arr, -1);
        arr.vals.set(vals);
        arr.pids.fill(t.pid);
        arr.ctime = nowSec(k);
        updateQueue(k, arr);
        return 0;
      }
      if (num < 0 || num >= arr.nsems) return -Errno.EINVAL;
      if (cmd === GETVAL) return arr.vals[num];
      if (cmd === GETPID) return arr.pids[num];
      return countWaiters(arr, num, cmd === GETZCNT);
    }
    case IPC_SET: {
      const v = new DataView(copyIn(as, buf(), SEMID64_DS_SIZE).buffer);
      setPerm(ctlTarget(n.ids, t, id), v, nowSec(k));
      return 0;
    }
    case IPC_RMID: {
      removeArray(n, ctlTarget(n.ids, t, id));
      return 0;
    }
    default:
      return -Errno.EINVAL;
  }
}

/**
 * exit_sem: a process's SEM_UNDO adjustments are added to the semaphores (clamped to
 * 0..SEMVMX as Linux does) when its last thread exits; sleepers are retried.
 */
export function exitSem(k: Kernel, p: Process): void {
  // A VM that never used semaphores has no undo lists: do not make its namespace now.
  const n = ns.peek(k);
  if (n === undefined) return;
  const list = n.undos.get(p);
  if (list === undefined) return;
  n.undos.delete(p);
  for (const u of list.values()) {
    const arr = u.arr;
    if (arr.deleted) continue;
    for (let i = 0; i < arr.nsems; i++) {
      if (u.adj[i] === 0) continue;
      arr.vals[i] = Math.min(Math.max(arr.vals[i] + u.adj[i], 0), SEMVMX);
      arr.pids[i] = p.pid;
    }
    arr.otime = nowSec(k);
    updateQueue(k, arr);
  }
}

export const semSyscalls: SyscallDefs = {
  semget: { handler: (k, t, a) => sysSemget(k, t, a.i(0), a.i(1), a.i(2)) },
  semop: { handler: (k, t, a) => sysSemtimedop(k, t, a.i(0), a.p(1), a.u(2), null) },
  semtimedop: {
    note: 'the timeout runs on the VM clock (EAGAIN when it expires)',
    handler: (k, t, a) => {
      const ts = a.p(3);
      return sysSemtimedop(k, t, a.i(0), a.p(1), a.u(2), ts === 0 ? null : ts);
    },
  },
  semctl: {
    handler: (k, t, a) => sysSemctl(k, t, a.i(0), a.i(1), a.i(2), a.big(3)),
    note: 'IPC_STAT/SET/RMID/INFO, SEM_INFO/STAT/STAT_ANY, GET/SETVAL, GET/SETALL, GETPID/NCNT/ZCNT; SEM_UNDO applied when the process exits; fixed Linux default limits',
  },
};
