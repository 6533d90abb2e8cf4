/** clock_gettime/getres/nanosleep, clock_nanosleep, gettimeofday, nanosleep, setitimer/getitimer, alarm-like itimers, getrandom. */
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import { sendSignalToProcess } from '../signal/deliver';
import { SIGALRM, SI_KERNEL } from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import type { Process, Task } from '../task';
import { copyIn, copyOut, type UserAddr } from '../uaccess';
import { nsToTimespec, readTimespec, writeTimespec, writeTimeval } from './timespec';

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;
export const CLOCK_MONOTONIC_RAW = 4;
export const CLOCK_REALTIME_COARSE = 5;
export const CLOCK_MONOTONIC_COARSE = 6;
export const CLOCK_BOOTTIME = 7;
const TIMER_ABSTIME = 1;

/** Current value of a clock in ns, or null for an invalid clock id. */
function clockNs(k: Kernel, t: Task, id: number): { sec: number; nsec: number } | null {
  switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
      return k.clock.realtime();
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      return nsToTimespec(k.clock.monotonicNs());
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      return nsToTimespec(t.process.utimeInsns);
    default:
      return null;
  }
}

/** Sleeps until the monotonic deadline; signals interrupt (restart or EINTR with remaining time). */
async function sleepUntil(k: Kernel, t: Task, deadline: number, remPtr: UserAddr | 0): Promise<number> {
  while (k.clock.monotonicNs() < deadline) {
    try {
      await t.sleep(
        [],
        (fire) => k.addTimer(deadline, fire),
        (x) => k.cancelTimer(x),
      );
    } catch {
      if (remPtr !== 0) writeTimespec(t.mm.as, remPtr, nsToTimespec(Math.max(0, deadline - k.clock.monotonicNs())));
      return -Errno.EINTR;
    }
  }
  return 0;
}

function armItimer(k: Kernel, p: Process, valueNs: number, intervalNs: number): void {
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

function itimerValue(k: Kernel, p: Process): { value: number; interval: number } {
  const it = p.itimerReal;
  return { value: it.timer ? Math.max(0, it.timer.deadline - k.clock.monotonicNs()) : 0, interval: it.intervalNs };
}

function encodeItimerval(value: number, interval: number): Uint8Array {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  const us = (ns: number): [bigint, bigint] => {
    const u = Math.ceil(ns / 1000);
    return [BigInt(Math.floor(u / 1e6)), BigInt(u % 1e6)];
  };
  const [is, iu] = us(interval);
  const [vs, vu] = us(value);
  v.setBigInt64(0, is, true);
  v.setBigInt64(8, iu, true);
  v.setBigInt64(16, vs, true);
  v.setBigInt64(24, vu, true);
  return b;
}

export const timeSyscalls: SyscallDefs = {
  clock_gettime: {
    handler: (k, t, a) => {
      const ts = clockNs(k, t, a.i(0));
      if (!ts) return -Errno.EINVAL;
      writeTimespec(t.mm.as, a.p(1), ts);
      return 0;
    },
  },
  clock_getres: {
    handler: (k, t, a) => {
      const id = a.i(0);
      if (!clockNs(k, t, id)) return -Errno.EINVAL;
      const p = a.p(1);
      if (p !== 0) writeTimespec(t.mm.as, p, { sec: 0, nsec: id === 5 || id === 6 ? 4000000 : 1 });
      return 0;
    },
  },
  clock_settime: { handler: () => -Errno.EPERM, status: 'partial', note: 'the VM clock cannot be set (EPERM)' },
  settimeofday: { handler: () => -Errno.EPERM, status: 'partial', note: 'the VM clock cannot be set (EPERM)' },
  gettimeofday: {
    handler: (k, t, a) => {
      const tv = a.p(0);
      if (tv !== 0) {
        const now = k.clock.realtime();
        writeTimeval(t.mm.as, tv, now.sec, Math.floor(now.nsec / 1000));
      }
      const tz = a.p(1);
      if (tz !== 0) copyOut(t.mm.as, tz, new Uint8Array(8));
      return 0;
    },
  },
  nanosleep: {
    handler: (k, t, a) => {
      const req = readTimespec(t.mm.as, a.p(0));
      const rem = a.p(1);
      return sleepUntil(k, t, k.clock.monotonicNs() + req.sec * 1e9 + req.nsec, rem);
    },
    note: 'sleeps on the virtual clock in deterministic mode (an idle VM skips ahead)',
  },
  clock_nanosleep: {
    handler: (k, t, a) => {
      const id = a.i(0);
      const flags = a.i(1);
      const req = readTimespec(t.mm.as, a.p(2));
      const rem = a.p(3);
      if (id === CLOCK_THREAD_CPUTIME_ID) return -Errno.EINVAL;
      if (!clockNs(k, t, id)) return -Errno.EINVAL;
      let deadline: number;
      if (flags & TIMER_ABSTIME) {
        deadline =
          id === CLOCK_REALTIME || id === CLOCK_REALTIME_COARSE
            ? k.clock.realtimeToMonotonic(req.sec, req.nsec)
            : req.sec * 1e9 + req.nsec;
        return sleepUntil(k, t, deadline, 0);
      }
      deadline = k.clock.monotonicNs() + req.sec * 1e9 + req.nsec;
      return sleepUntil(k, t, deadline, rem);
    },
  },
  setitimer: {
    handler: (k, t, a) => {
      const which = a.i(0);
      const newPtr = a.p(1);
      const oldPtr = a.p(2);
      if (which !== 0) return -Errno.EINVAL;
      const p = t.process;
      const old = itimerValue(k, p);
      if (newPtr !== 0) {
        const v = new DataView(copyIn(t.mm.as, newPtr, 32).buffer);
        const g = (o: number): number => Number(v.getBigInt64(o, true));
        const iu = g(8);
        const vu = g(24);
        if (iu < 0 || iu >= 1e6 || vu < 0 || vu >= 1e6 || g(0) < 0 || g(16) < 0) return -Errno.EINVAL;
        armItimer(k, p, g(16) * 1e9 + vu * 1000, g(0) * 1e9 + iu * 1000);
      }
      if (oldPtr !== 0) copyOut(t.mm.as, oldPtr, encodeItimerval(old.value, old.interval));
      return 0;
    },
    status: 'partial',
    note: 'ITIMER_REAL only (ITIMER_VIRTUAL/PROF: EINVAL)',
  },
  getitimer: {
    handler: (k, t, a) => {
      if (a.i(0) !== 0) return -Errno.EINVAL;
      const cur = itimerValue(k, t.process);
      copyOut(t.mm.as, a.p(1), encodeItimerval(cur.value, cur.interval));
      return 0;
    },
    status: 'partial',
    note: 'ITIMER_REAL only',
  },
  getrandom: {
    handler: (k, t, a) => {
      const buf = a.p(0);
      const len = Math.min(a.x(1), 33554431);
      const flags = a.u(2);
      if (flags & ~7) return -Errno.EINVAL;
      const b = new Uint8Array(len);
      k.rng.fill(b);
      copyOut(t.mm.as, buf, b);
      return len;
    },
    note: 'seeded in deterministic mode',
  },
};
