// CPU-time accounting on a real Process/Task with a stand-in kernel: RLIMIT_CPU repeats SIGXCPU
// every CPU second past the soft limit and kills at the hard limit (what the guest test, at 2e9
// instructions, can only show once), CPU itimer reload, and slices ending at the next event.
import { describe, expect, it } from 'vitest';
import type { FsContext } from '@lichen/vfs';
import type { FdTable } from '../fs/file';
import type { Kernel } from '../kernel';
import type { Mm } from '../mm/mm';
import { SIGKILL, SIGPROF, SIGVTALRM, SIGXCPU, sigBit } from '../signal/signals';
import { FsState, Process, RLIMIT_CPU, RLIM_INFINITY, SigHandlers, Task, type Creds } from '../task';
import { recomputeCpuNext } from './cpu-clock';
import { accountCpu, cpuBudget } from './cputime';

const SEC = 1e9; // instructions per CPU second (NS_PER_INSN = 1)

function setup(): { k: Kernel; p: Process; t: Task; killed: number[] } {
  const killed: number[] = [];
  const stub = {
    signalFds: new Set(),
    kick: () => undefined,
    killProcess: (_p: Process, sig: number) => killed.push(sig),
  };
  const k = stub as unknown as Kernel;
  const creds = { uid: 0, euid: 0, suid: 0, fsuid: 0, gid: 0, egid: 0, sgid: 0, fsgid: 0, groups: [] } as Creds;
  const rl = Array.from({ length: 16 }, () => ({ cur: RLIM_INFINITY, max: RLIM_INFINITY }));
  const p = new Process(1, creds, new FsState({} as FsContext), rl, 17, 'spin');
  const t = new Task(1, p, {} as Mm, {} as FdTable, new SigHandlers());
  p.threads.add(t);
  return { k, p, t, killed };
}

/** Takes the pending process signals (as if delivered) and returns them. */
function take(p: Process): number[] {
  const sigs = p.sharedQueue.map((i) => i.signo);
  p.sharedQueue.length = 0;
  p.sharedPending = 0n;
  return sigs;
}

describe('CPU-time accounting', () => {
  it('RLIMIT_CPU: SIGXCPU at the soft limit and every second after, SIGKILL at the hard limit', () => {
    const { k, p, t, killed } = setup();
    p.rlimits[RLIMIT_CPU] = { cur: 1, max: 3 };
    expect(cpuBudget(t, 200_000)).toBe(200_000);
    accountCpu(k, t, SEC - 10);
    expect(cpuBudget(t, 200_000)).toBe(10); // the slice ends exactly at the soft limit
    expect(take(p)).toEqual([]);
    accountCpu(k, t, 10);
    expect(take(p)).toEqual([SIGXCPU]);
    expect(p.rlimits[RLIMIT_CPU].cur).toBe(2);
    accountCpu(k, t, SEC / 2);
    expect(take(p)).toEqual([]);
    accountCpu(k, t, SEC / 2);
    expect(take(p)).toEqual([SIGXCPU]);
    expect(p.rlimits[RLIMIT_CPU].cur).toBe(3);
    expect(killed).toEqual([]);
    accountCpu(k, t, SEC);
    expect(killed).toEqual([SIGKILL]);
    expect(take(p)).toEqual([]);
  });

  it('ITIMER_VIRTUAL and ITIMER_PROF reload by their interval; one-shot timers disarm', () => {
    const { k, p, t } = setup();
    const [virt, prof] = p.timers.cpuItimers;
    virt.expiresNs = 1000;
    virt.incrNs = 500;
    prof.expiresNs = 1200;
    recomputeCpuNext(p);
    expect(cpuBudget(t, 5000)).toBe(1000);
    accountCpu(k, t, 1000);
    expect(take(p)).toEqual([SIGVTALRM]);
    expect(virt.expiresNs).toBe(1500);
    expect(cpuBudget(t, 5000)).toBe(200);
    accountCpu(k, t, 200);
    expect(take(p)).toEqual([SIGPROF]);
    expect(prof.expiresNs).toBe(0);
    accountCpu(k, t, 300);
    expect(take(p)).toEqual([SIGVTALRM]);
    expect(virt.expiresNs).toBe(2000);
    expect(p.utimeInsns).toBe(1500);
    expect(t.utimeInsns).toBe(1500);
  });

  it('a blocked standard signal stays one pending instance', () => {
    const { k, p, t } = setup();
    t.sigmask = sigBit(SIGVTALRM);
    p.timers.cpuItimers[0].expiresNs = 10;
    p.timers.cpuItimers[0].incrNs = 10;
    recomputeCpuNext(p);
    for (let i = 0; i < 5; i++) accountCpu(k, t, 10);
    expect(take(p)).toEqual([SIGVTALRM]);
  });
});
