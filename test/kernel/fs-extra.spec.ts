// Extended attributes, inotify, fallocate, O_TMPFILE and /proc/self/fd reopening
// (test/guest/sys_xattr.c, sys_inotify.c, sys_fallocate.c, sys_tmpfile.c, sys_procfd.c) under
// Lichen and under qemu-aarch64-static (the reference, forwarding to the host kernel): stdout,
// stderr and exit status must be equal. The programs work in a fresh directory on tmpfs.
import { describe, expect, it } from 'vitest';
import { IN_ALL_EVENTS, IN_CREATE, IN_Q_OVERFLOW, TmpFs, Vfs } from '@lichen/vfs';
import { hubOf, InotifyFile } from '../../libs/kernel/src/fs/inotify';
import type { Task } from '../../libs/kernel/src/task';
import { fixture, runQemu } from '../support';
import { runLichen } from './lichen';

async function compare(name: string, args: string[] = []): Promise<void> {
  const bin = fixture(name, 'static');
  const q = await runQemu(bin, { args });
  expect(q.exitCode, `qemu run of ${name}: ${q.stderr}`).toBe(0);
  const l = await runLichen(bin, { args, deterministic: { seed: 1 } });
  expect(l.result.message ?? '', 'Lichen run message').not.toMatch(/internal|deadlock/);
  expect(l.stdout).toBe(q.stdout);
  expect(l.stderr).toBe(q.stderr);
  expect(l.exitCode).toBe(q.exitCode);
}

describe('filesystem extras: Lichen vs qemu', () => {
  it('sys_xattr: extended attributes', () => compare('sys_xattr'));
  it('sys_inotify: inotify events, queue and fd semantics', () => compare('sys_inotify'));
  it('sys_fallocate: allocate, keep size, punch hole, refused modes and file types', () => compare('sys_fallocate'));
  it('sys_tmpfile: O_TMPFILE files, named by linkat or never (O_EXCL), refused flags', () => compare('sys_tmpfile'));
  it('sys_procfd: pipes reopened through /proc/self/fd; a socket is ENXIO', () => compare('sys_procfd'));
});

describe('inotify queue accounting', () => {
  it('charges queued events to the memory quota; an event the quota refuses is an overflow', async () => {
    const vfs = new Vfs();
    await vfs.mount(new TmpFs());
    let used = 0;
    const charge = (n: number): boolean => {
      if (n > 0 && used + n > 1000) return false;
      used += n;
      return true;
    };
    const hub = hubOf(vfs);
    const f = new InotifyFile(hub, 0, 0o4000, charge);
    const root = vfs.rootRef().dentry.node!;
    expect(f.addWatch(root, IN_ALL_EVENTS)).toBe(1);
    expect(vfs.watches).toBe(1);
    for (let i = 0; i < 50; i++) hub.dirEvent(root, IN_CREATE, `name${i}`, 0);
    // 32-byte records + 64 bytes of bookkeeping: ten fit in 1000 bytes, then one IN_Q_OVERFLOW
    expect(used).toBe(960);
    const out = (await f.read(undefined as unknown as Task, 1 << 16)) as Uint8Array;
    expect(out.length).toBe(10 * 32 + 16);
    const dv = new DataView(out.buffer, out.byteOffset);
    expect(dv.getInt32(320, true)).toBe(-1);
    expect(dv.getUint32(324, true)).toBe(IN_Q_OVERFLOW);
    expect(used).toBe(0);
    hub.dirEvent(root, IN_CREATE, 'again', 0);
    expect(used).toBe(96);
    f.release();
    expect(used).toBe(0);
    expect(vfs.watches).toBe(0);
  });
});
