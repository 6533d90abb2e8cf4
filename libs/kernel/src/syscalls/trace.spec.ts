import { describe, expect, it } from 'vitest';
import { Errno } from '../errno';
import { formatResult, quoteBytes } from './trace';
import { RETURN_NONE } from './types';

describe('syscall trace formatting', () => {
  it('quotes bytes with C escapes and marks what was cut', () => {
    expect(quoteBytes(new TextEncoder().encode('a"b\\c\n\t\x01\xff'))).toBe('"a\\"b\\\\c\\n\\t\\x01\\xc3\\xbf"');
    expect(quoteBytes(new Uint8Array(100).fill(0x41))).toBe(`"${'A'.repeat(64)}"...`);
    expect(quoteBytes(new Uint8Array([0x42]), true)).toBe('"B"...');
  });

  it('shows errors by name, addresses in hex, and calls that do not return as ?', () => {
    expect(formatResult('openat', -Errno.ENOENT)).toBe('-1 ENOENT');
    expect(formatResult('read', 42)).toBe('42');
    expect(formatResult('mmap', 0xfffff7ff0000)).toBe('0xfffff7ff0000');
    expect(formatResult('exit_group', RETURN_NONE)).toBe('?');
    expect(formatResult('execve', RETURN_NONE)).toBe('0');
    expect(formatResult('lseek', -5000)).toBe('-5000');
  });
});
