import { createAddressSpace, createPhysicalMemory, guestAddr, PROT_READ, PROT_WRITE } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { Mm } from '../mm/mm';
import type { Task } from '../task';
import { createVm } from '../vm';
import { FutexTable, futexTable, futexWake } from './futex';

function setup() {
  const vm = createVm(
    { argv: ['/x'], rootfs: { kind: 'tmpfs' } },
    { stdout: () => undefined, stderr: () => undefined },
  );
  const mem = createPhysicalMemory(1 << 20);
  const mm = new Mm(createAddressSpace(mem));
  mm.as.mapAnonymous(guestAddr(0x10000), 0x1000, PROT_READ | PROT_WRITE);
  return { k: vm.kernel, mm };
}

describe('futex queues', () => {
  it('wakes at most n waiters in FIFO order, filtered by bitset', () => {
    const { k, mm } = setup();
    const table = futexTable(k);
    const woken: string[] = [];
    const key = FutexTable.key(mm, 0x10000);
    const add = (name: string, bitset: number): void =>
      table.add({ task: {} as Task, bitset, key, wake: () => woken.push(name) });
    add('a', 0b01);
    add('b', 0b10);
    add('c', 0b11);
    expect(futexWake(k, mm, 0x10000, 1, 0b10)).toBe(1);
    expect(woken).toEqual(['b']);
    expect(futexWake(k, mm, 0x10000, 10, 0xffffffff)).toBe(2);
    expect(woken).toEqual(['b', 'a', 'c']);
    expect(futexWake(k, mm, 0x10000, 10, 0xffffffff)).toBe(0);
  });
  it('keys private futexes by address space and shared pages by frame', () => {
    const { mm } = setup();
    const other = new Mm(createAddressSpace(createPhysicalMemory(1 << 20)));
    expect(FutexTable.key(mm, 0x10000)).not.toBe(FutexTable.key(other, 0x10000));
    // after fork the page is shared copy-on-write: both sides agree on the key while shared
    mm.as.write(guestAddr(0x10000), new Uint8Array([1]));
    const child = mm.fork();
    expect(FutexTable.key(child, 0x10004)).toBe(FutexTable.key(mm, 0x10004));
    // FUTEX_PRIVATE_FLAG keeps them apart
    expect(FutexTable.key(child, 0x10004, true)).not.toBe(FutexTable.key(mm, 0x10004, true));
  });
});
