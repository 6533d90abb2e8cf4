/**
 * Clock ids: the wall clocks and the CPU clocks (CLOCK_PROCESS/THREAD_CPUTIME_ID and the
 * negative ids of clock_getcpuclockid/pthread_getcpuclockid and glibc's timer_create). CPU
 * time is the instructions a process or thread ran × NS_PER_INSN (no system time: kernel work
 * costs no guest instructions).
 */
import type { Kernel } from '../kernel';
import type { Process, Task } from '../task';
import { NS_PER_INSN } from './clock';
import { SIGEV_NONE, type TimerClock } from './process-timers';

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;
export const CLOCK_MONOTONIC_RAW = 4;
export const CLOCK_REALTIME_COARSE = 5;
export const CLOCK_MONOTONIC_COARSE = 6;
export const CLOCK_BOOTTIME = 7;
export const CLOCK_REALTIME_ALARM = 8;
export const CLOCK_BOOTTIME_ALARM = 9;
export const CLOCK_TAI = 11;

/** Encoding of CPU clock ids (include/linux/posix-timers_types.h). */
const CPUCLOCK_PERTHREAD_MASK = 4;
const CPUCLOCK_CLOCK_MASK = 3;
const CPUCLOCK_MAX = 3;
const CLOCKFD = 3;
const CLOCKFD_MASK = 7;

/** Wall clocks clock_gettime knows (CLOCK_TAI equals CLOCK_REALTIME: Linux boots with a TAI offset of 0). */
export function isWallClock(id: number): boolean {
  return (id >= 0 && id <= 1) || (id >= 4 && id <= 7) || id === CLOCK_TAI;
}

export function processCpuNs(p: Process): number {
  return p.utimeInsns * NS_PER_INSN;
}

export function threadCpuNs(t: Task): number {
  return t.utimeInsns * NS_PER_INSN;
}

/**
 * What `id` measures for `t`, or null for an invalid id. Wall clocks are reported as such
 * (the caller decides which it accepts); CPU clocks name a live process or a thread of the
 * caller's process, like Linux's posix_cpu_clock_get/timer_create.
 */
export function resolveClock(k: Kernel, t: Task, id: number): TimerClock | null {
  if (id === CLOCK_PROCESS_CPUTIME_ID) return { kind: 'process', p: t.process };
  if (id === CLOCK_THREAD_CPUTIME_ID) return { kind: 'thread', t };
  if (id >= 0)
    return isWallClock(id) || id === CLOCK_REALTIME_ALARM || id === CLOCK_BOOTTIME_ALARM ? { kind: 'wall', id } : null;
  if ((id & CLOCKFD_MASK) === CLOCKFD) return null; // dynamic (fd) clocks: no such devices
  if ((id & CPUCLOCK_CLOCK_MASK) >= CPUCLOCK_MAX) return null;
  const pid = ~(id >> 3);
  if (id & CPUCLOCK_PERTHREAD_MASK) {
    const th = pid === 0 ? t : k.tasks.get(pid);
    if (!th || th.process !== t.process || th.state === 'dead') return null;
    return { kind: 'thread', t: th };
  }
  if (pid === 0) return { kind: 'process', p: t.process };
  const p = k.processes.get(pid);
  // Linux accepts only a thread-group leader's pid here
  if (!p || p.zombie || !p.leader || p.leader.tid !== pid) return null;
  return { kind: 'process', p };
}

/** Current value of a CPU clock in ns. */
export function cpuClockNs(c: TimerClock): number {
  if (c.kind === 'process') return processCpuNs(c.p);
  if (c.kind === 'thread') return threadCpuNs(c.t);
  return 0;
}

/**
 * Recomputes the earliest CPU-clock event of `p` (itimers, armed signalling CPU timers) and of
 * each of its threads (thread-clock timers); the run loop compares CPU time against these.
 */
export function recomputeCpuNext(p: Process): void {
  const pt = p.timers;
  let next = Infinity;
  for (const it of pt.cpuItimers) if (it.expiresNs > 0 && it.expiresNs < next) next = it.expiresNs;
  for (const th of p.threads) th.cpuNextNs = Infinity;
  for (const tm of pt.posix.values()) {
    if (!tm.armed || tm.queued !== null || tm.parked || tm.clock.kind === 'wall' || tm.notify === SIGEV_NONE) continue;
    if (tm.clock.kind === 'process') {
      if (tm.clock.p === p && tm.expiresNs < next) next = tm.expiresNs;
    } else if (tm.expiresNs < tm.clock.t.cpuNextNs) tm.clock.t.cpuNextNs = tm.expiresNs;
  }
  pt.cpuNextNs = next;
}
