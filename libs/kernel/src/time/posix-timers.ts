/**
 * POSIX per-process timers: timer_create, timer_settime, timer_gettime, timer_getoverrun,
 * timer_delete, as Linux 6.x (kernel/time/posix-timers.c, posix-cpu-timers.c) behaves:
 * - clocks: REALTIME, MONOTONIC, BOOTTIME, TAI and the CPU clocks (PROCESS/THREAD_CPUTIME_ID
 *   and the negative ids glibc passes); MONOTONIC_RAW/COARSE and the ALARM clocks: EOPNOTSUPP;
 * - SIGEV_SIGNAL (process-directed), SIGEV_THREAD_ID (to one thread of the caller's process),
 *   SIGEV_NONE (never fires, timer_gettime counts down) and SIGEV_THREAD (glibc builds it on
 *   SIGEV_THREAD_ID; to the kernel it is SIGEV_SIGNAL);
 * - a timer has one signal instance: while it is queued a periodic timer is not re-armed; it is
 *   re-armed when the signal is dequeued, and the periods missed meanwhile become si_overrun
 *   and timer_getoverrun (Linux posixtimer_rearm). Re-setting or deleting a timer drops its
 *   queued signal. Timers die with exit and execve and are not inherited by fork.
 */
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import { discardQueued, sendSignalToProcess, sendSignalToTask } from '../signal/deliver';
import { NSIG, SIGALRM, SI_TIMER, sigBit, type SigInfo } from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import type { Process, Task } from '../task';
import { copyIn, copyOut, writeI32, type UserAddr } from '../uaccess';
import {
  CLOCK_BOOTTIME_ALARM,
  CLOCK_MONOTONIC_COARSE,
  CLOCK_MONOTONIC_RAW,
  CLOCK_REALTIME,
  CLOCK_REALTIME_ALARM,
  CLOCK_REALTIME_COARSE,
  CLOCK_TAI,
  cpuClockNs,
  recomputeCpuNext,
  resolveClock,
} from './cpu-clock';
import { SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID, type PosixTimer } from './process-timers';

const TIMER_ABSTIME = 1;
const INT_MAX = 0x7fffffff;
/** Timers one process may hold (Linux bounds them through RLIMIT_SIGPENDING). */
export const MAX_POSIX_TIMERS = 32768;

/** Now on the timer's clock (wall clocks on the monotonic scale). */
function nowOn(k: Kernel, tm: PosixTimer): number {
  return tm.clock.kind === 'wall' ? k.clock.monotonicNs() : cpuClockNs(tm.clock);
}

/** Moves a periodic timer's expiry past `now`; returns the periods skipped (hrtimer_forward). */
function forward(tm: PosixTimer, now: number): number {
  if (tm.intervalNs <= 0 || now < tm.expiresNs) return 0;
  const n = Math.floor((now - tm.expiresNs) / tm.intervalNs) + 1;
  tm.expiresNs += n * tm.intervalNs;
  return n;
}

/** Puts the timer on the kernel timer queue or the CPU-clock check, as its state says. */
function schedule(k: Kernel, tm: PosixTimer): void {
  if (tm.hostTimer) {
    k.cancelTimer(tm.hostTimer);
    tm.hostTimer = null;
  }
  if (tm.clock.kind !== 'wall') {
    recomputeCpuNext(tm.owner);
    return;
  }
  if (!tm.armed || tm.queued !== null || tm.parked || tm.notify === SIGEV_NONE) return;
  tm.hostTimer = k.addTimer(tm.expiresNs, () => {
    tm.hostTimer = null;
    expirePosixTimer(k, tm);
  });
}

/** The timer's clock reached its expiry: queue its signal (or park it when that is impossible). */
export function expirePosixTimer(k: Kernel, tm: PosixTimer): void {
  if (!tm.armed || tm.queued !== null || tm.parked || tm.notify === SIGEV_NONE) return;
  const info: SigInfo = { signo: tm.signo, code: SI_TIMER, timerId: tm.id, overrun: 0, value: tm.value };
  info.onDequeue = (delivered) => dequeued(k, tm, info, delivered);
  tm.queued = info;
  const sent = tm.target ? sendSignalToTask(k, tm.target, info, true) : sendSignalToProcess(k, tm.owner, info, true);
  if (!sent) {
    tm.queued = null;
    if (tm.intervalNs > 0) tm.parked = true;
  }
  if (tm.intervalNs === 0) tm.armed = false;
  schedule(k, tm);
}

/**
 * Signal `sig` is no longer ignored: periodic timers of `p` parked because it was queue it now
 * (Linux posixtimer_sig_unignore); the re-arm at delivery counts the periods missed meanwhile.
 */
export function unparkTimers(k: Kernel, p: Process, sig: number): void {
  for (const tm of [...p.timers.posix.values()]) {
    if (!tm.parked || tm.signo !== sig) continue;
    tm.parked = false;
    expirePosixTimer(k, tm);
  }
}

/** The timer's signal left the queue: a periodic timer is re-armed and reports its overruns. */
function dequeued(k: Kernel, tm: PosixTimer, info: SigInfo, delivered: boolean): void {
  if (tm.queued !== info) return; // stale: the timer was re-set or deleted
  tm.queued = null;
  if (!tm.armed || tm.intervalNs === 0) return;
  if (!delivered) {
    tm.parked = true; // flushed by SIG_IGN
    return;
  }
  tm.overrun += forward(tm, nowOn(k, tm));
  tm.overrunLast = tm.overrun;
  tm.overrun = -1;
  info.overrun = Math.min(INT_MAX, tm.overrunLast);
  schedule(k, tm);
}

/** Drops the timer's queued signal, if any. */
function dropQueued(tm: PosixTimer): void {
  const q = tm.queued;
  if (!q) return;
  tm.queued = null;
  discardQueued(tm.owner, (x) => x === q, sigBit(tm.signo));
}

function currentValue(k: Kernel, tm: PosixTimer): { value: number; interval: number } {
  const interval = tm.intervalNs;
  if (!tm.armed) return { value: 0, interval };
  const now = nowOn(k, tm);
  const sigNone = tm.notify === SIGEV_NONE;
  if (interval > 0 && (tm.queued !== null || tm.parked || sigNone)) tm.overrun += forward(tm, now);
  const remaining = tm.expiresNs - now;
  if (remaining <= 0) return { value: sigNone ? 0 : 1, interval };
  return { value: remaining, interval };
}

function encodeItimerspec(v: { value: number; interval: number }): Uint8Array {
  const b = new Uint8Array(32);
  const d = new DataView(b.buffer);
  const put = (o: number, ns: number): void => {
    const sec = Math.floor(ns / 1e9);
    d.setBigInt64(o, BigInt(sec), true);
    d.setBigInt64(o + 8, BigInt(Math.floor(ns - sec * 1e9)), true);
  };
  put(0, v.interval);
  put(16, v.value);
  return b;
}

/** struct itimerspec → ns, or null when a field is not a valid timespec (EINVAL). */
function readItimerspec(t: Task, addr: UserAddr): { intervalNs: number; valueSec: number; valueNsec: number } | null {
  const d = new DataView(copyIn(t.mm.as, addr, 32).buffer);
  const isec = d.getBigInt64(0, true);
  const insec = d.getBigInt64(8, true);
  const vsec = d.getBigInt64(16, true);
  const vnsec = d.getBigInt64(24, true);
  const ok = (s: bigint, n: bigint): boolean => s >= 0n && n >= 0n && n < 1_000_000_000n;
  if (!ok(isec, insec) || !ok(vsec, vnsec)) return null;
  return { intervalNs: Number(isec) * 1e9 + Number(insec), valueSec: Number(vsec), valueNsec: Number(vnsec) };
}

function lookup(t: Task, id: number): PosixTimer | null {
  return t.process.timers.posix.get(id) ?? null;
}

function timerCreate(k: Kernel, t: Task, clockId: number, sevp: UserAddr, idPtr: UserAddr): number {
  // like Linux: the sigevent is copied in (EFAULT) before the clock is looked at
  const sev = sevp !== 0 ? new DataView(copyIn(t.mm.as, sevp, 64).buffer) : null;
  const clock = resolveClock(k, t, clockId);
  if (!clock) return -Errno.EINVAL;
  if (clock.kind === 'wall') {
    const id = clock.id;
    if (id === CLOCK_MONOTONIC_RAW || id === CLOCK_REALTIME_COARSE || id === CLOCK_MONOTONIC_COARSE)
      return -Errno.EOPNOTSUPP;
    if (id === CLOCK_REALTIME_ALARM || id === CLOCK_BOOTTIME_ALARM) return -Errno.EOPNOTSUPP; // no RTC device
  } else if (clock.kind === 'process' && clock.p !== t.process) return -Errno.EINVAL;
  const pt = t.process.timers;
  let notify = SIGEV_SIGNAL;
  let signo = SIGALRM;
  let value: bigint | null = null;
  let target: Task | null = null;
  if (sev !== null) {
    const d = sev;
    value = d.getBigInt64(0, true);
    signo = d.getInt32(8, true);
    notify = d.getInt32(12, true);
    if (notify === SIGEV_THREAD_ID) {
      const th = k.tasks.get(d.getInt32(16, true));
      if (!th || th.process !== t.process || th.state === 'dead' || th.state === 'zombie') return -Errno.EINVAL;
      target = th;
    }
    if (notify === SIGEV_SIGNAL || notify === SIGEV_THREAD || notify === SIGEV_THREAD_ID) {
      if (signo <= 0 || signo > NSIG) return -Errno.EINVAL;
    } else if (notify !== SIGEV_NONE) return -Errno.EINVAL;
  }
  if (pt.posix.size >= MAX_POSIX_TIMERS) return -Errno.EAGAIN;
  let id = pt.nextId;
  while (pt.posix.has(id)) id = id >= INT_MAX ? 0 : id + 1;
  pt.nextId = id >= INT_MAX ? 0 : id + 1;
  writeI32(t.mm.as, idPtr, id);
  pt.posix.set(id, {
    id,
    owner: t.process,
    clockId,
    clock,
    notify,
    signo,
    value: value ?? BigInt(id),
    target,
    armed: false,
    expiresNs: 0,
    intervalNs: 0,
    hostTimer: null,
    queued: null,
    parked: false,
    overrun: -1,
    overrunLast: 0,
  });
  return 0;
}

function timerSettime(k: Kernel, t: Task, id: number, flags: number, newPtr: UserAddr, oldPtr: UserAddr): number {
  if (newPtr === 0) return -Errno.EINVAL;
  const spec = readItimerspec(t, newPtr);
  const tm = lookup(t, id);
  if (!tm || !spec) return -Errno.EINVAL;
  const old = currentValue(k, tm);
  dropQueued(tm);
  tm.armed = false;
  tm.parked = false;
  tm.overrun = -1;
  tm.overrunLast = 0;
  tm.intervalNs = 0;
  const valueNs = spec.valueSec * 1e9 + spec.valueNsec;
  if (valueNs > 0) {
    tm.intervalNs = spec.intervalNs;
    const now = nowOn(k, tm);
    if (!(flags & TIMER_ABSTIME)) tm.expiresNs = now + valueNs;
    else if (tm.clockId === CLOCK_REALTIME || tm.clockId === CLOCK_TAI)
      tm.expiresNs = k.clock.realtimeToMonotonic(spec.valueSec, spec.valueNsec);
    else tm.expiresNs = valueNs;
    tm.armed = true;
    // a CPU timer already due fires at once (Linux posix_cpu_timer_set); wall timers fire at
    // the next timer check, before the caller runs another instruction
    if (tm.clock.kind !== 'wall' && tm.expiresNs <= now) expirePosixTimer(k, tm);
  }
  schedule(k, tm);
  if (oldPtr !== 0) copyOut(t.mm.as, oldPtr, encodeItimerspec(old));
  return 0;
}

function deleteTimer(k: Kernel, tm: PosixTimer): void {
  tm.armed = false;
  dropQueued(tm);
  tm.owner.timers.posix.delete(tm.id);
  schedule(k, tm);
}

/** exit (the last thread) and execve: every POSIX timer of the process is deleted. */
export function exitPosixTimers(k: Kernel, p: Process): void {
  if (p.timers.posix.size === 0) return;
  for (const tm of [...p.timers.posix.values()]) deleteTimer(k, tm);
}

export const posixTimerSyscalls: SyscallDefs = {
  timer_create: {
    handler: (k, t, a) => timerCreate(k, t, a.i(0), a.p(1), a.p(2)),
    status: 'partial',
    note: "REALTIME/MONOTONIC/BOOTTIME/TAI and CPU clocks; SIGEV_SIGNAL/NONE/THREAD_ID (glibc SIGEV_THREAD); MONOTONIC_RAW/COARSE and ALARM clocks EOPNOTSUPP; another process's CPU clock EINVAL; at most 32768 timers (EAGAIN)",
  },
  timer_settime: {
    handler: (k, t, a) => timerSettime(k, t, a.i(0), a.i(1), a.p(2), a.p(3)),
    note: 'relative/TIMER_ABSTIME, periodic re-arm at signal dequeue with overrun counting',
  },
  timer_gettime: {
    handler: (k, t, a) => {
      const tm = lookup(t, a.i(0));
      if (!tm) return -Errno.EINVAL;
      copyOut(t.mm.as, a.p(1), encodeItimerspec(currentValue(k, tm)));
      return 0;
    },
  },
  timer_getoverrun: {
    handler: (_k, t, a) => {
      const tm = lookup(t, a.i(0));
      if (!tm) return -Errno.EINVAL;
      return Math.min(INT_MAX, Math.max(0, tm.overrunLast));
    },
  },
  timer_delete: {
    handler: (k, t, a) => {
      const tm = lookup(t, a.i(0));
      if (!tm) return -Errno.EINVAL;
      deleteTimer(k, tm);
      return 0;
    },
  },
};
