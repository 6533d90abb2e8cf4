/** Building a root filesystem tree in a host staging directory. */
import {
  chmodSync,
  existsSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './exec';

/** Joins a guest path onto the staging root, refusing anything that would leave it. */
export function inRoot(root: string, guestPath: string): string {
  const parts = guestPath.split('/').filter((p) => p && p !== '.');
  if (parts.includes('..')) throw new Error(`guest path ${guestPath} must not contain '..'`);
  return join(root, ...parts);
}

/** Unpacks each package's data (no maintainer scripts) with `dpkg-deb -x`, in order. */
export async function extractDebs(debs: readonly string[], root: string, onEach?: (deb: string, i: number) => void) {
  for (let i = 0; i < debs.length; i++) {
    onEach?.(debs[i], i);
    await run('dpkg-deb', ['-x', debs[i], root]);
  }
}

export function writeGuestFile(root: string, guestPath: string, content: string, mode = 0o644): void {
  const p = inRoot(root, guestPath);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  chmodSync(p, mode);
}

/** Writes a file only when the packages did not provide one. */
export function writeGuestFileIfMissing(root: string, guestPath: string, content: string, mode = 0o644): void {
  if (!existsSync(inRoot(root, guestPath))) writeGuestFile(root, guestPath, content, mode);
}

export function guestDir(root: string, guestPath: string, mode = 0o755): void {
  const p = inRoot(root, guestPath);
  mkdirSync(p, { recursive: true });
  chmodSync(p, mode);
}

/** Creates a symlink unless something already exists at `guestPath`. */
export function guestSymlink(root: string, guestPath: string, target: string): void {
  const p = inRoot(root, guestPath);
  try {
    lstatSync(p);
    return;
  } catch {
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync(target, p);
  }
}

export function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Moves every entry of `src` into `dst` (merging directories), then removes `src`. */
function mergeInto(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src).sort()) {
    const from = join(src, name);
    const to = join(dst, name);
    const fromStat = lstatSync(from);
    if (!lexists(to)) renameSync(from, to);
    else if (fromStat.isDirectory() && lstatSync(to).isDirectory()) mergeInto(from, to);
    else throw new Error(`usr-merge conflict: both ${from} and ${to} exist`);
  }
  rmSync(src, { recursive: true, force: true });
}

/**
 * The merged-/usr layout of Debian bookworm: /bin, /sbin and /lib are symlinks into /usr
 * (bin -> usr/bin, sbin -> usr/sbin, lib -> usr/lib). Packages still ship files under /bin
 * etc.; they are moved into /usr first.
 */
export function mergeUsr(root: string, dirs: readonly string[] = ['bin', 'sbin', 'lib']): void {
  for (const d of dirs) {
    const top = join(root, d);
    const usr = join(root, 'usr', d);
    if (lexists(top) && lstatSync(top).isDirectory()) mergeInto(top, usr);
    mkdirSync(usr, { recursive: true });
    if (!lexists(top)) symlinkSync(`usr/${d}`, top);
  }
}

export interface TreeEntry {
  /** Guest path, starting with `/`. */
  path: string;
  stat: Stats;
}

/** Every entry below `root` (not following symlinks), parents before children, sorted by name. */
export function walkTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [{ path: '/', stat: lstatSync(root) }];
  const visit = (dir: string, guest: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const host = join(dir, name);
      const g = guest === '/' ? `/${name}` : `${guest}/${name}`;
      const stat = lstatSync(host);
      out.push({ path: g, stat });
      if (stat.isDirectory()) visit(host, g);
    }
  };
  visit(root, '/');
  return out;
}

/** Sets atime and mtime of every entry (symlinks included) to `epochSeconds`. Children first. */
export function normalizeTimes(root: string, entries: readonly TreeEntry[], epochSeconds: number): void {
  for (let i = entries.length - 1; i >= 0; i--) {
    lutimesSync(inRoot(root, entries[i].path), epochSeconds, epochSeconds);
  }
}
