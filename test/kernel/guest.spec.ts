// Guest syscall programs (test/guest/sys_*.c), one per family, run under Lichen and compared
// with qemu-aarch64-static (the reference): stdout, stderr and exit status must be equal.
import { describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';
import { runVm } from '@lichen/kernel';
import { compareWithQemu, runLichen } from './lichen';

const FAMILIES = [
  'sys_process',
  'sys_signal',
  'sys_files',
  'sys_pipe_poll',
  'sys_events',
  'sys_socket',
  'sys_threads',
  'sys_time',
  'sys_memory',
];

/** Static variants run in deterministic mode, dynamic ones in normal mode (see compareWithQemu). */
const compare = compareWithQemu;

describe('guest syscall programs: Lichen vs qemu', () => {
  it('sys_nolibc (no libc, no FP/SIMD)', async () => {
    const bin = fixture('sys_nolibc', 'static');
    const q = await runQemu(bin);
    const l = await runLichen(bin);
    expect(l.stdout).toBe(q.stdout);
    expect(l.exitCode).toBe(q.exitCode);
    expect(l.result.stats.unsupportedSyscalls).toEqual({ syscall_999: 1 });
    expect(l.result.stats.tasksCreated).toBe(2);
  });
  for (const name of FAMILIES) {
    it(`${name} static`, () => compare(name, 'static'));
    it(`${name} dynamic`, () => compare(name, 'dynamic'));
  }
  it('sys_limits static (rlimits)', () => compare('sys_limits', 'static'));
  // Static only: qemu's own memory is part of its figures, and loading a dynamic binary already
  // takes qemu's peak past what the program's first checks expect.
  it('sys_rusage static (ru_maxrss of self, threads, children)', () => compare('sys_rusage', 'static'));
});

describe('fault addresses in siginfo (sys_fault_addr): Lichen vs qemu', () => {
  // Tagged loads/stores (TBI), a load straddling into a PROT_NONE page (si_addr is the first
  // byte of that page), a store to a read-only page and a base + offset carrying into the tag
  // byte (si_addr has the tag cleared, as Linux's untagged_addr does).
  it('si_addr and si_code match', () => compare('sys_fault_addr', 'static'));
  // (f) 0x10 - 0x20 and (g) the pointer 0xfffffffffffffe7e: the CPU reports the exact 64-bit
  // address (FaultInfo.addrHi/addrLo), so si_addr is 0xfffffffffffffff0 and 0xfffffffffffffe7e
  // as on Linux/qemu (bit 55 set: untagged_addr keeps the top byte).
  it('si_addr of an address wrapping below zero and of a negative pointer match', () =>
    compare('sys_fault_addr', 'static', ['wrap']));
});

describe('execve (fixed expectations: qemu-user cannot exec aarch64 binaries itself)', () => {
  for (const variant of ['static', 'dynamic'] as const) {
    it(`runs /proc/self/exe, passes argv/envp, closes CLOEXEC fds, follows #! (${variant})`, async () => {
      const l = await runLichen(fixture('sys_exec', variant));
      expect(l.stdout).toBe(
        'child argc=3 argv2=two env=yes\n' +
          'cloexec fd closed: 1, plain fd open: 1\n' +
          'exec status 42\n' +
          `via script: argc=3 argv1=script argv2=/tmp/s.sh\n` +
          'script status 0\n',
      );
      expect(l.exitCode).toBe(0);
    });
  }
  it('ru_maxrss: exact for threads and across fork and exec (sys_rusage with-exec)', async () => {
    const l = await runLichen(fixture('sys_rusage', 'static'), { args: ['with-exec'] });
    expect(l.stdout).toContain('after exec: maxrss >= the peak before exec: yes\n');
    expect(l.stdout).toContain('thread: RUSAGE_THREAD maxrss == RUSAGE_SELF maxrss: yes\n');
    expect(l.stdout).toContain('RUSAGE_SELF maxrss unchanged by the child: yes\n');
    expect(l.stdout).not.toContain(': no');
    expect(l.exitCode).toBe(0);
  });
});

describe('quotas and bad input', () => {
  it('stops an endless loop at the CPU-step limit (exit 152)', async () => {
    const l = await runLichen(fixture('sys_limits', 'static'), { args: ['spin'], limits: { cpuSteps: 2_000_000 } });
    expect(l.result.status).toBe('cpu_steps_exceeded');
    expect(l.exitCode).toBe(152);
    expect(l.result.message).toBe('lichen: CPU-step limit of 2000000 reached');
    expect(l.result.stats.instructions).toBe(2_000_000);
  });
  it('OOM-kills a memory hog (exit 137) and keeps the host healthy', async () => {
    const l = await runLichen(fixture('sys_limits', 'static'), { args: ['hog'], limits: { memoryBytes: 32 << 20 } });
    expect(l.result.status).toBe('memory_exceeded');
    expect(l.exitCode).toBe(137);
    expect(l.result.stats.maxMemoryBytes).toBeLessThanOrEqual(32 << 20);
  });
  it('ends a run at the wall-time limit (exit 124) and on cancellation (exit 130)', async () => {
    const bin = fixture('sys_limits', 'static');
    const timed = await runLichen(bin, { args: ['spin'], limits: { wallMs: 300 } });
    expect(timed.result.status).toBe('timed_out');
    expect(timed.exitCode).toBe(124);
    expect(timed.result.message).toBe('lichen: wall-time limit of 300 ms reached');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const cancelled = await runLichen(bin, { args: ['spin'], signal: ac.signal });
    expect(cancelled.result.status).toBe('cancelled');
    expect(cancelled.exitCode).toBe(130);
  });
  it('fails an allocation larger than the memory quota with NULL', async () => {
    const l = await runLichen(fixture('sys_limits', 'static'), {
      args: ['bigmalloc'],
      limits: { memoryBytes: 64 << 20 },
    });
    expect(l.stdout).toBe('4GiB malloc: NULL\n');
  });
  it('limits a fork bomb to the process quota (EAGAIN)', async () => {
    const l = await runLichen(fixture('sys_limits', 'static'), { args: ['forkbomb'], limits: { processes: 40 } });
    expect(l.stdout).toBe('fork failed after many children: Resource temporarily unavailable\n');
    expect(l.exitCode).toBe(0);
    expect(l.result.stats.tasksCreated).toBe(39);
  });
  it('reports a missing program (127) and a corrupt ELF (126) clearly', async () => {
    const io = { stdout: () => undefined, stderr: () => undefined };
    const missing = await runVm({ argv: ['/bin/nothing'], rootfs: { kind: 'tmpfs' } }, io);
    expect(missing.status).toBe('internal_error');
    expect(missing.cliExitCode).toBe(127);
    expect(missing.message).toMatch(/cannot execute \/bin\/nothing: ENOENT/);
    const garbage = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff);
    garbage.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
    const bad = await runVm(
      { argv: ['/bad'], rootfs: { kind: 'tmpfs' }, files: [{ path: '/bad', content: garbage, mode: 0o755 }] },
      io,
    );
    expect(bad.cliExitCode).toBe(126);
    expect(bad.message).toMatch(/ENOEXEC/);
  });
});

describe('deterministic mode', () => {
  it('gives byte-identical output and identical instruction counts for a threaded program', async () => {
    const bin = fixture('sys_threads', 'static');
    const a = await runLichen(bin, { deterministic: { seed: 7 } });
    const b = await runLichen(bin, { deterministic: { seed: 7 } });
    expect(a.stdout).toBe(b.stdout);
    expect(a.result.stats.instructions).toBe(b.result.stats.instructions);
    expect(a.result.stats.syscalls).toEqual(b.result.stats.syscalls);
  });
  it('derives time and randomness from the seed', async () => {
    const bin = fixture('sys_time', 'static');
    const a = await runLichen(bin, { deterministic: { seed: 1 } });
    const b = await runLichen(bin, { deterministic: { seed: 1 } });
    expect(a.stdout).toBe(b.stdout);
    expect(a.result.stats.instructions).toBe(b.result.stats.instructions);
    expect(a.result.stats.wallMs).toBeGreaterThan(0);
  });
});
