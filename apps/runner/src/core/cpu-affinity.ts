import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Pins every thread of process `pid` (default: this one) to the CPUs of `list` (taskset syntax,
 * e.g. `0`, `2-3,6`). Threads started later inherit the mask of the thread that starts them, so
 * a runner pinned at start-up keeps its VM threads on its CPUs too. Linux only (util-linux's
 * taskset; Node has no sched_setaffinity). Throws a message that says what to fix.
 */
export function pinProcess(list: string, pid: number = process.pid): void {
  if (process.platform !== 'linux') throw new Error(`LICHEN_RUNNER_CPUS=${list}: CPU pinning needs Linux`);
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', list, String(pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    const why =
      err.code === 'ENOENT'
        ? 'taskset is not installed (Debian package util-linux)'
        : (err.stderr?.toString('utf8').trim() || err.message).split('\n')[0];
    throw new Error(`LICHEN_RUNNER_CPUS=${list}: cannot pin the runner to those CPUs: ${why}`);
  }
}

/** The CPUs a process may run on, as the kernel reports them (`Cpus_allowed_list`). */
export function allowedCpus(pid: number = process.pid): string {
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no Cpus_allowed_list`);
  return m[1];
}
