import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `lichen-${prefix}-`));
}

/** A file of `size` random bytes. */
export function randomFile(dir: string, name: string, size: number): string {
  const p = join(dir, name);
  writeFileSync(p, randomBytes(size));
  return p;
}

/**
 * An ext4 image built with `mke2fs -d` from a generated tree that mimics the parts of a
 * Debian arm64 root a dynamically linked /usr/bin/true touches: the aarch64 cross libc
 * and loader from /usr/aarch64-linux-gnu (real files), a real aarch64 `true` when the
 * cross compiler is present, plus `filler` bytes of unrelated files.
 */
export function buildExt4Image(opts: { sizeMiB: number; fillerMiB?: number; extraArgs?: string[]; name?: string }): {
  image: string;
  tree: string;
} {
  const dir = tempDir('ext4');
  const tree = join(dir, 'root');
  for (const d of ['usr/bin', 'usr/lib/aarch64-linux-gnu', 'etc', 'var/lib/filler'])
    mkdirSync(join(tree, d), { recursive: true });
  symlinkSync('usr/lib', join(tree, 'lib'));
  symlinkSync('usr/bin', join(tree, 'bin'));
  writeFileSync(join(tree, 'etc/hostname'), 'lichen\n');
  const sysroot = '/usr/aarch64-linux-gnu/lib';
  for (const f of ['ld-linux-aarch64.so.1', 'libc.so.6']) {
    const src = join(sysroot, f);
    if (existsSync(src)) copyFileSync(src, join(tree, 'usr/lib/aarch64-linux-gnu', f));
    else writeFileSync(join(tree, 'usr/lib/aarch64-linux-gnu', f), randomBytes(700_000));
  }
  symlinkSync('aarch64-linux-gnu/ld-linux-aarch64.so.1', join(tree, 'usr/lib/ld-linux-aarch64.so.1'));
  const trueC = join(dir, 'true.c');
  writeFileSync(trueC, 'int main(void) { return 0; }\n');
  try {
    execFileSync('aarch64-linux-gnu-gcc', ['-O2', '-o', join(tree, 'usr/bin/true'), trueC], { stdio: 'pipe' });
  } catch {
    writeFileSync(join(tree, 'usr/bin/true'), randomBytes(70_000));
  }
  chmodSync(join(tree, 'usr/bin/true'), 0o755);
  const filler = opts.fillerMiB ?? 0;
  for (let i = 0; i < filler; i++) {
    const p = join(tree, 'var/lib/filler', `f${i}.bin`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, randomBytes(1024 * 1024));
  }
  const image = join(dir, opts.name ?? 'root.ext4');
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', ...(opts.extraArgs ?? []), '-d', tree, image, `${opts.sizeMiB}M`], {
    stdio: 'pipe',
    env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' },
  });
  return { image, tree };
}
