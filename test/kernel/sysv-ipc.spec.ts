// System V IPC (test/guest/sys_sysv_ipc.c): message queues, semaphores and shared memory
// under Lichen compared with qemu-aarch64-static (which forwards the calls to the host
// kernel), one section per run so a failure names its family.
import { describe, it } from 'vitest';
import { compareWithQemu } from './lichen';

const SECTIONS = ['msg', 'sem'];

describe('System V IPC (sys_sysv_ipc): Lichen vs qemu', () => {
  for (const section of SECTIONS) {
    it(`${section} static`, () => compareWithQemu('sys_sysv_ipc', 'static', [section]));
    it(`${section} dynamic`, () => compareWithQemu('sys_sysv_ipc', 'dynamic', [section]));
  }
});
