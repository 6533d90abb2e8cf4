/**
 * The package indexes the kernel and the runner read on every VM re-export only with
 * `export *`. A named re-export (`export { X } from`) makes TypeScript define X as a data
 * property and then redefine it as a getter, which turns the CommonJS exports object into a
 * slow (dictionary-mode) object: every `pkg_1.X` read becomes a hash lookup and a getter call
 * V8 cannot inline. (libs/kernel's index is not held to this yet: the runner reads it once per
 * VM; docs/decisions.md, session 7.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');

describe('package indexes keep their exports object in V8 fast mode', () => {
  for (const lib of ['machine', 'vfs', 'images']) {
    it(`libs/${lib}/src/index.ts re-exports only with \`export * from\``, () => {
      const statements = readFileSync(join(ROOT, 'libs', lib, 'src/index.ts'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trim().startsWith('//'));
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.filter((l) => !/^export \* from '\.\/[\w/-]+';$/.test(l))).toEqual([]);
    });
  }
});
