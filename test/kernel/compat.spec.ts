import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SYSCALL_NUMBERS, SYSCALL_TABLE } from '@lichen/kernel';
import { COMPAT_DOC, compatibilityDocument } from '../../scripts/gen-compat';

describe('docs/compatibility.md', () => {
  it('is up to date with the syscall table (run npm run docs:compat)', async () => {
    expect(readFileSync(COMPAT_DOC, 'utf8')).toBe(await compatibilityDocument());
  });
  it('lists every aarch64 syscall number exactly once', () => {
    const doc = readFileSync(COMPAT_DOC, 'utf8');
    for (const [nr, name] of SYSCALL_NUMBERS) {
      expect(doc).toContain(`\`${name}\``);
      expect(SYSCALL_TABLE[nr]?.name).toBe(name);
    }
  });
});
