/** Overlay-specific semantics: copy-up, whiteouts, opaque dirs, st_ino, export, image untouched. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AT_REMOVEDIR,
  Errno,
  Ext4Fs,
  FileBlockDevice,
  type FsContext,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  OverlayFs,
  TmpFs,
  Vfs,
} from '@lichen/vfs';
import { buildImage, FEATURE_SETS } from './support/images';
import { listDir, readAll } from './support/walk';

const hashFile = (p: string): string => createHash('sha256').update(fs.readFileSync(p)).digest('hex');

describe('overlay', () => {
  let image: string;
  let imageHash: string;
  const devs: FileBlockDevice[] = [];
  beforeAll(() => {
    image = buildImage(FEATURE_SETS.find((s) => s.name === 'ext4')!).image;
    imageHash = hashFile(image);
  });
  afterAll(async () => {
    for (const d of devs) await d.close();
    // every run starts clean: the image was never modified
    expect(hashFile(image)).toBe(imageHash);
  });

  async function setup(): Promise<{ vfs: Vfs; ctx: FsContext; ovl: OverlayFs; upper: TmpFs }> {
    const dev = await FileBlockDevice.open(image);
    devs.push(dev);
    const upper = new TmpFs({ rootMode: 0o755 });
    const ovl = new OverlayFs(await Ext4Fs.open(dev), upper);
    const vfs = new Vfs();
    await vfs.mount(ovl);
    return { vfs, ctx: vfs.newContext(), ovl, upper };
  }

  it('copy-up on write keeps st_ino and the other content; hard-link siblings keep the old data', async () => {
    const { vfs, ctx } = await setup();
    const before = await vfs.stat(ctx, undefined, '/etc/hello.txt');
    const f = await vfs.open(ctx, undefined, '/etc/hello.txt', O_RDWR);
    await f.pwrite(Buffer.from('J'), 0);
    const after = await vfs.stat(ctx, undefined, '/etc/hello.txt');
    expect(after.ino).toBe(before.ino);
    expect(after.nlink).toBe(1);
    expect(after.mtime.sec).toBeGreaterThan(before.mtime.sec);
    expect((await readAll(vfs, ctx, '/etc/hello.txt')).toString()).toBe('Jello, world\n');
    expect((await readAll(vfs, ctx, '/hard2')).toString()).toBe('hello, world\n');
  });

  it('copy-up on chmod/chown/utimens/truncate preserves data, holes and the other attributes', async () => {
    const { vfs, ctx, upper } = await setup();
    const st0 = await vfs.stat(ctx, undefined, '/sparse');
    const used0 = upper.usedBytes;
    await vfs.chmod(ctx, undefined, '/sparse', 0o600);
    const st1 = await vfs.stat(ctx, undefined, '/sparse');
    expect(st1.mode & 0o7777).toBe(0o600);
    expect(st1.size).toBe(st0.size);
    expect(st1.mtime).toEqual(st0.mtime);
    // holes stay holes in the upper layer: far less than 20 MB charged
    expect(upper.usedBytes - used0).toBeLessThan(100_000);
    const dev = buildImage(FEATURE_SETS.find((s) => s.name === 'ext4')!).tree;
    expect((await readAll(vfs, ctx, '/sparse')).equals(fs.readFileSync(`${dev}/sparse`))).toBe(true);
    await vfs.chown(ctx, undefined, '/owned/file', 42, 43);
    expect((await vfs.stat(ctx, undefined, '/owned/file')).uid).toBe(42);
    await vfs.truncate(ctx, undefined, '/size-4097', 10);
    expect((await readAll(vfs, ctx, '/size-4097')).length).toBe(10);
  });

  it('unlink and rmdir leave whiteouts; readdir merges layers and hides them', async () => {
    const { vfs, ctx, ovl } = await setup();
    const names0 = await listDir(vfs, ctx, '/etc');
    expect(names0.sort()).toEqual(['exec.sh', 'hello.txt']);
    await vfs.unlink(ctx, undefined, '/etc/hello.txt');
    const f = await vfs.open(ctx, undefined, '/etc/new', O_WRONLY | O_CREAT, 0o644);
    await f.release();
    expect((await listDir(vfs, ctx, '/etc')).sort()).toEqual(['exec.sh', 'new']);
    expect(await vfs.stat(ctx, undefined, '/etc/hello.txt').catch((e) => e.errno)).toBe(Errno.ENOENT);
    await expect(vfs.unlink(ctx, undefined, '/links', AT_REMOVEDIR)).rejects.toMatchObject({ errno: Errno.ENOTEMPTY });
    for (const n of await listDir(vfs, ctx, '/links')) await vfs.unlink(ctx, undefined, `/links/${n}`);
    await vfs.unlink(ctx, undefined, '/links', AT_REMOVEDIR);
    expect((await listDir(vfs, ctx, '/')).includes('links')).toBe(false);
    expect(ovl.changes().deleted).toEqual(expect.arrayContaining(['/etc/hello.txt', '/links']));
  });

  it('writing through an open fd to an unlinked lower file does not bring it back', async () => {
    const { vfs, ctx, ovl } = await setup();
    const f = await vfs.open(ctx, undefined, '/etc/hello.txt', O_RDWR);
    await vfs.unlink(ctx, undefined, '/etc/hello.txt');
    await f.pwrite(Buffer.from('J'), 0);
    const buf = Buffer.alloc(13);
    await f.pread(buf, 0);
    expect(buf.toString()).toBe('Jello, world\n');
    expect(f.stat().nlink).toBe(0);
    expect(await vfs.stat(ctx, undefined, '/etc/hello.txt').catch((e) => e.errno)).toBe(Errno.ENOENT);
    expect((await listDir(vfs, ctx, '/etc')).sort()).toEqual(['exec.sh']);
    expect(ovl.changes().deleted).toContain('/etc/hello.txt');
    await f.release();
  });

  it('a directory recreated over a whiteout is opaque (lower content stays hidden)', async () => {
    const { vfs, ctx, ovl } = await setup();
    for (const n of await listDir(vfs, ctx, '/etc')) await vfs.unlink(ctx, undefined, `/etc/${n}`);
    await vfs.unlink(ctx, undefined, '/etc', AT_REMOVEDIR);
    await vfs.mkdir(ctx, undefined, '/etc', 0o700);
    expect(await listDir(vfs, ctx, '/etc')).toEqual([]);
    expect(await vfs.stat(ctx, undefined, '/etc/hello.txt').catch((e) => e.errno)).toBe(Errno.ENOENT);
    expect(ovl.changes().opaque).toEqual(['/etc']);
    // a recreated file over a whiteout is a new, upper-only inode
    await vfs.unlink(ctx, undefined, '/empty');
    const f = await vfs.open(ctx, undefined, '/empty', O_WRONLY | O_CREAT, 0o600);
    await f.write(Buffer.from('new'));
    expect((await readAll(vfs, ctx, '/empty')).toString()).toBe('new');
  });

  it('renames directories from the lower layer with their whole content', async () => {
    const { vfs, ctx } = await setup();
    const st = await vfs.stat(ctx, undefined, '/links/fast');
    await vfs.rename(ctx, undefined, '/links', undefined, '/renamed');
    expect(await vfs.stat(ctx, undefined, '/links').catch((e) => e.errno)).toBe(Errno.ENOENT);
    expect((await listDir(vfs, ctx, '/renamed')).sort()).toEqual(
      ['dangling', 'fast', 'hard1', 'long', 's59', 's60', 's61', 'todir'].sort(),
    );
    expect((await readAll(vfs, ctx, '/renamed/fast')).toString()).toBe('hello, world\n');
    expect((await vfs.stat(ctx, undefined, '/renamed/fast')).ino).toBe(st.ino);
    // and the old name can be reused: nothing of the lower directory shows through
    await vfs.mkdir(ctx, undefined, '/links', 0o755);
    expect(await listDir(vfs, ctx, '/links')).toEqual([]);
    // deep lower trees too
    await vfs.rename(ctx, undefined, '/level0', undefined, '/renamed/level0');
    const deep = '/renamed/' + Array.from({ length: 12 }, (_, i) => `level${i}`).join('/') + '/deep.txt';
    expect((await readAll(vfs, ctx, deep)).toString()).toBe('deep\n');
  });

  it('st_ino is stable within a run and unique between lower and upper inodes', async () => {
    const { vfs, ctx } = await setup();
    const a = await vfs.stat(ctx, undefined, '/big');
    await vfs.chmod(ctx, undefined, '/big', 0o600);
    expect((await vfs.stat(ctx, undefined, '/big')).ino).toBe(a.ino);
    const f = await vfs.open(ctx, undefined, '/fresh', O_WRONLY | O_CREAT, 0o644);
    const fresh = f.stat().ino;
    await f.release();
    const all = new Set<number>();
    for (const n of await listDir(vfs, ctx, '/')) all.add((await vfs.stat(ctx, undefined, `/${n}`, 0x100)).ino);
    expect(all.has(fresh)).toBe(true);
    expect(all.has(a.ino)).toBe(true);
    // readdir reports the same inode numbers as stat
    const d = await vfs.open(ctx, undefined, '/', O_RDONLY);
    for (const e of await d.readdir()) {
      if (e.name === '.' || e.name === '..') continue;
      expect(e.ino).toBe((await vfs.stat(ctx, undefined, `/${e.name}`, 0x100)).ino);
    }
  });

  it('exports the upper layer as a tar stream that tar(1) can list, plus deletions', async () => {
    const { vfs, ctx, ovl } = await setup();
    await vfs.mkdir(ctx, undefined, '/out', 0o755);
    const f = await vfs.open(ctx, undefined, '/out/result.txt', O_WRONLY | O_CREAT, 0o644);
    await f.write(Buffer.from('artifact\n'));
    await vfs.link(ctx, undefined, '/out/result.txt', undefined, '/out/again');
    await vfs.symlink(ctx, 'result.txt', undefined, '/out/link');
    const long = 'p'.repeat(150);
    const g = await vfs.open(ctx, undefined, `/out/${long}`, O_WRONLY | O_CREAT, 0o600);
    await g.write(Buffer.from('long name'));
    await vfs.unlink(ctx, undefined, '/big');
    const chunks: Uint8Array[] = [];
    for await (const c of ovl.exportTar()) chunks.push(c);
    const tarPath = `${fs.mkdtempSync('/tmp/lichen-ovl-')}/out.tar`;
    fs.writeFileSync(tarPath, Buffer.concat(chunks));
    const { execFileSync } = await import('node:child_process');
    const listing = execFileSync('tar', ['-tvf', tarPath]).toString();
    expect(listing).toContain('out/result.txt');
    expect(listing).toMatch(/out\/again link to out\/result.txt|out\/result.txt link to out\/again/);
    expect(listing).toContain('out/link -> result.txt');
    expect(listing).toContain(`out/${long}`);
    const dir = fs.mkdtempSync('/tmp/lichen-ovl-x-');
    execFileSync('tar', ['-xf', tarPath, '-C', dir]);
    expect(fs.readFileSync(`${dir}/out/result.txt`, 'utf8')).toBe('artifact\n');
    expect(fs.readFileSync(`${dir}/out/${long}`, 'utf8')).toBe('long name');
    expect(ovl.changes().deleted).toEqual(['/big']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('charges the upper layer to the memory account and refuses past the quota', async () => {
    const dev = await FileBlockDevice.open(image);
    devs.push(dev);
    let charged = 0;
    const upper = new TmpFs({
      account: {
        charge: (n) => {
          if (charged + n > 200_000) throw Object.assign(new Error('quota'), { code: 'ENOMEM' });
          charged += n;
        },
        uncharge: (n) => {
          charged -= n;
        },
      },
    });
    const vfs = new Vfs();
    await vfs.mount(new OverlayFs(await Ext4Fs.open(dev), upper));
    const ctx = vfs.newContext();
    const f = await vfs.open(ctx, undefined, '/tmpfile', O_WRONLY | O_CREAT, 0o644);
    await f.write(new Uint8Array(100_000));
    expect(charged).toBeGreaterThanOrEqual(100_000);
    await expect(f.write(new Uint8Array(200_000))).rejects.toMatchObject({ errno: Errno.ENOMEM });
    await f.release();
    await vfs.unlink(ctx, undefined, '/tmpfile');
    expect(charged).toBeLessThan(4096);
  });
});
