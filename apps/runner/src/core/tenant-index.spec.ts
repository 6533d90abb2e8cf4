import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './tenant-index';

describe('listing cursors', () => {
  it('round-trip a position and look opaque', () => {
    const p = { at: 1733312345678, id: '3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e' };
    const c = encodeCursor(p);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(c).not.toContain(p.id);
    expect(decodeCursor(c)).toEqual(p);
  });

  it('refuse anything this service did not make', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64url');
    for (const bad of [
      '',
      'not a cursor!',
      b64('1733312345678'),
      b64('abc.3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e'),
      b64('1733312345678.not-an-id'),
      b64('-1.3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e'),
      b64('12345678901234567.3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e'),
      'A'.repeat(81),
    ])
      expect(decodeCursor(bad), bad).toBeNull();
  });
});
