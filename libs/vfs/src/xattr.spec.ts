/**
 * Extended attributes in the VFS: XattrMap semantics, tmpfs storage charged to the memory
 * account, the ext4 reader on images whose xattrs debugfs wrote (in-inode area, external
 * block, ea_inode, ACL, 128-byte inodes), the overlay (lower visible, set/remove copy up),
 * and the VFS's name/namespace/permission rules.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errno, VfsError } from './errno';
import { errno } from '../../../test/vfs/support/errno';
import { Ext4Fs } from './ext4/ext4fs';
import { parseInodeXattrs, parseXattrBlock } from './ext4/xattr';
import { FileBlockDevice, MemoryBlockDevice } from './file-block-device';
import { OverlayFs } from './overlay';
import { ProcFs } from './procfs';
import { TmpFs } from './tmpfs';
import { AT_SYMLINK_NOFOLLOW, O_CREAT, O_WRONLY } from './types';
import { Vfs, type FsContext } from './vfs';
import { XATTR_CREATE, XATTR_ENTRY_COST, XATTR_REPLACE, XattrMap } from './xattr';

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const str = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('XattrMap', () => {
  it('create/replace flags, removal and accounting', () => {
    let used = 0;
    const acct = { charge: (n: number) => (used += n), uncharge: (n: number) => (used -= n) };
    const m = new XattrMap();
    m.set('user.a', enc('12345'), XATTR_CREATE, acct);
    expect(used).toBe(XATTR_ENTRY_COST + 6 + 5);
    expect(() => m.set('user.a', enc('x'), XATTR_CREATE, acct)).toThrow(
      expect.objectContaining({ errno: Errno.EEXIST }),
    );
    expect(() => m.set('user.b', enc('x'), XATTR_REPLACE, acct)).toThrow(
      expect.objectContaining({ errno: Errno.ENODATA }),
    );
    m.set('user.a', enc('1'), XATTR_REPLACE, acct);
    expect(used).toBe(XATTR_ENTRY_COST + 6 + 1);
    expect(str(m.get('user.a'))).toBe('1');
    m.set('user.b', enc('bb'), 0, acct);
    m.remove('user.a', acct);
    expect(() => m.remove('user.a', acct)).toThrow(expect.objectContaining({ errno: Errno.ENODATA }));
    expect(m.names()).toEqual(['user.b']);
    m.set('trusted.overlay.opaque', enc('y'));
    m.clear(acct);
    expect(used).toBe(0);
    expect(m.size).toBe(0);
  });
});

describe('tmpfs xattrs through the VFS', () => {
  async function setup(limit = Infinity): Promise<{ vfs: Vfs; ctx: FsContext; charged: () => number }> {
    let used = 0;
    const account = {
      charge: (n: number): void => {
        if (used + n > limit) throw new VfsError(Errno.ENOSPC);
        used += n;
      },
      uncharge: (n: number): void => {
        used -= n;
      },
    };
    const vfs = new Vfs();
    await vfs.mount(new TmpFs({ account }));
    return { vfs, ctx: vfs.newContext(), charged: () => used };
  }

  it('stores values, charges them to the account and frees them with the inode', async () => {
    const { vfs, ctx, charged } = await setup();
    await (await vfs.open(ctx, undefined, '/f', O_CREAT | O_WRONLY, 0o644)).release();
    const base = charged();
    await vfs.setxattr(ctx, undefined, '/f', 'user.big', new Uint8Array(60000));
    expect(charged() - base).toBe(XATTR_ENTRY_COST + 8 + 60000);
    expect((await vfs.getxattr(ctx, undefined, '/f', 'user.big')).length).toBe(60000);
    await vfs.setxattr(ctx, undefined, '/f', 'user.big', enc('small'));
    expect(charged() - base).toBe(XATTR_ENTRY_COST + 8 + 5);
    await vfs.unlink(ctx, undefined, '/f');
    expect(charged()).toBeLessThan(base);
  });

  it('refuses a value the quota cannot hold (ENOSPC) and keeps the old one', async () => {
    const { vfs, ctx } = await setup(20000);
    await (await vfs.open(ctx, undefined, '/f', O_CREAT | O_WRONLY, 0o644)).release();
    await vfs.setxattr(ctx, undefined, '/f', 'user.a', enc('old'));
    expect(await errno(vfs.setxattr(ctx, undefined, '/f', 'user.a', new Uint8Array(30000)))).toBe(Errno.ENOSPC);
    expect(str(await vfs.getxattr(ctx, undefined, '/f', 'user.a'))).toBe('old');
  });

  it('applies the name, size and namespace rules', async () => {
    const { vfs, ctx } = await setup();
    await (await vfs.open(ctx, undefined, '/f', O_CREAT | O_WRONLY, 0o644)).release();
    await vfs.symlink(ctx, 'f', undefined, '/l');
    const set = (name: string, v = enc('x'), flags = 0, at = 0): Promise<number | 'ok'> =>
      errno(vfs.setxattr(ctx, undefined, at ? '/l' : '/f', name, v, flags, at));
    expect(await set('')).toBe(Errno.ERANGE);
    expect(await set('user.' + 'n'.repeat(250))).toBe('ok');
    expect(await set('user.' + 'n'.repeat(251))).toBe(Errno.ERANGE);
    expect(await set('user.v', new Uint8Array(65537))).toBe(Errno.E2BIG);
    expect(await set('user.v', enc('x'), 4)).toBe(Errno.EINVAL);
    expect(await set('nope.x')).toBe(Errno.EOPNOTSUPP);
    expect(await set('user.')).toBe(Errno.EINVAL);
    expect(await set('system.posix_acl_access')).toBe(Errno.EOPNOTSUPP);
    expect(await set('user.x', enc('x'), 0, AT_SYMLINK_NOFOLLOW)).toBe(Errno.EPERM);
    expect(await set('trusted.x', enc('x'), 0, AT_SYMLINK_NOFOLLOW)).toBe('ok');
    const user = vfs.newContext({ uid: 1000, gid: 1000, groups: [] });
    expect(await errno(vfs.getxattr(user, undefined, '/l', 'trusted.x', AT_SYMLINK_NOFOLLOW))).toBe(Errno.ENODATA);
    expect(await errno(vfs.setxattr(user, undefined, '/f', 'trusted.y', enc('x')))).toBe(Errno.EPERM);
    expect(await errno(vfs.setxattr(user, undefined, '/f', 'user.y', enc('x')))).toBe(Errno.EACCES);
    expect(await vfs.listxattr(ctx, undefined, '/l', AT_SYMLINK_NOFOLLOW)).toEqual(['trusted.x']);
    expect(await vfs.listxattr(user, undefined, '/l', AT_SYMLINK_NOFOLLOW)).toEqual([]);
  });

  it('procfs has no xattrs: EOPNOTSUPP to get and set, an empty list', async () => {
    const { vfs, ctx } = await setup();
    await vfs.mkdir(ctx, undefined, '/proc', 0o555);
    const provider = {
      pids: () => [],
      process: () => null,
      global: () => new Map<string, () => string>([['version', () => 'Linux\n']]),
    };
    await vfs.mount(new ProcFs(vfs, provider as unknown as ConstructorParameters<typeof ProcFs>[1]), '/proc');
    expect(await errno(vfs.getxattr(ctx, undefined, '/proc', 'user.x'))).toBe(Errno.EOPNOTSUPP);
    expect(await errno(vfs.setxattr(ctx, undefined, '/proc', 'user.x', enc('1')))).toBe(Errno.EOPNOTSUPP);
    expect(await vfs.listxattr(ctx, undefined, '/proc')).toEqual([]);
  });
});

describe('ext4 xattrs (images written by mke2fs -d and debugfs ea_set)', () => {
  let work: string;
  const devs: FileBlockDevice[] = [];
  const big = 'B'.repeat(3000);
  /** debugfs ea_set -f reads at most 4096 bytes of the file. */
  const huge = 'H'.repeat(4096);
  const acl = Buffer.alloc(4 + 5 * 8);

  function image(name: string, mkfs: string[], cmds: string[]): string {
    const tree = path.join(work, `${name}.tree`);
    fs.mkdirSync(path.join(tree, 'dir'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'a'), 'hi\n');
    fs.writeFileSync(path.join(tree, 'plain'), 'no xattrs\n');
    fs.symlinkSync('a', path.join(tree, 'lnk'));
    const img = path.join(work, `${name}.img`);
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', ...mkfs, '-d', tree, img, '8M'], { stdio: 'pipe' });
    fs.writeFileSync(path.join(work, `${name}.cmds`), cmds.join('\n') + '\n');
    const out = execFileSync('debugfs', ['-w', '-f', path.join(work, `${name}.cmds`), img], { stdio: 'pipe' });
    expect(out.toString()).not.toMatch(/Insufficient|error/i);
    return img;
  }
  async function mountImage(img: string): Promise<{ vfs: Vfs; ctx: FsContext; ext: Ext4Fs }> {
    const dev = await FileBlockDevice.open(img);
    devs.push(dev);
    const ext = await Ext4Fs.open(dev);
    const vfs = new Vfs();
    await vfs.mount(ext);
    return { vfs, ctx: vfs.newContext(), ext };
  }

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-xattr-'));
    fs.writeFileSync(path.join(work, 'big'), big);
    fs.writeFileSync(path.join(work, 'huge'), 'H'.repeat(10000));
    // POSIX ACL xattr (version 2): USER_OBJ rw-, USER 1000 r--, GROUP_OBJ r--, MASK r--, OTHER ---
    acl.writeUInt32LE(2, 0);
    [
      [1, 6, 0xffffffff],
      [2, 4, 1000],
      [4, 4, 0xffffffff],
      [0x10, 4, 0xffffffff],
      [0x20, 0, 0xffffffff],
    ].forEach(([tag, perm, id], i) => {
      acl.writeUInt16LE(tag, 4 + i * 8);
      acl.writeUInt16LE(perm, 6 + i * 8);
      acl.writeUInt32LE(id, 8 + i * 8);
    });
    fs.writeFileSync(path.join(work, 'acl'), acl);
  });
  afterAll(async () => {
    for (const d of devs) await d.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const cmds = (): string[] => [
    'ea_set /a user.small hello',
    `ea_set -f ${work}/big /a user.big`,
    'ea_set /a trusted.t tv',
    'ea_set /a security.selinux system_u:object_r:etc_t:s0',
    `ea_set -f ${work}/acl /a system.posix_acl_access`,
    'ea_set /dir user.d dv',
    'ea_set /lnk trusted.l lv',
  ];

  it('256-byte inodes: in-inode and block values, ACLs converted back to the xattr format', async () => {
    const { vfs, ctx } = await mountImage(image('ibody', ['-I', '256'], cmds()));
    const names = await vfs.listxattr(ctx, undefined, '/a');
    expect([...names].sort()).toEqual(
      ['security.selinux', 'system.posix_acl_access', 'trusted.t', 'user.big', 'user.small'].sort(),
    );
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'user.small'))).toBe('hello');
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'user.big'))).toBe(big);
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'trusted.t'))).toBe('tv');
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'security.selinux'))).toBe('system_u:object_r:etc_t:s0');
    expect(Buffer.from(await vfs.getxattr(ctx, undefined, '/a', 'system.posix_acl_access'))).toEqual(acl);
    expect(str(await vfs.getxattr(ctx, undefined, '/dir', 'user.d'))).toBe('dv');
    expect(str(await vfs.getxattr(ctx, undefined, '/lnk', 'trusted.l', AT_SYMLINK_NOFOLLOW))).toBe('lv');
    expect(await errno(vfs.getxattr(ctx, undefined, '/a', 'user.none'))).toBe(Errno.ENODATA);
    expect(await vfs.listxattr(ctx, undefined, '/plain')).toEqual([]);
    expect(await errno(vfs.setxattr(ctx, undefined, '/a', 'user.n', enc('1')))).toBe(Errno.EROFS);
    expect(await errno(vfs.removexattr(ctx, undefined, '/a', 'user.small'))).toBe(Errno.EROFS);
    const user = vfs.newContext({ uid: 1000, gid: 1000, groups: [] });
    expect(await vfs.listxattr(user, undefined, '/a')).not.toContain('trusted.t');
  });

  it('128-byte inodes: everything in the external block', async () => {
    const { vfs, ctx } = await mountImage(image('small-inode', ['-I', '128'], cmds()));
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'user.small'))).toBe('hello');
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'user.big'))).toBe(big);
    expect(Buffer.from(await vfs.getxattr(ctx, undefined, '/a', 'system.posix_acl_access'))).toEqual(acl);
  });

  it('ea_inode: a value kept in an inode of its own', async () => {
    const img = image(
      'ea-inode',
      ['-I', '256', '-O', 'ea_inode'],
      [`ea_set -f ${work}/big /a user.big`, `ea_set -f ${work}/huge /a user.huge`],
    );
    const { vfs, ctx, ext } = await mountImage(img);
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'user.huge'))).toBe(huge);
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'user.big'))).toBe(big);
    // the huge value really is an EA inode reference in the block
    const a = await ext.iget(12);
    const raw = (a as unknown as { raw: Uint8Array }).raw;
    const blk = raw[0x68] | (raw[0x69] << 8) | (raw[0x6a] << 16) | (raw[0x6b] << 24);
    const entries = [...parseInodeXattrs(raw, raw[0x80], 12), ...parseXattrBlock(await ext.block(blk), 12)];
    expect(entries.find((e) => e.name === 'user.huge')?.inum).toBeGreaterThan(0);
  });

  it('a corrupt xattr block gives EUCLEAN, not a crash', async () => {
    const img = image('corrupt', ['-I', '128'], cmds());
    const { ext } = await mountImage(img);
    const a = await ext.iget(12);
    const raw = (a as unknown as { raw: Uint8Array }).raw;
    const blk = raw[0x68] | (raw[0x69] << 8) | (raw[0x6a] << 16) | (raw[0x6b] << 24);
    const fd = fs.openSync(img, 'r+');
    const b = Buffer.alloc(4096);
    fs.readSync(fd, b, 0, 4096, blk * 4096);
    b.writeUInt16LE(60000, 32 + 2); // first entry's value offset far past the block
    fs.writeSync(fd, b, 0, 4096, blk * 4096);
    fs.closeSync(fd);
    const { vfs, ctx } = await mountImage(img);
    expect(await errno(vfs.getxattr(ctx, undefined, '/a', 'user.small'))).toBe(Errno.EUCLEAN);
  });

  it('random corruption of the in-inode area and the block gives VfsErrors only (300 cases)', async () => {
    const img = fs.readFileSync(image('fuzz', ['-I', '256'], cmds()));
    const { ext } = await mountImage(path.join(work, 'fuzz.img'));
    const a = await ext.iget(12);
    const raw = (a as unknown as { raw: Uint8Array }).raw;
    const blk = raw[0x68] | (raw[0x69] << 8) | (raw[0x6a] << 16) | (raw[0x6b] << 24);
    const inodeAt = img.indexOf(Buffer.from(raw));
    expect(inodeAt).toBeGreaterThan(0);
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const outcomes = new Map<string, number>();
    for (let c = 0; c < 300; c++) {
      const data = new Uint8Array(img);
      const flips = 1 + rnd(4);
      for (let i = 0; i < flips; i++) {
        const at = c % 2 ? blk * 4096 + rnd(256) : inodeAt + 0x80 + rnd(128);
        data[at] = rnd(256);
      }
      let outcome = 'ok';
      try {
        const e = await Ext4Fs.open(new MemoryBlockDevice(data));
        const node = await e.iget(12);
        const names = await node.listxattr();
        for (const n of [...names, 'user.small', 'user.big']) {
          try {
            await node.getxattr(n);
          } catch (err) {
            if (!(err instanceof VfsError) || err.errno !== Errno.ENODATA) throw err;
          }
        }
      } catch (err) {
        expect(err).toBeInstanceOf(VfsError);
        outcome = Errno[(err as VfsError).errno];
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect([...outcomes.keys()].every((k) => ['ok', 'EUCLEAN', 'EIO'].includes(k))).toBe(true);
    expect(outcomes.get('EUCLEAN')).toBeGreaterThan(0);
  });

  it('overlay: lower xattrs visible; set and remove copy up; trusted.overlay.* hidden', async () => {
    const img = image('ovl', ['-I', '256'], cmds());
    const dev = await FileBlockDevice.open(img);
    devs.push(dev);
    const upper = new TmpFs({ rootMode: 0o755 });
    const ovl = new OverlayFs(await Ext4Fs.open(dev), upper);
    const vfs = new Vfs();
    await vfs.mount(ovl);
    const ctx = vfs.newContext();
    expect(str(await vfs.getxattr(ctx, undefined, '/a', 'user.big'))).toBe(big);
    expect(upper.rootSync().child('a')).toBeNull();
    expect(await errno(vfs.removexattr(ctx, undefined, '/a', 'user.none'))).toBe(Errno.ENODATA);
    expect(upper.rootSync().child('a')).toBeNull();
    await vfs.setxattr(ctx, undefined, '/a', 'user.new', enc('n'));
    expect(upper.rootSync().child('a')).not.toBeNull();
    expect((await vfs.listxattr(ctx, undefined, '/a')).sort()).toEqual(
      ['security.selinux', 'system.posix_acl_access', 'trusted.t', 'user.big', 'user.new', 'user.small'].sort(),
    );
    await vfs.removexattr(ctx, undefined, '/dir', 'user.d');
    expect(await vfs.listxattr(ctx, undefined, '/dir')).toEqual([]);
    // an opaque directory's marker is the overlay's own
    await vfs.unlink(ctx, undefined, '/dir', 0x200);
    await vfs.mkdir(ctx, undefined, '/dir', 0o755);
    expect(upper.rootSync().child('dir')!.xattrs.has('trusted.overlay.opaque')).toBe(true);
    expect(await vfs.listxattr(ctx, undefined, '/dir')).toEqual([]);
    expect(await errno(vfs.getxattr(ctx, undefined, '/dir', 'trusted.overlay.opaque'))).toBe(Errno.EOPNOTSUPP);
    expect(await errno(vfs.setxattr(ctx, undefined, '/dir', 'trusted.overlay.x', enc('y')))).toBe(Errno.EOPNOTSUPP);
  });
});
