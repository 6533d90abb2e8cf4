/** The package index exports what its users read (its form: test/packages/index-exports.spec.ts). */
import { describe, expect, it } from 'vitest';
import * as images from './index';

describe('the package index', () => {
  it('still exports TransientError', () => {
    expect(new images.TransientError('x')).toBeInstanceOf(Error);
  });
});
