/** clock_gettime/getres/settime, clock_nanosleep, gettimeofday, nanosleep, getrandom. */
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyOut, type UserAddr } from '../uaccess';
import {
  CLOCK_MONOTONIC_COARSE,
  CLOCK_REALTIME,
  CLOCK_REALTIME_COARSE,
  CLOCK_TAI,
  CLOCK_THREAD_CPUTIME_ID,
  cpuClockNs,
  resolveClock,
} from './cpu-clock';
import { nsToTimespec, readTimespec, writeTimespec, writeTimeval } from './timespec';

const TIMER_ABSTIME = 1;

/** Current value of a clock, or null for an invalid clock id (CPU clocks included). */
function clockNs(k: Kernel, t: Task, id: number): { sec: number; nsec: number } | null {
  const c = resolveClock(k, t, id);
  if (!c) return null;
  if (c.kind !== 'wall') return nsToTimespec(cpuClockNs(c));
  if (c.id === CLOCK_REALTIME || c.id === CLOCK_REALTIME_COARSE || c.id === CLOCK_TAI) return k.clock.realtime();
  if (c.id > 7) return null; // the ALARM clocks need an RTC device
  return nsToTimespec(k.clock.monotonicNs());
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

export const timeSyscalls: SyscallDefs = {
  clock_gettime: {
    handler: (k, t, a) => {
      const ts = clockNs(k, t, a.i(0));
      if (!ts) return -Errno.EINVAL;
      writeTimespec(t.mm.as, a.p(1), ts);
      return 0;
    },
    note: 'CPU clocks (also clock_getcpuclockid/pthread_getcpuclockid ids) count guest instructions, 1 ns each',
  },
  clock_getres: {
    handler: (k, t, a) => {
      const id = a.i(0);
      if (!clockNs(k, t, id)) return -Errno.EINVAL;
      const p = a.p(1);
      if (p !== 0)
        writeTimespec(t.mm.as, p, {
          sec: 0,
          nsec: id === CLOCK_REALTIME_COARSE || id === CLOCK_MONOTONIC_COARSE ? 4000000 : 1,
        });
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
          id === CLOCK_REALTIME || id === CLOCK_REALTIME_COARSE || id === CLOCK_TAI
            ? k.clock.realtimeToMonotonic(req.sec, req.nsec)
            : req.sec * 1e9 + req.nsec;
        return sleepUntil(k, t, deadline, 0);
      }
      deadline = k.clock.monotonicNs() + req.sec * 1e9 + req.nsec;
      return sleepUntil(k, t, deadline, rem);
    },
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
