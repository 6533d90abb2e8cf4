import { createAddressSpace, createPhysicalMemory, guestAddr, PROT_READ, PROT_WRITE, type Cpu } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { Errno } from '../errno';
import { Mm } from '../mm/mm';
import { SyscallArgs } from '../syscalls/args';
import { Task } from '../task';
import { copyIn, userAddr } from '../uaccess';
import { createVm } from '../vm';
import { idSyscalls, RR_INTERVAL_NS } from './ids';

describe('sched_rr_get_interval', () => {
  it('writes one HZ=250 tick for the caller, EINVAL for a negative pid, ESRCH for an unknown one', async () => {
    const k = createVm(
      { argv: ['/x'], rootfs: { kind: 'tmpfs' } },
      { stdout: () => undefined, stderr: () => undefined },
    ).kernel;
    const mm = new Mm(createAddressSpace(createPhysicalMemory(1 << 20)));
    mm.as.mapAnonymous(guestAddr(0x10000), 0x1000, PROT_READ | PROT_WRITE);
    const t = Object.assign(Object.create(Task.prototype) as Task, { mm });
    const call = (pid: number, tp: number): number => {
      const regs = [BigInt.asUintN(64, BigInt(pid)), BigInt(tp)];
      const cpu = {
        getXNumber: (n: number) => Number(regs[n]),
        getW: (n: number) => Number(BigInt.asIntN(32, regs[n])),
      };
      return idSyscalls.sched_rr_get_interval.handler?.(k, t, new SyscallArgs(cpu as unknown as Cpu)) as number;
    };
    expect(RR_INTERVAL_NS).toBe(4_000_000);
    expect(call(0, 0x10000)).toBe(0);
    const ts = new DataView(copyIn(mm.as, userAddr(0x10000), 16).buffer);
    expect([ts.getBigInt64(0, true), ts.getBigInt64(8, true)]).toEqual([0n, 4_000_000n]);
    expect(call(-1, 0x10000)).toBe(-Errno.EINVAL);
    expect(call(424242, 0x10000)).toBe(-Errno.ESRCH);
  });
});
