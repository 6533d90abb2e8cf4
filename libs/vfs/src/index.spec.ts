/** The package index exports what its users read (its form: test/packages/index-exports.spec.ts). */
import { describe, expect, it } from 'vitest';
import * as vfs from './index';

describe('the package index', () => {
  it('still exports the ext4 feature names', () => {
    expect(vfs.featureNames(0x40 | 0x80)).toEqual(expect.arrayContaining(['extent', '64bit']));
  });
});
