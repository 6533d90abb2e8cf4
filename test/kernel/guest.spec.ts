// Guest syscall programs (test/guest/sys_*.c) under Lichen, compared with qemu-aarch64-static.
import { describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';
import { runLichen } from './lichen';

describe('sys_nolibc: kernel core without libc', () => {
  it('prints the same lines and exit status as qemu', async () => {
    const bin = fixture('sys_nolibc', 'static');
    const q = await runQemu(bin);
    const l = await runLichen(bin);
    expect(l.stderr).toBe(q.stderr);
    expect(l.stdout).toBe(q.stdout);
    expect(l.exitCode).toBe(q.exitCode);
    expect(l.result.stats.unsupportedSyscalls).toEqual({ syscall_999: 1 });
    expect(l.result.stats.tasksCreated).toBe(2);
  });
});
