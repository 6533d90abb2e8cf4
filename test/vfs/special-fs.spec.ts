/** hostfs confinement, procfs through a provider, devfs devices, sysfs. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DevFs,
  Errno,
  type FsContext,
  HostFs,
  makedev,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  type PathRef,
  ProcFs,
  type ProcProvider,
  SysFs,
  TmpFs,
  Vfs,
  type CharDevice,
} from '@lichen/vfs';
import { errno } from './support/errno';
import { listDir, readAll } from './support/walk';

describe('hostfs confinement', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-hostfs-'));
  const shared = path.join(base, 'shared');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(shared);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'host secret');
  fs.writeFileSync(path.join(shared, 'file'), 'shared file');
  fs.symlinkSync('../outside/secret', path.join(shared, 'rel-escape'));
  fs.symlinkSync(path.join(outside, 'secret'), path.join(shared, 'abs-escape'));
  fs.symlinkSync(outside, path.join(shared, 'dir-escape'));
  fs.mkdirSync(path.join(shared, 'sub'));
  execFileSync('mkfifo', [path.join(shared, 'fifo')]);
  const hosts: HostFs[] = [];
  afterAll(async () => {
    for (const h of hosts) await h.close();
    fs.rmSync(base, { recursive: true, force: true });
  });

  async function setup(readonly: boolean): Promise<{ vfs: Vfs; ctx: FsContext }> {
    const vfs = new Vfs();
    const root = new TmpFs();
    await vfs.mount(root);
    const ctx = vfs.newContext();
    await vfs.mkdir(ctx, undefined, '/mnt', 0o755);
    const w = await vfs.open(ctx, undefined, '/guest-file', O_WRONLY | O_CREAT, 0o644);
    await w.write(Buffer.from('guest'));
    const h = await HostFs.open(shared, { readonly });
    hosts.push(h);
    await vfs.mount(h, '/mnt');
    return { vfs, ctx };
  }

  it('reads host files; ".." at the mount root leaves to the guest namespace, not the host', async () => {
    const { vfs, ctx } = await setup(true);
    expect((await readAll(vfs, ctx, '/mnt/file')).toString()).toBe('shared file');
    expect((await readAll(vfs, ctx, '/mnt/../guest-file')).toString()).toBe('guest');
    expect((await readAll(vfs, ctx, '/mnt/sub/../../guest-file')).toString()).toBe('guest');
    expect(await errno(vfs.stat(ctx, undefined, '/mnt/../outside/secret'))).toBe(Errno.ENOENT);
  });

  it('host symlinks resolve inside the guest namespace (no escape)', async () => {
    const { vfs, ctx } = await setup(true);
    // relative: /mnt/../outside/secret → guest /outside/secret, which does not exist
    expect(await errno(readAll(vfs, ctx, '/mnt/rel-escape'))).toBe(Errno.ENOENT);
    expect(await errno(readAll(vfs, ctx, '/mnt/abs-escape'))).toBe(Errno.ENOENT);
    expect(await errno(vfs.stat(ctx, undefined, '/mnt/dir-escape/secret'))).toBe(Errno.ENOENT);
    expect(await vfs.readlink(ctx, undefined, '/mnt/rel-escape')).toBe('../outside/secret');
  });

  it('hides host special files and refuses to create them', async () => {
    const { vfs, ctx } = await setup(false);
    expect(await errno(vfs.stat(ctx, undefined, '/mnt/fifo'))).toBe(Errno.ENOENT);
    expect((await listDir(vfs, ctx, '/mnt')).includes('fifo')).toBe(false);
    expect(await errno(vfs.mknod(ctx, undefined, '/mnt/newfifo', 0o010644))).toBe(Errno.EPERM);
    expect(fs.existsSync(path.join(shared, 'newfifo'))).toBe(false);
  });

  it('read-only mounts refuse writes with EROFS; read-write mounts write through', async () => {
    const ro = await setup(true);
    expect(await errno(ro.vfs.open(ro.ctx, undefined, '/mnt/file', O_RDWR))).toBe(Errno.EROFS);
    expect(await errno(ro.vfs.mkdir(ro.ctx, undefined, '/mnt/x', 0o755))).toBe(Errno.EROFS);
    const rw = await setup(false);
    const f = await rw.vfs.open(rw.ctx, undefined, '/mnt/created', O_WRONLY | O_CREAT, 0o644);
    await f.write(Buffer.from('from guest'));
    expect(fs.readFileSync(path.join(shared, 'created'), 'utf8')).toBe('from guest');
  });

  it('a directory swapped for a symlink on the host is not followed (race)', async () => {
    const { vfs, ctx } = await setup(false);
    fs.mkdirSync(path.join(shared, 'racy'));
    fs.writeFileSync(path.join(shared, 'racy', 'secret'), 'inside');
    expect((await readAll(vfs, ctx, '/mnt/racy/secret')).toString()).toBe('inside');
    // the host swaps the directory for a symlink to the outside
    fs.renameSync(path.join(shared, 'racy'), path.join(shared, 'racy-old'));
    fs.symlinkSync(outside, path.join(shared, 'racy'));
    const r = await errno(readAll(vfs, ctx, '/mnt/racy/secret'));
    expect(r).not.toBe('ok');
    // writing through the swapped name cannot create files outside either
    await errno(vfs.open(ctx, undefined, '/mnt/racy/planted', O_WRONLY | O_CREAT, 0o644));
    expect(fs.existsSync(path.join(outside, 'planted'))).toBe(false);
  });
});

describe('procfs', () => {
  async function setup(): Promise<{ vfs: Vfs; ctx: FsContext; exe: PathRef }> {
    const vfs = new Vfs();
    await vfs.mount(new TmpFs());
    const ctx0 = vfs.newContext();
    await vfs.mkdir(ctx0, undefined, '/proc', 0o555);
    await vfs.mkdir(ctx0, undefined, '/bin', 0o755);
    const f = await vfs.open(ctx0, undefined, '/bin/prog', O_WRONLY | O_CREAT, 0o755);
    await f.write(Buffer.from('ELF'));
    const exe = await vfs.resolve(ctx0, undefined, '/bin/prog');
    const provider: ProcProvider = {
      pids: () => [1, 42],
      tids: (pid) => (pid === 42 ? [42, 43] : [pid]),
      owner: (pid) => (pid === 1 || pid === 42 ? { uid: pid === 42 ? 1000 : 0, gid: 0 } : null),
      pidFile: (pid, name) =>
        name === 'cmdline' ? `prog\0--pid=${pid}\0` : name === 'status' ? `Name:\tprog\nPid:\t${pid}\n` : null,
      pidFileNames: () => ['cmdline', 'status', 'environ'],
      pidLink: (_pid, name) => (name === 'exe' ? exe : name === 'cwd' ? vfs.rootRef() : vfs.rootRef()),
      fds: () => [0, 1, 5],
      fdLink: (_pid, fd) => (fd === 5 ? exe : fd <= 1 ? 'pipe:[7]' : null),
      globalFile: (name) => (name === 'uptime' ? '12.00 10.00\n' : name === 'cpuinfo' ? 'processor\t: 0\n' : null),
      globalFileNames: () => ['uptime', 'cpuinfo'],
    };
    await vfs.mount(new ProcFs(vfs, provider), '/proc');
    const ctx = { ...vfs.newContext({ uid: 1000, gid: 0, groups: [] }, 42), tid: 43 };
    return { vfs, ctx, exe };
  }

  it('serves /proc/self, pid directories, files, magic links and fds', async () => {
    const { vfs, ctx } = await setup();
    expect(await vfs.readlink(ctx, undefined, '/proc/self')).toBe('42');
    expect((await readAll(vfs, ctx, '/proc/self/cmdline')).toString()).toBe('prog\0--pid=42\0');
    expect((await readAll(vfs, ctx, '/proc/1/status')).toString()).toContain('Pid:\t1');
    expect((await readAll(vfs, ctx, '/proc/thread-self/status')).toString()).toContain('Pid:\t42');
    expect(await vfs.readlink(ctx, undefined, '/proc/self/exe')).toBe('/bin/prog');
    expect((await readAll(vfs, ctx, '/proc/self/exe')).toString()).toBe('ELF');
    expect(await vfs.readlink(ctx, undefined, '/proc/self/fd/0')).toBe('pipe:[7]');
    expect((await readAll(vfs, ctx, '/proc/self/fd/5')).toString()).toBe('ELF');
    expect(await errno(vfs.stat(ctx, undefined, '/proc/self/fd/9'))).toBe(Errno.ENOENT);
    expect(await errno(vfs.stat(ctx, undefined, '/proc/77'))).toBe(Errno.ENOENT);
    expect((await listDir(vfs, ctx, '/proc')).sort()).toEqual(
      ['1', '42', 'cpuinfo', 'mounts', 'self', 'thread-self', 'uptime'].sort(),
    );
    expect((await listDir(vfs, ctx, '/proc/42/task')).sort()).toEqual(['42', '43']);
    expect(await listDir(vfs, ctx, '/proc/self/fd')).toEqual(['0', '1', '5']);
    expect((await readAll(vfs, ctx, '/proc/uptime')).toString()).toBe('12.00 10.00\n');
    const mounts = (await readAll(vfs, ctx, '/proc/mounts')).toString();
    expect(mounts).toContain('tmpfs / tmpfs rw 0 0');
    expect(mounts).toContain('proc /proc proc rw 0 0');
    // environ is private to the owner
    expect(await errno(readAll(vfs, ctx, '/proc/1/environ'))).toBe(Errno.EACCES);
    expect(await errno(vfs.mkdir(ctx, undefined, '/proc/x', 0o755))).not.toBe('ok');
  });
});

describe('devfs and sysfs', () => {
  async function setup(): Promise<{ vfs: Vfs; ctx: FsContext; devfs: DevFs }> {
    let n = 0;
    const vfs = new Vfs({ random: (b) => b.fill(n++ & 0xff) });
    await vfs.mount(new TmpFs());
    const ctx = vfs.newContext();
    await vfs.mkdir(ctx, undefined, '/dev', 0o755);
    await vfs.mkdir(ctx, undefined, '/sys', 0o555);
    const devfs = new DevFs();
    await vfs.mount(devfs, '/dev');
    await vfs.mount(new SysFs(), '/sys');
    return { vfs, ctx, devfs };
  }

  it('null, zero, full, random, urandom behave like Linux', async () => {
    const { vfs, ctx } = await setup();
    const nul = await vfs.open(ctx, undefined, '/dev/null', O_RDWR);
    expect(await nul.read(new Uint8Array(10))).toBe(0);
    expect(await nul.write(new Uint8Array(100))).toBe(100);
    const zero = await vfs.open(ctx, undefined, '/dev/zero', O_RDONLY);
    const b = new Uint8Array(64).fill(9);
    expect(await zero.read(b)).toBe(64);
    expect(b.every((x) => x === 0)).toBe(true);
    const full = await vfs.open(ctx, undefined, '/dev/full', O_RDWR);
    expect(await errno(full.write(new Uint8Array(1)))).toBe(Errno.ENOSPC);
    const ur = await vfs.open(ctx, undefined, '/dev/urandom', O_RDONLY);
    const r = new Uint8Array(16);
    await ur.read(r);
    expect(r.every((x) => x === r[0])).toBe(true); // the seeded source we passed
    expect(await errno(nul.ioctl(0x5401, 0))).toBe(Errno.ENOTTY);
  });

  it('tty and console go to the character device the kernel registers', async () => {
    const { vfs, ctx, devfs } = await setup();
    expect(await errno(vfs.open(ctx, undefined, '/dev/tty', O_RDWR))).toBe(Errno.ENXIO);
    const out: string[] = [];
    const tty: CharDevice = {
      write: (_f, d) => {
        out.push(Buffer.from(d).toString());
        return d.length;
      },
      read: () => 0,
      ioctl: (_f, cmd) => (cmd === 0x5413 ? 0 : -1),
    };
    vfs.registerCharDevice(5, 0, tty);
    vfs.registerCharDevice(5, 1, tty);
    const t = await vfs.open(ctx, undefined, '/dev/tty', O_RDWR);
    await t.write(Buffer.from('hi'));
    const c = await vfs.open(ctx, undefined, '/dev/console', O_WRONLY);
    await c.write(Buffer.from('!'));
    expect(out.join('')).toBe('hi!');
    expect(await t.ioctl(0x5413, 0)).toBe(0);
    devfs.addNode('ttyS0', 0o020620, makedev(4, 64));
    expect(await errno(vfs.open(ctx, undefined, '/dev/ttyS0', O_RDWR))).toBe(Errno.ENXIO);
    expect(await vfs.readlink(ctx, undefined, '/dev/stdout')).toBe('/proc/self/fd/1');
    // a char node made with mknod elsewhere reaches the same device
    await vfs.mknod(ctx, undefined, '/mynull', 0o020666, makedev(1, 3));
    const mn = await vfs.open(ctx, undefined, '/mynull', O_RDWR);
    expect(await mn.write(new Uint8Array(3))).toBe(3);
  });

  it('sysfs has the cpu topology files and is read-only', async () => {
    const { vfs, ctx } = await setup();
    expect((await readAll(vfs, ctx, '/sys/devices/system/cpu/online')).toString()).toBe('0\n');
    expect(await errno(vfs.open(ctx, undefined, '/sys/devices/system/cpu/online', O_WRONLY))).toBe(Errno.EROFS);
  });
});
