// System V IPC (test/guest/sys_sysv_ipc.c): message queues, semaphores and shared memory
// under Lichen compared with qemu-aarch64-static (which forwards the calls to the host
// kernel), one section per run so a failure names its family; the few cases where qemu-user
// differs from Linux are checked against fixed expectations.
import { describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';
import { compareWithQemu, runLichen } from './lichen';

const SECTIONS = ['msg', 'sem', 'shm', 'hostile'];

describe('System V IPC (sys_sysv_ipc): Lichen vs qemu', () => {
  for (const section of SECTIONS) {
    it(`${section} static`, () => compareWithQemu('sys_sysv_ipc', 'static', [section]));
    it(`${section} dynamic`, () => compareWithQemu('sys_sysv_ipc', 'dynamic', [section]));
  }
});

describe('System V IPC: Linux behaviour where qemu-user differs', () => {
  it('msg_lrpid, no IPC_64 bit in the command, empty msgsnd text, SHM_REMAP without address', async () => {
    const l = await runLichen(fixture('sys_sysv_ipc', 'static'), { args: ['linux-only'], deterministic: { seed: 1 } });
    expect(l.stdout).toBe(
      '== linux-only\n' +
        "rcv: 1 type 1 'x'\n" +
        'lrpid-is-me 1 lspid-is-me 1\n' +
        'msgctl cmd IPC_STAT|IPC_64: -1 EINVAL\n' +
        'msgsnd empty text at the end of a mapping: 0\n' +
        "empty message: 0 type 1 ''\n" +
        'SHM_REMAP without address: -1 EINVAL\n' +
        'done\n',
    );
    expect(l.exitCode).toBe(0);
  });
});

describe('System V shared memory is one copy', () => {
  it('a 16 MiB segment written by a parent and two children is allocated once', async () => {
    const bin = fixture('sys_sysv_ipc', 'static');
    const q = await runQemu(bin, { args: ['big'] });
    const l = await runLichen(bin, { args: ['big'], deterministic: { seed: 1 } });
    expect(q.stdout).toBe('== big\npages 4096 sum 6144\ndone\n');
    expect(l.stdout).toBe(q.stdout);
    expect(l.result.stats.maxMemoryBytes).toBeGreaterThan(16 << 20);
    expect(l.result.stats.maxMemoryBytes).toBeLessThan(24 << 20);
  });
});
