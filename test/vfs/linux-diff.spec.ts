/**
 * Differential test against the host's Linux kernel: the same seeded sequence of namespace
 * operations runs on a host tmpfs directory (as root) and on a Lichen tmpfs, and every result
 * (success or errno name) must be the same.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  Errno,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  Ext4Fs,
  FileBlockDevice,
  type FsContext,
  OverlayFs,
  TmpFs,
  Vfs,
} from '@lichen/vfs';
import { buildImage, FEATURE_SETS, prng } from './support/images';

const C = fs.constants;
const PATHS = [
  'a',
  'b',
  'd',
  'd/x',
  'd/y',
  'd/x/z',
  'e',
  'l',
  'm',
  'a/',
  'd/',
  'nope/x',
  'd/../a',
  'l/x',
  'd/x/',
  'e/../d',
  'l/',
];
const TARGETS = ['a', 'd', 'd/x', 'nope', 'l', 'm', '../base/a'];
// [lichen flags, host flags, label]
const OPEN_FLAGS: [number, number, string][] = [
  [O_RDONLY, C.O_RDONLY, 'RDONLY'],
  [O_WRONLY | O_CREAT, C.O_WRONLY | C.O_CREAT, 'WRONLY|CREAT'],
  [O_RDWR | O_CREAT | O_EXCL, C.O_RDWR | C.O_CREAT | C.O_EXCL, 'RDWR|CREAT|EXCL'],
  [O_RDONLY | O_DIRECTORY, C.O_RDONLY | C.O_DIRECTORY, 'RDONLY|DIRECTORY'],
  [O_WRONLY | O_TRUNC, C.O_WRONLY | C.O_TRUNC, 'WRONLY|TRUNC'],
  [O_RDONLY | O_NOFOLLOW, C.O_RDONLY | C.O_NOFOLLOW, 'RDONLY|NOFOLLOW'],
  [O_RDWR, C.O_RDWR, 'RDWR'],
  [O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY, C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_WRONLY, 'CREAT|EXCL|NOFOLLOW'],
];

type Res = string;
/** Runs fn with the effective uid/gid 1000 (both threads of glibc's setxid broadcast). */
function asHostUser<T>(fn: () => T): T {
  process.setegid!(1000);
  process.seteuid!(1000);
  try {
    return fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
  }
}

const hostResRoot = (fn: () => unknown): Res => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};
const vfsRes = async (p: Promise<unknown>): Promise<Res> => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return Errno[(e as { errno: number }).errno] ?? String(e);
  }
};

describe('namespace operations agree with the host Linux kernel', () => {
  // Root's supplementary groups would otherwise follow the unprivileged operations.
  process.setgroups?.([]);
  const base = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'lichen-diff-'));
  fs.chmodSync(base, 0o755); // the unprivileged operations must reach the test directories
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  for (let seed = 1; seed <= 20; seed++) {
    it(`tmpfs, seed ${seed}: 300 random operations`, async () => {
      const hostDir = path.join(base, `s${seed}`, 'base');
      fs.mkdirSync(hostDir, { recursive: true });
      const vfs = new Vfs();
      await vfs.mount(new TmpFs());
      const ctx = vfs.newContext();
      await vfs.mkdir(ctx, undefined, '/base', 0o755);
      await runOps(seed, vfs, ctx, hostDir, '/base', PATHS);
    });
  }

  // The overlay over an ext4 image of a tree against a host copy of that tree.
  const { image, tree } = buildImage(FEATURE_SETS.find((x) => x.name === 'ext4')!);
  const devs: FileBlockDevice[] = [];
  afterAll(async () => {
    for (const d of devs) await d.close();
  });
  for (let seed = 1; seed <= 12; seed++) {
    it(`overlay over ext4, seed ${seed}: 300 random operations`, async () => {
      const hostDir = path.join(base, `o${seed}`);
      execFileSync('cp', ['-a', tree, hostDir]);
      fs.rmSync(path.join(hostDir, '.done'));
      const dev = await FileBlockDevice.open(image);
      devs.push(dev);
      const vfs = new Vfs();
      await vfs.mount(new OverlayFs(await Ext4Fs.open(dev), new TmpFs({ rootMode: 0o755 })));
      const ctx = vfs.newContext();
      await vfs.unlink(ctx, undefined, '/lost+found', AT_REMOVEDIR);
      await runOps(seed, vfs, ctx, hostDir, '', LOWER_PATHS);
    });
  }
});

const LOWER_PATHS = [
  'etc',
  'etc/hello.txt',
  'etc/exec.sh',
  'etc/new',
  'links',
  'links/fast',
  'links/todir',
  'links/todir/',
  'links/todir/hello.txt',
  'links/dangling',
  // not 'hard2': a hard link of etc/hello.txt in the image; copy-up breaks lower hard links
  // (like overlayfs without index=on), a documented difference from a plain filesystem
  'empty',
  'owned',
  'owned/file',
  'level0',
  'level0/level1',
  'level0/level1/level2',
  'sticky',
  'names',
  'x',
  'etc/',
  'big',
];

async function runOps(
  seed: number,
  vfs: Vfs,
  rootCtx: FsContext,
  hostDir: string,
  lroot: string,
  paths: string[],
): Promise<void> {
  {
    {
      const r = prng(seed);
      const pick = <T>(a: T[]): T => a[r() % a.length];
      const H = (p: string): string => `${hostDir}/${p}`;
      const L = (p: string): string => `${lroot}/${p}`;
      const log: string[] = [];
      const userCtx = { ...rootCtx, cred: { uid: 1000, gid: 1000, groups: [] } };
      for (let i = 0; i < 300; i++) {
        const op = r() % 14;
        // a third of the operations run as an unprivileged user on both sides
        const asUser = r() % 3 === 0;
        const ctx = asUser ? userCtx : rootCtx;
        const hostRes = (fn: () => unknown): Res => (asUser ? asHostUser(() => hostResRoot(fn)) : hostResRoot(fn));
        const p = pick(paths);
        // Outside a real root, a relative symlink moved to the top would resolve '..' differently
        // on the host (above the test directory), so the host run keeps link/rename targets below it.
        const q = pick(lroot ? paths : paths.filter((x) => x.includes('/')));
        let desc = '';
        let h: Res;
        let l: Res;
        switch (op) {
          case 0: {
            const [lf, hf, label] = pick(OPEN_FLAGS);
            desc = `open(${p}, ${label})`;
            h = hostRes(() => fs.closeSync(fs.openSync(H(p), hf, 0o644)));
            l = await vfsRes(vfs.open(ctx, undefined, L(p), lf, 0o644).then((f) => f.release()));
            break;
          }
          case 1:
            desc = `mkdir(${p})`;
            h = hostRes(() => fs.mkdirSync(H(p), 0o755));
            l = await vfsRes(vfs.mkdir(ctx, undefined, L(p), 0o755));
            break;
          case 2:
            desc = `rmdir(${p})`;
            h = hostRes(() => fs.rmdirSync(H(p)));
            l = await vfsRes(vfs.unlink(ctx, undefined, L(p), AT_REMOVEDIR));
            break;
          case 3:
            desc = `unlink(${p})`;
            h = hostRes(() => fs.unlinkSync(H(p)));
            l = await vfsRes(vfs.unlink(ctx, undefined, L(p)));
            break;
          case 4:
            desc = `rename(${p}, ${q})`;
            h = hostRes(() => fs.renameSync(H(p), H(q)));
            l = await vfsRes(vfs.rename(ctx, undefined, L(p), undefined, L(q)));
            break;
          case 5:
            desc = `link(${p}, ${q})`;
            h = hostRes(() => fs.linkSync(H(p), H(q)));
            l = await vfsRes(vfs.link(ctx, undefined, L(p), undefined, L(q)));
            break;
          case 6: {
            const t = pick(TARGETS);
            desc = `symlink(${t}, ${p})`;
            h = hostRes(() => fs.symlinkSync(t, H(p)));
            l = await vfsRes(vfs.symlink(ctx, t, undefined, L(p)));
            break;
          }
          case 7:
            desc = `readlink(${p})`;
            h = hostRes(() => fs.readlinkSync(H(p)));
            l = await vfsRes(vfs.readlink(ctx, undefined, L(p)));
            break;
          case 8:
            desc = `truncate(${p}, 3)`;
            h = hostRes(() => fs.truncateSync(H(p), 3));
            l = await vfsRes(vfs.truncate(ctx, undefined, L(p), 3));
            break;
          case 9:
            desc = `lstat(${p})`;
            h = hostRes(() => fs.lstatSync(H(p)));
            l = await vfsRes(vfs.stat(ctx, undefined, L(p), AT_SYMLINK_NOFOLLOW));
            break;
          case 11: {
            const mode = pick([0o755, 0o700, 0o1777, 0o644, 0o000, 0o777, 0o555]);
            desc = `chmod(${p}, ${mode.toString(8)})`;
            h = hostRes(() => fs.chmodSync(H(p), mode));
            l = await vfsRes(vfs.chmod(ctx, undefined, L(p), mode));
            break;
          }
          case 12: {
            const [u, g] = pick([
              [1000, 1000],
              [0, 0],
              [-1, 1000],
              [2000, -1],
              [-1, 0],
            ]);
            desc = `chown(${p}, ${u}, ${g})`;
            h = hostRes(() => fs.chownSync(H(p), u, g));
            l = await vfsRes(vfs.chown(ctx, undefined, L(p), u, g));
            break;
          }
          case 13: {
            const t = 1_000_000_000 + (r() % 1000);
            desc = `utimes(${p}, ${t})`;
            h = hostRes(() => fs.utimesSync(H(p), t, t));
            l = await vfsRes(
              vfs.utimens(ctx, undefined, L(p), [
                { sec: t, nsec: 0 },
                { sec: t, nsec: 0 },
              ]),
            );
            break;
          }
          default:
            desc = `stat(${p})`;
            h = hostRes(() => fs.statSync(H(p)));
            l = await vfsRes(vfs.stat(ctx, undefined, L(p)));
        }
        if (asUser) desc = `[uid 1000] ${desc}`;
        log.push(`${desc}: host ${h}, lichen ${l}`);
        if (h !== l && process.env.LICHEN_DIFF_LOG) fs.writeFileSync(process.env.LICHEN_DIFF_LOG, log.join('\n'));
        if (h !== l)
          throw new Error(
            `differs at op ${i}: ${desc}: host ${h}, lichen ${l}\n${log.slice(-12).join('\n')}\nrelated:\n${log.filter((x) => x.includes(p)).join('\n')}`,
          );
      }
      // and the resulting trees are the same
      const hostTree = (dir: string, rel = ''): string[] =>
        fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }).flatMap((d) => {
          const name = d.name.toString('latin1');
          const full = Buffer.concat([Buffer.from(`${dir}/`), d.name]);
          return [
            `${rel}${name}:${d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'f'}`,
            ...(d.isDirectory() ? hostTree(full.toString(), `${rel}${name}/`) : []),
          ];
        });
      const lichenTree = async (dir: string, rel = ''): Promise<string[]> => {
        const f = await vfs.open(rootCtx, undefined, dir || '/', O_RDONLY | O_DIRECTORY);
        const out: string[] = [];
        for (const e of await f.readdir()) {
          if (e.name === '.' || e.name === '..') continue;
          out.push(`${rel}${e.name}:${e.type === 4 ? 'd' : e.type === 10 ? 'l' : 'f'}`);
          if (e.type === 4) out.push(...(await lichenTree(`${dir === '/' ? '' : dir}/${e.name}`, `${rel}${e.name}/`)));
        }
        return out;
      };
      const lt = await lichenTree(lroot || '/');
      const ht = hostTree(hostDir);
      expect({ onlyLichen: lt.filter((x) => !ht.includes(x)), onlyHost: ht.filter((x) => !lt.includes(x)) }).toEqual({
        onlyLichen: [],
        onlyHost: [],
      });
    }
  }
}
