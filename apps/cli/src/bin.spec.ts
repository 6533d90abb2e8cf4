import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const shim = resolve(__dirname, '..', 'bin', 'lichen.js');
const scratch = mkdtempSync(join(tmpdir(), 'lichen-bin-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bin/lichen.js', () => {
  it('tells the user to run npm run build when the CLI is not built', () => {
    mkdirSync(join(scratch, 'bin'));
    copyFileSync(shim, join(scratch, 'bin', 'lichen.js'));
    const r = spawnSync(process.execPath, [join(scratch, 'bin', 'lichen.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/not built .*dist\/main\.js is missing/);
    expect(r.stderr).toMatch(/npm run build/);
  });

  it('is a node script the root package.json exposes as `lichen`', () => {
    const pkg = JSON.parse(readFileSync(resolve(__dirname, '../../../package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin.lichen).toBe('apps/cli/bin/lichen.js');
  });
});
