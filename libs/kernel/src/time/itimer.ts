/**
 * setitimer/getitimer: ITIMER_REAL on the monotonic clock (SIGALRM), ITIMER_VIRTUAL and
 * ITIMER_PROF on the process's CPU clock (SIGVTALRM, SIGPROF; fired by cputime.ts). As on
 * Linux a CPU itimer gets one tick (TICK_NS, HZ=250) added to its first expiry, a NULL new
 * value disarms, and values are reported truncated to microseconds.
 */
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import { sendSignalToProcess } from '../signal/deliver';
import { SIGALRM, SI_KERNEL } from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import type { Process, Task } from '../task';
import { copyIn, copyOut, type UserAddr } from '../uaccess';
import { processCpuNs, recomputeCpuNext } from './cpu-clock';

const ITIMER_REAL = 0;
const ITIMER_PROF = 2;
/** One scheduler tick of a HZ=250 kernel (Debian's arm64 configuration). */
export const TICK_NS = 4_000_000;

interface ItimerValue {
  value: number;
  interval: number;
}

function armReal(k: Kernel, p: Process, valueNs: number, intervalNs: number): void {
  const it = p.itimerReal;
  if (it.timer) k.cancelTimer(it.timer);
  it.timer = null;
  it.intervalNs = intervalNs;
  if (valueNs <= 0) return;
  const fire = (): void => {
    it.timer = null;
    sendSignalToProcess(k, p, { signo: SIGALRM, code: SI_KERNEL });
    if (it.intervalNs > 0 && !p.zombie) it.timer = k.addTimer(k.clock.monotonicNs() + it.intervalNs, fire);
  };
  it.timer = k.addTimer(k.clock.monotonicNs() + valueNs, fire);
}

function current(k: Kernel, p: Process, which: number): ItimerValue {
  if (which === ITIMER_REAL) {
    const it = p.itimerReal;
    // an expired timer whose signal is on its way reads 1 us (Linux itimer_get_remaining)
    const value = it.timer ? Math.max(1000, it.timer.deadline - k.clock.monotonicNs()) : 0;
    return { value, interval: it.intervalNs };
  }
  const it = p.timers.cpuItimers[which - 1]; // ITIMER_VIRTUAL = 1, ITIMER_PROF = 2
  if (it.expiresNs === 0) return { value: 0, interval: it.incrNs };
  const now = processCpuNs(p);
  return { value: it.expiresNs > now ? it.expiresNs - now : TICK_NS, interval: it.incrNs };
}

function set(k: Kernel, p: Process, which: number, v: ItimerValue): void {
  if (which === ITIMER_REAL) {
    armReal(k, p, v.value, v.interval);
    return;
  }
  const it = p.timers.cpuItimers[which - 1];
  it.expiresNs = v.value > 0 ? processCpuNs(p) + v.value + TICK_NS : 0;
  it.incrNs = v.interval;
  recomputeCpuNext(p);
}

function encodeItimerval(v: ItimerValue): Uint8Array {
  const b = new Uint8Array(32);
  const d = new DataView(b.buffer);
  const put = (o: number, ns: number): void => {
    const us = Math.floor(ns / 1000);
    d.setBigInt64(o, BigInt(Math.floor(us / 1e6)), true);
    d.setBigInt64(o + 8, BigInt(us % 1e6), true);
  };
  put(0, v.interval);
  put(16, v.value);
  return b;
}

function decodeItimerval(t: Task, addr: UserAddr): ItimerValue | null {
  const d = new DataView(copyIn(t.mm.as, addr, 32).buffer);
  const g = (o: number): bigint => d.getBigInt64(o, true);
  const ok = (s: bigint, us: bigint): boolean => s >= 0n && us >= 0n && us < 1_000_000n;
  if (!ok(g(0), g(8)) || !ok(g(16), g(24))) return null;
  const ns = (o: number): number => Number(g(o)) * 1e9 + Number(g(o + 8)) * 1000;
  return { interval: ns(0), value: ns(16) };
}

/** An itimer that ended with its process (exit): ITIMER_REAL's kernel timer is cancelled. */
export function exitItimers(k: Kernel, p: Process): void {
  if (p.itimerReal.timer) k.cancelTimer(p.itimerReal.timer);
  p.itimerReal.timer = null;
}

export const itimerSyscalls: SyscallDefs = {
  setitimer: {
    handler: (k, t, a) => {
      const which = a.i(0);
      const newPtr = a.p(1);
      const oldPtr = a.p(2);
      if (which < ITIMER_REAL || which > ITIMER_PROF) return -Errno.EINVAL;
      const p = t.process;
      let next: ItimerValue = { value: 0, interval: 0 };
      if (newPtr !== 0) {
        const v = decodeItimerval(t, newPtr);
        if (!v) return -Errno.EINVAL;
        next = v;
      }
      const old = current(k, p, which);
      set(k, p, which, next);
      if (oldPtr !== 0) copyOut(t.mm.as, oldPtr, encodeItimerval(old));
      return 0;
    },
    note: 'ITIMER_REAL on the monotonic clock; ITIMER_VIRTUAL/PROF on the process CPU clock (instructions; no system time)',
  },
  getitimer: {
    handler: (k, t, a) => {
      const which = a.i(0);
      if (which < ITIMER_REAL || which > ITIMER_PROF) return -Errno.EINVAL;
      copyOut(t.mm.as, a.p(1), encodeItimerval(current(k, t.process, which)));
      return 0;
    },
  },
};
