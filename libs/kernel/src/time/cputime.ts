/**
 * CPU-time accounting for the run loop: every slice a task runs is added to its thread's and
 * process's CPU clocks, and the CPU-clock events that became due fire: ITIMER_VIRTUAL/PROF
 * (SIGVTALRM/SIGPROF), RLIMIT_CPU (SIGXCPU at the soft limit and every second after it, SIGKILL
 * at the hard limit, like Linux's check_process_timers) and CPU-clock POSIX timers.
 * `cpuBudget` ends a slice exactly at the next such event, so they fire at the instruction.
 */
import type { Kernel } from '../kernel';
import { sendSignalToProcess } from '../signal/deliver';
import { SIGKILL, SIGPROF, SIGVTALRM, SIGXCPU, SI_KERNEL } from '../signal/signals';
import { RLIMIT_CPU, RLIM_INFINITY, type Process, type Task } from '../task';
import { NS_PER_INSN } from './clock';
import { processCpuNs, recomputeCpuNext, threadCpuNs } from './cpu-clock';
import { expirePosixTimer } from './posix-timers';

/** ITIMER_VIRTUAL → SIGVTALRM, ITIMER_PROF → SIGPROF (index into ProcessTimers.cpuItimers). */
const ITIMER_SIGNALS = [SIGVTALRM, SIGPROF];

// Local copies: the two functions below run once per run-loop iteration (every slice and
// every syscall), so they read no imported bindings on their fast path.
const RLIMIT_CPU_ = RLIMIT_CPU;
const UNLIMITED = RLIM_INFINITY;

/** The RLIMIT_CPU soft limit in CPU ns (Infinity when unlimited). */
function rlimitCpuNs(p: Process): number {
  const cur = p.rlimits[RLIMIT_CPU_].cur;
  return cur >= UNLIMITED ? Infinity : cur * 1e9;
}

/** Caps a slice so it ends at the next CPU-clock event of `t` (at least one instruction). */
export function cpuBudget(t: Task, budget: number): number {
  const p = t.process;
  const pTimer = p.timers.cpuNextNs;
  if (pTimer === Infinity && t.cpuNextNs === Infinity && p.rlimits[RLIMIT_CPU_].cur >= UNLIMITED) return budget;
  const pNext = Math.min(pTimer, rlimitCpuNs(p));
  const left = Math.min(pNext - processCpuNs(p), t.cpuNextNs - threadCpuNs(t));
  if (left >= budget * NS_PER_INSN) return budget;
  return Math.max(1, Math.ceil(left / NS_PER_INSN));
}

/** Adds `insns` retired instructions to `t`'s clocks and fires what became due. */
export function accountCpu(k: Kernel, t: Task, insns: number): void {
  const p = t.process;
  p.utimeInsns += insns;
  t.utimeInsns += insns;
  const pTimer = p.timers.cpuNextNs;
  if (pTimer === Infinity && t.cpuNextNs === Infinity && p.rlimits[RLIMIT_CPU_].cur >= UNLIMITED) return;
  const pNs = processCpuNs(p);
  if (pNs >= pTimer || threadCpuNs(t) >= t.cpuNextNs || pNs >= rlimitCpuNs(p)) cpuExpiry(k, t);
}

function cpuExpiry(k: Kernel, t: Task): void {
  const p = t.process;
  const now = processCpuNs(p);
  const lim = p.rlimits[RLIMIT_CPU];
  if (lim.cur < RLIM_INFINITY && now >= lim.cur * 1e9) {
    if (lim.max < RLIM_INFINITY && now >= lim.max * 1e9) {
      sendSignalToProcess(k, p, { signo: SIGKILL, code: SI_KERNEL });
      return;
    }
    // SIGXCPU, and the soft limit moves one second on (visible in getrlimit, as on Linux)
    sendSignalToProcess(k, p, { signo: SIGXCPU, code: SI_KERNEL });
    lim.cur += 1;
  }
  p.timers.cpuItimers.forEach((it, i) => {
    if (it.expiresNs === 0 || now < it.expiresNs) return;
    it.expiresNs = it.incrNs > 0 ? it.expiresNs + it.incrNs : 0;
    sendSignalToProcess(k, p, { signo: ITIMER_SIGNALS[i], code: SI_KERNEL });
  });
  for (const tm of [...p.timers.posix.values()]) {
    if (tm.clock.kind === 'process' && now >= tm.expiresNs) expirePosixTimer(k, tm);
    else if (tm.clock.kind === 'thread' && threadCpuNs(tm.clock.t) >= tm.expiresNs) expirePosixTimer(k, tm);
  }
  recomputeCpuNext(p);
}
