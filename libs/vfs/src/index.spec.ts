/** The package index: what it exports, and the one way it may re-export. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as vfs from './index';

describe('the package index', () => {
  it('re-exports only with `export *` (a named re-export makes the CommonJS exports object dictionary-mode)', () => {
    const statements = readFileSync(join(__dirname, 'index.ts'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('//'));
    expect(statements.filter((l) => !/^export \* from '\.\/[\w/-]+';$/.test(l))).toEqual([]);
  });

  it('still exports the ext4 feature names', () => {
    expect(vfs.featureNames(0x40 | 0x80)).toEqual(expect.arrayContaining(['extent', '64bit']));
  });
});
