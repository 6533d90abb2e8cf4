/**
 * ext2/3/4 images built with mke2fs -d from generated trees, in several feature sets: every
 * file's content and metadata read through the Vfs must equal the source tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CountingBlockDevice,
  Ext4Fs,
  FileBlockDevice,
  O_RDONLY,
  SEEK_DATA,
  SEEK_HOLE,
  Vfs,
  Errno,
  type FsContext,
} from '@lichen/vfs';
import { buildHtreeImage, buildImage, FEATURE_SETS, HTREE_ENTRIES } from './support/images';
import { listDir, lstat, readAll } from './support/walk';

const S_IFMT = 0o170000;

describe.each(FEATURE_SETS)('ext image $name', (spec) => {
  let vfs: Vfs;
  let ctx: FsContext;
  let tree: string;
  let ext: Ext4Fs;
  let dev: FileBlockDevice;

  beforeAll(async () => {
    const built = buildImage(spec);
    tree = built.tree;
    dev = await FileBlockDevice.open(built.image);
    ext = await Ext4Fs.open(dev);
    vfs = new Vfs();
    await vfs.mount(ext);
    ctx = vfs.newContext();
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('has the expected filesystem type', () => {
    expect(ext.type).toBe(spec.name.startsWith('ext2') ? 'ext2' : spec.name.startsWith('ext3') ? 'ext3' : 'ext4');
  });

  it('every file, directory, link and node equals the source tree (content and metadata)', async () => {
    let checked = 0;
    const nsec = spec.mkfs.join(' ').includes('-I 256');
    const walk = async (rel: string): Promise<void> => {
      const host = path.join(tree, rel);
      const names = fs.readdirSync(host, { encoding: 'buffer' }).map((b) => b.toString('latin1'));
      const vpath = '/' + rel;
      const got = await listDir(vfs, ctx, vpath);
      const expectNames = names.filter((n) => !(rel === '' && n === '.done'));
      const gotNames = got.filter((n) => !(rel === '' && n === 'lost+found'));
      expect(gotNames.sort()).toEqual(expectNames.sort());
      for (const name of expectNames) {
        const hp = Buffer.concat([Buffer.from(host + '/'), Buffer.from(name, 'latin1')]);
        const vp = (rel ? `/${rel}/` : '/') + name;
        const h = fs.lstatSync(hp, { bigint: true });
        const v = await lstat(vfs, ctx, vp);
        const where = `${spec.name}:${vp}`;
        expect({ where, mode: v.mode }).toEqual({ where, mode: Number(h.mode) });
        expect({ where, uid: v.uid, gid: v.gid }).toEqual({ where, uid: Number(h.uid), gid: Number(h.gid) });
        expect({ where, nlink: v.nlink }).toEqual({ where, nlink: Number(h.nlink) });
        expect({ where, mtime: v.mtime.sec }).toEqual({ where, mtime: Number(h.mtimeNs / 1_000_000_000n) });
        // mke2fs -d stores whole seconds only; nanoseconds are checked on one file below.
        if (nsec && vp === '/etc/hello.txt') expect(v.mtime.nsec).toBe(250_000_000);
        const type = Number(h.mode) & S_IFMT;
        if (type !== 0o040000) expect({ where, size: v.size }).toEqual({ where, size: Number(h.size) });
        if (type === 0o100000) {
          const data = await readAll(vfs, ctx, vp);
          expect(data.equals(fs.readFileSync(hp)), where).toBe(true);
        } else if (type === 0o120000) {
          expect(await vfs.readlink(ctx, undefined, vp)).toBe(
            fs.readlinkSync(hp, { encoding: 'buffer' }).toString('latin1'),
          );
        } else if (type === 0o020000 || type === 0o060000) {
          expect({ where, rdev: v.rdev }).toEqual({ where, rdev: Number(h.rdev) });
        } else if (type === 0o040000) {
          await walk(rel ? `${rel}/${name}` : name);
        }
        checked++;
      }
    };
    await walk('');
    expect(checked).toBeGreaterThan(50);
  });

  it('hard links share an inode number', async () => {
    const a = await lstat(vfs, ctx, '/etc/hello.txt');
    const b = await lstat(vfs, ctx, '/links/hard1');
    const c = await lstat(vfs, ctx, '/hard2');
    expect(b.ino).toBe(a.ino);
    expect(c.ino).toBe(a.ino);
    expect(a.nlink).toBe(3);
  });

  it('follows symlinks in paths (relative, to directories) and reports dangling ones', async () => {
    expect((await readAll(vfs, ctx, '/links/fast')).toString()).toBe('hello, world\n');
    expect((await readAll(vfs, ctx, '/links/todir/hello.txt')).toString()).toBe('hello, world\n');
    await expect(vfs.stat(ctx, undefined, '/links/dangling')).rejects.toMatchObject({ errno: Errno.ENOENT });
  });

  it('SEEK_DATA / SEEK_HOLE find the data of sparse files', async () => {
    const f = await vfs.open(ctx, undefined, '/sparse', O_RDONLY);
    // The data written at 1,000,000..1,005,000 is one data segment.
    const d = await f.seek(999_999, SEEK_DATA);
    expect(d).toBe(999_999);
    expect(await f.seek(600_000, SEEK_DATA)).toBeLessThanOrEqual(1_000_000);
    const hole = await f.seek(d, SEEK_HOLE);
    expect(hole).toBeGreaterThanOrEqual(1_005_000);
    expect(hole).toBeLessThan(20_000_000);
    const end = await f.seek(hole, SEEK_DATA);
    expect(end).toBeLessThanOrEqual(20_000_000);
    await expect(f.seek(30_000_000, SEEK_DATA)).rejects.toMatchObject({ errno: Errno.ENXIO });
    const g = await vfs.open(ctx, undefined, '/all-hole', O_RDONLY);
    // mke2fs stores an all-hole file as inline data when it can (then it is all "data").
    if (spec.name === 'ext4-inline') expect(await g.seek(0, SEEK_DATA)).toBe(0);
    else await expect(g.seek(0, SEEK_DATA)).rejects.toMatchObject({ errno: Errno.ENXIO });
  });

  it('writes are refused with EROFS', async () => {
    await expect(vfs.open(ctx, undefined, '/etc/hello.txt', 1)).rejects.toMatchObject({ errno: Errno.EROFS });
    await expect(vfs.mkdir(ctx, undefined, '/newdir', 0o755)).rejects.toMatchObject({ errno: Errno.EROFS });
    await expect(vfs.unlink(ctx, undefined, '/etc/hello.txt')).rejects.toMatchObject({ errno: Errno.EROFS });
  });
});

describe('ext4 deep extent tree (1 KiB blocks, alternating data and holes)', () => {
  it('reads a file whose extent tree has depth ≥ 2', async () => {
    const spec = FEATURE_SETS.find((s) => s.name === 'ext4-1k')!;
    const { image, tree } = buildImage(spec);
    const dev = await FileBlockDevice.open(image);
    const ext = await Ext4Fs.open(dev);
    const root = await ext.root();
    const node = (await root.lookup('alternating')) as Awaited<ReturnType<Ext4Fs['iget']>>;
    // i_block holds the extent header: depth at offset 6 of i_block (inode offset 0x28).
    const depth = (node as unknown as { raw: Uint8Array }).raw[0x28 + 6];
    expect(depth).toBeGreaterThanOrEqual(2);
    const vfs = new Vfs();
    await vfs.mount(ext);
    const data = await readAll(vfs, vfs.newContext(), '/alternating');
    expect(data.equals(fs.readFileSync(path.join(tree, 'alternating')))).toBe(true);
    await dev.close();
  });
});

describe('ext4 fragmented file (debugfs fill and punch)', () => {
  it('reads a file of hundreds of one-block extents under a depth-2 tree', async () => {
    const spec = FEATURE_SETS.find((s) => s.name === 'ext4-1k')!;
    const { image, tree } = buildImage(spec);
    const dev = await FileBlockDevice.open(image);
    const ext = await Ext4Fs.open(dev);
    const node = await (await ext.root()).lookup('fragmented');
    expect((node as unknown as { raw: Uint8Array }).raw[0x28 + 6]).toBe(2);
    const vfs = new Vfs();
    await vfs.mount(ext);
    const data = await readAll(vfs, vfs.newContext(), '/fragmented');
    expect(data.equals(fs.readFileSync(path.join(tree, 'fragmented')))).toBe(true);
    await dev.close();
  });
});

describe('ext4 htree directory of 20,000 entries', () => {
  it('lists and looks up every entry', async () => {
    const { image, names } = buildHtreeImage();
    const dev = await FileBlockDevice.open(image);
    const ext = await Ext4Fs.open(dev);
    const vfs = new Vfs();
    await vfs.mount(ext);
    const ctx = vfs.newContext();
    const dir = await lstat(vfs, ctx, '/bigdir');
    expect(dir.ino).toBeGreaterThan(0);
    const root = await ext.root();
    const big = (await root.lookup('bigdir')) as unknown as { htree: boolean };
    expect(big.htree).toBe(true);
    const listed = await listDir(vfs, ctx, '/bigdir');
    expect(listed.length).toBe(HTREE_ENTRIES);
    expect(new Set(listed)).toEqual(new Set(names));
    const target = await lstat(vfs, ctx, '/target');
    expect(target.nlink).toBe(HTREE_ENTRIES + 1);
    for (const n of names) {
      const st = await lstat(vfs, ctx, `/bigdir/${n}`);
      if (st.ino !== target.ino) throw new Error(`bad inode for ${n}`);
    }
    await expect(lstat(vfs, ctx, '/bigdir/f20000')).rejects.toMatchObject({ errno: Errno.ENOENT });
    await dev.close();
  });
});

describe('dentry cache', () => {
  it('caches only a bounded number of negative entries per directory', async () => {
    const vfs = new Vfs();
    const { TmpFs } = await import('@lichen/vfs');
    await vfs.mount(new TmpFs());
    const ctx = vfs.newContext();
    for (let i = 0; i < 2000; i++) {
      await expect(vfs.stat(ctx, undefined, `/missing-${i}`)).rejects.toMatchObject({ errno: Errno.ENOENT });
    }
    const root = vfs.rootRef().dentry;
    expect(root.children.size).toBeLessThanOrEqual(64);
    // a name created after a negative lookup is found
    await vfs.mkdir(ctx, undefined, '/missing-5', 0o755);
    expect((await vfs.stat(ctx, undefined, '/missing-5')).mode & 0o170000).toBe(0o040000);
  });

  it('a cached path walk reads no blocks', async () => {
    const spec = FEATURE_SETS.find((s) => s.name === 'ext4')!;
    const { image } = buildImage(spec);
    const dev = new CountingBlockDevice(await FileBlockDevice.open(image));
    const ext = await Ext4Fs.open(dev, { cacheBlocks: 16 });
    const vfs = new Vfs();
    await vfs.mount(ext);
    const ctx = vfs.newContext();
    const deep = '/' + Array.from({ length: 12 }, (_, i) => `level${i}`).join('/') + '/deep.txt';
    await lstat(vfs, ctx, deep);
    await lstat(vfs, ctx, '/links/todir/hello.txt');
    // Evict the block cache by reading other data, so only the dentry cache can answer.
    await readAll(vfs, ctx, '/big');
    for (let i = 0; i < 20; i++) await lstat(vfs, ctx, `/size-${[1, 59, 60, 61, 1023, 1024][i % 6]}`);
    const before = dev.reads;
    await lstat(vfs, ctx, deep);
    await vfs.stat(ctx, undefined, '/links/todir/hello.txt');
    await vfs.resolve(ctx, undefined, '/level0/level1/../level1/./level2');
    expect(dev.reads).toBe(before);
    await dev.close();
  });
});
