import { describe, expect, it } from 'vitest';
import { SYSCALL_NUMBERS } from './numbers';
import { SYSCALL_TABLE } from './table';

describe('syscall table', () => {
  it('has one entry per aarch64 number with the asm-generic names', () => {
    expect(SYSCALL_TABLE[63]?.name).toBe('read');
    expect(SYSCALL_TABLE[64]?.name).toBe('write');
    expect(SYSCALL_TABLE[93]?.name).toBe('exit');
    expect(SYSCALL_TABLE[94]?.name).toBe('exit_group');
    expect(SYSCALL_TABLE[139]?.name).toBe('rt_sigreturn');
    expect(SYSCALL_TABLE[220]?.name).toBe('clone');
    expect(SYSCALL_TABLE[221]?.name).toBe('execve');
    expect(SYSCALL_TABLE[222]?.name).toBe('mmap');
    expect(SYSCALL_TABLE[435]?.name).toBe('clone3');
    expect(new Set(SYSCALL_NUMBERS.map(([n]) => n)).size).toBe(SYSCALL_NUMBERS.length);
  });
  it('marks entries without handlers unsupported and gives every partial entry a note', () => {
    for (const e of SYSCALL_TABLE) {
      if (!e) continue;
      if (e.handler === null) expect(e.status).toBe('unsupported');
      else expect(e.status).not.toBe('unsupported');
      if (e.status === 'partial') expect(e.note.length).toBeGreaterThan(0);
    }
  });
  it('covers the calls a static glibc program makes at start-up', () => {
    for (const name of [
      'set_tid_address',
      'set_robust_list',
      'brk',
      'mprotect',
      'prlimit64',
      'getrandom',
      'readlinkat',
      'newfstatat',
      'write',
      'exit_group',
    ]) {
      const e = SYSCALL_TABLE.find((x) => x?.name === name);
      expect(e?.handler, name).not.toBeNull();
    }
  });
});
