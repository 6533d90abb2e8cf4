/** The package index: what it exports, and the one way it may re-export. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as machine from './index';
import { AddressSpaceImpl, PageCode, PhysicalMemoryImpl } from './memory';
import { CpuState } from './state';

describe('the package index', () => {
  it('public.ts names its values as consts, not re-exports (the index itself: test/packages/index-exports.spec.ts)', () => {
    const statements = readFileSync(join(__dirname, 'public.ts'), 'utf8')
      .split('\n')
      .filter((l) => /^export\b/.test(l));
    expect(statements.filter((l) => /^export (type )?\{/.test(l) && !l.startsWith('export type {'))).toEqual([]);
  });

  it('exports the same names as before, bound to the defining modules’ values', () => {
    // (StopReason is a const enum: tsc emits no value for it, the test transform does)
    expect(
      Object.keys(machine)
        .filter((k) => k !== 'StopReason')
        .sort(),
    ).toEqual(
      [
        'AArch64Cpu',
        'ALL_ROWS',
        'AddressSpaceImpl',
        'BASE_ROWS',
        'CpuState',
        'DCZ_BLOCK',
        'Decoder',
        'FAST_ROWS',
        'HWCAP',
        'ID_REGISTERS',
        'PAGE_SHIFT',
        'PAGE_SIZE',
        'PROT_EXEC',
        'PROT_NONE',
        'PROT_READ',
        'PROT_WRITE',
        'PageCode',
        'PhysicalMemoryImpl',
        'createAddressSpace',
        'createCpu',
        'createPhysicalMemory',
        'defaultDecoder',
        'guestAddr',
      ].sort(),
    );
    expect(machine.AddressSpaceImpl).toBe(AddressSpaceImpl);
    expect(machine.PageCode).toBe(PageCode);
    expect(machine.PhysicalMemoryImpl).toBe(PhysicalMemoryImpl);
    expect(machine.CpuState).toBe(CpuState);
  });
});
