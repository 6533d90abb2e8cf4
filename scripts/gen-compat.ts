// Regenerates docs/compatibility.md from the kernel's syscall table (npm run docs:compat).
// With --check it exits 1 when the file is out of date instead of writing it.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as prettier from 'prettier';
import { renderCompatibility } from '../libs/kernel/src/syscalls/compat';

export const COMPAT_DOC = resolve(__dirname, '..', 'docs', 'compatibility.md');

/** The document as committed: rendered from the table, formatted by the repo's Prettier config. */
export async function compatibilityDocument(): Promise<string> {
  const options = (await prettier.resolveConfig(COMPAT_DOC)) ?? {};
  return prettier.format(renderCompatibility(), { ...options, parser: 'markdown' });
}

async function main(): Promise<void> {
  const text = await compatibilityDocument();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(COMPAT_DOC, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (current !== text) {
      console.error('docs/compatibility.md is out of date: run npm run docs:compat');
      process.exit(1);
    }
    console.log('docs/compatibility.md is up to date');
  } else {
    writeFileSync(COMPAT_DOC, text);
    console.log(`wrote ${COMPAT_DOC}`);
  }
}

if (require.main === module) void main();
