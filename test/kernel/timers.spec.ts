// POSIX timers, CPU itimers, RLIMIT_CPU and robust futex lists: guest programs run under
// Lichen and compared with qemu-aarch64-static, or with fixed expectations where qemu-user
// cannot be the reference (it implements no robust lists and cannot exec the guest itself).
// The fixed texts are what Linux 6.18 prints for the same sources built natively.
import { describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';
import { compareWithQemu, runLichen } from './lichen';

const compare = compareWithQemu;

describe('POSIX timers and CPU itimers (sys_timers): Lichen vs qemu', () => {
  it('static, deterministic mode', () => compare('sys_timers', 'static'));
  it('dynamic, normal mode', () => compare('sys_timers', 'dynamic'));
  it('repeats exactly in deterministic mode (output and instruction counts)', async () => {
    const bin = fixture('sys_timers', 'static');
    const a = await runLichen(bin, { deterministic: { seed: 3 } });
    const b = await runLichen(bin, { deterministic: { seed: 3 } });
    expect(a.stdout).toBe(b.stdout);
    expect(a.result.stats.instructions).toBe(b.result.stats.instructions);
    expect(a.result.stats.syscalls).toEqual(b.result.stats.syscalls);
    expect(a.result.stats.syscalls.timer_create).toBeGreaterThan(5);
  });
  // 2e9 guest instructions: RLIMIT_CPU counts CPU seconds, and a CPU second is 1e9 instructions
  it('RLIMIT_CPU: SIGXCPU at the soft limit (soft limit raised by one), SIGKILL at the hard limit', async () => {
    const bin = fixture('sys_timers', 'static');
    const q = await runQemu(bin, { args: ['cpu-limit'] });
    const l = await runLichen(bin, { args: ['cpu-limit'], deterministic: { seed: 1 } });
    const expected = 'SIGXCPU at soft limit: hits 1, soft now 2, hard 2\nchild killed by signal 9\n';
    expect(q.stdout).toBe(expected);
    expect(l.stdout).toBe(expected);
  }, 180_000);
});

describe('timers and exec, itimer tick (fixed expectations: qemu-user cannot exec the guest itself and charges its own work to the guest CPU clock)', () => {
  it('a POSIX timer dies with execve, ITIMER_REAL survives it', async () => {
    const l = await runLichen(fixture('sys_timers', 'static'), { args: ['exec'] });
    expect(l.stdout).toBe(
      'before exec: timer_gettime 0\n' +
        'after exec: timer_gettime -1 Invalid argument\n' +
        'after exec: ITIMER_REAL still armed 1\n',
    );
    expect(l.exitCode).toBe(0);
  });
  it('a fresh ITIMER_VIRTUAL reads back above its value, within one tick (Linux arms it a tick late)', async () => {
    const l = await runLichen(fixture('sys_timers', 'static'), { args: ['itimer-tick'] });
    expect(l.stdout).toBe('virtual pending (value + one tick): 1\n');
    expect(l.exitCode).toBe(0);
  });
});

describe('robust futex lists (sys_robust; fixed expectations: qemu-user returns ENOSYS for set_robust_list)', () => {
  const expected =
    'setrobust: 0\n' +
    'getrobust: 1\n' +
    'init: 0\n' +
    'lock after owner died: EOWNERDEAD\n' +
    'consistent: 0\n' +
    'unlock: 0\n' +
    'lock again: 0\n' +
    'second death: EOWNERDEAD\n' +
    'not made consistent: ENOTRECOVERABLE\n' +
    'blocked waiter: EOWNERDEAD\n' +
    'trylock after recovery: 0\n' +
    'set_robust_list 0, get_robust_list 0 same head 1 len 24\n' +
    'owned entry: OWNER_DIED 1, tid cleared 1\n' +
    'owned entry with waiters: keeps WAITERS 1, OWNER_DIED 1\n' +
    'foreign entry untouched: 1\n' +
    'pending entry: OWNER_DIED 1\n' +
    'bad length: -1 Invalid argument\n' +
    'get of no such thread: -1 No such process\n';
  for (const variant of ['static', 'dynamic'] as const) {
    it(`EOWNERDEAD, pthread_mutex_consistent, ENOTRECOVERABLE, the raw list (${variant})`, async () => {
      const l = await runLichen(fixture('sys_robust', variant), {
        deterministic: variant === 'static' ? { seed: 1 } : undefined,
      });
      expect(l.result.message ?? '', 'Lichen run message').not.toMatch(/internal|deadlock/);
      expect(l.stdout).toBe(expected);
      expect(l.exitCode).toBe(0);
    });
  }
});
