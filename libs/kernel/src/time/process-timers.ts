/**
 * Per-process timer state (no behaviour here: see itimer.ts, posix-timers.ts, cputime.ts).
 * CPU times are in ns of the process's (or thread's) CPU clock: guest instructions ×
 * NS_PER_INSN, the same notion as CLOCK_PROCESS_CPUTIME_ID.
 */
import type { SigInfo } from '../signal/signals';
import type { Process, Task } from '../task';
import type { Timer } from './clock';

/** ITIMER_VIRTUAL / ITIMER_PROF: absolute CPU-clock expiry (0 = disarmed) and reload. */
export interface CpuItimer {
  expiresNs: number;
  incrNs: number;
}

/** What a POSIX timer counts: a wall clock (monotonic scale), a process's or a thread's CPU clock. */
export type TimerClock = { kind: 'wall'; id: number } | { kind: 'process'; p: Process } | { kind: 'thread'; t: Task };

export const SIGEV_SIGNAL = 0;
export const SIGEV_NONE = 1;
export const SIGEV_THREAD = 2;
export const SIGEV_THREAD_ID = 4;

/** One timer_create timer (Linux struct k_itimer). */
export interface PosixTimer {
  readonly id: number;
  readonly owner: Process;
  readonly clockId: number;
  readonly clock: TimerClock;
  readonly notify: number;
  readonly signo: number;
  readonly value: bigint;
  /** SIGEV_THREAD_ID: the thread the signal goes to; otherwise the process. */
  readonly target: Task | null;
  armed: boolean;
  /** Expiry on the timer's clock (wall clocks: monotonic ns). */
  expiresNs: number;
  intervalNs: number;
  /** Wall clocks: the scheduled kernel timer. */
  hostTimer: Timer | null;
  /** The signal queued and not yet dequeued (a periodic timer is re-armed when it is). */
  queued: SigInfo | null;
  /**
   * The signal could not be queued (ignored, target thread gone): the timer waits, neither
   * re-armed nor firing, like Linux 6.x's ignored-timer list; un-ignoring the signal queues it
   * (posix-timers.ts unparkTimers).
   */
  parked: boolean;
  /** Linux it_overrun (-1 after each re-arm) and it_overrun_last (timer_getoverrun). */
  overrun: number;
  overrunLast: number;
}

export class ProcessTimers {
  /** ITIMER_VIRTUAL (index 0) and ITIMER_PROF (index 1). */
  readonly cpuItimers: [CpuItimer, CpuItimer] = [
    { expiresNs: 0, incrNs: 0 },
    { expiresNs: 0, incrNs: 0 },
  ];
  readonly posix = new Map<number, PosixTimer>();
  nextId = 0;
  /** Earliest process-CPU-clock event (itimers, CPU timers), ns; Infinity when none. */
  cpuNextNs = Infinity;
}
