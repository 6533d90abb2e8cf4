/** The package index: the one way it may re-export, and that it still exports what the service uses. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as images from './index';

describe('the package index', () => {
  it('re-exports only with `export *` (a named re-export makes the CommonJS exports object dictionary-mode)', () => {
    const statements = readFileSync(join(__dirname, 'index.ts'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('//'));
    expect(statements.filter((l) => !/^export \* from '\.\/[\w/-]+';$/.test(l))).toEqual([]);
  });

  it('still exports TransientError', () => {
    expect(new images.TransientError('x')).toBeInstanceOf(Error);
  });
});
