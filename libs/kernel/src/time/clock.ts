/**
 * The VM's clocks. Deterministic mode: CLOCK_MONOTONIC is the instruction count at 1 ns per
 * instruction plus the time an idle VM skipped; CLOCK_REALTIME is a fixed epoch plus that.
 * Normal mode: both follow the host.
 */
/** 2024-01-01T00:00:00Z: the realtime epoch of deterministic runs. */
export const DETERMINISTIC_EPOCH_SEC = 1704067200;
export const NS_PER_INSN = 1;

export class VmClock {
  private skippedNs = 0;
  private readonly hostStart = process.hrtime();
  private readonly hostEpochMs = Date.now();

  constructor(
    readonly deterministic: boolean,
    private readonly instructions: () => number,
  ) {}

  /** CLOCK_MONOTONIC / CLOCK_BOOTTIME in ns since boot. */
  monotonicNs(): number {
    if (this.deterministic) return this.instructions() * NS_PER_INSN + this.skippedNs;
    const [s, ns] = process.hrtime(this.hostStart);
    return s * 1e9 + ns;
  }

  /** CLOCK_REALTIME as (sec, nsec). */
  realtime(): { sec: number; nsec: number } {
    const mono = this.monotonicNs();
    if (this.deterministic) return { sec: DETERMINISTIC_EPOCH_SEC + Math.floor(mono / 1e9), nsec: mono % 1e9 };
    const ms = this.hostEpochMs + mono / 1e6;
    const sec = Math.floor(ms / 1000);
    return { sec, nsec: Math.floor((ms - sec * 1000) * 1e6) };
  }

  /** Converts a CLOCK_REALTIME deadline to the monotonic scale. */
  realtimeToMonotonic(sec: number, nsec: number): number {
    const now = this.realtime();
    return this.monotonicNs() + (sec - now.sec) * 1e9 + (nsec - now.nsec);
  }

  /** Deterministic idle: jump forward to `ns` (never backwards). */
  advanceTo(ns: number): void {
    const now = this.monotonicNs();
    if (ns > now) this.skippedNs += ns - now;
  }
}

/** A timer list ordered by deadline (monotonic ns). */
export interface Timer {
  deadline: number;
  fire: () => void;
  cancelled: boolean;
}

export class TimerQueue {
  private list: Timer[] = [];
  add(deadline: number, fire: () => void): Timer {
    const t: Timer = { deadline, fire, cancelled: false };
    let i = this.list.length;
    while (i > 0 && this.list[i - 1].deadline > deadline) i--;
    this.list.splice(i, 0, t);
    return t;
  }
  cancel(t: Timer): void {
    t.cancelled = true;
    const i = this.list.indexOf(t);
    if (i >= 0) this.list.splice(i, 1);
  }
  next(): Timer | undefined {
    return this.list[0];
  }
  /** Fires every timer due at `now`; returns how many fired. */
  fireDue(now: number): number {
    let n = 0;
    while (this.list.length && this.list[0].deadline <= now) {
      const t = this.list.shift() as Timer;
      if (!t.cancelled) {
        n++;
        t.fire();
      }
    }
    return n;
  }
  get size(): number {
    return this.list.length;
  }
  /** Forgets every timer without firing it (the run is over). */
  clear(): void {
    this.list = [];
  }
}
