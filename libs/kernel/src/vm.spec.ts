import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makedev, type Vfs } from '@lichen/vfs';
import { afterAll, describe, expect, it } from 'vitest';
import { Errno } from './errno';
import { KernelProcProvider } from './misc/procfs';
import { buildNamespace, createVm } from './vm';
import type { VmConfig } from './vm-api';

describe('the end of a run', () => {
  it('drops the kernel references to tasks, processes, timers and the namespace (Kernel.release)', async () => {
    const vm = createVm(
      { argv: ['/no/such/program'], rootfs: { kind: 'tmpfs' } },
      { stdout: () => undefined, stderr: () => undefined },
    );
    const k = vm.kernel;
    const r = await vm.run();
    expect(r.status).toBe('internal_error');
    expect(r.cliExitCode).toBe(127);
    expect(k.tasks.size).toBe(0);
    expect(k.processes.size).toBe(0);
    expect(k.init).toBeNull();
    expect(k.current).toBeNull();
    expect(k.timers.size).toBe(0);
    // a late operation fails cleanly (ENOENT) instead of reaching the old namespace
    expect(() => k.vfs.newContext()).toThrow(expect.objectContaining({ errno: Errno.ENOENT }));
  });
});

describe('the namespace', () => {
  const hostDirs: string[] = [];
  afterAll(() => {
    for (const d of hostDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  async function namespace(config: VmConfig): Promise<Vfs> {
    const k = createVm(config, { stdout: () => undefined, stderr: () => undefined }).kernel;
    return (await buildNamespace(k, config, new KernelProcProvider(k))).vfs;
  }
  const mounted = (vfs: Vfs): string[] => vfs.mounts().map((m) => `${m.target} ${m.fstype} ${m.options}`);

  it('makes the missing mount points of an empty root and mounts proc, dev, sys and tmp there', async () => {
    const vfs = await namespace({ argv: ['/x'], rootfs: { kind: 'tmpfs' } });
    expect(mounted(vfs)).toEqual(['/ tmpfs rw', '/proc proc rw', '/dev devtmpfs rw', '/sys sysfs ro', '/tmp tmpfs rw']);
    const ctx = vfs.newContext();
    expect((await vfs.stat(ctx, undefined, '/sys/devices/system/cpu/online')).size).toBe(2);
    expect((await vfs.stat(ctx, undefined, '/dev/null')).rdev).toBe(makedev(1, 3));
  });

  it('mounts on the mount points the root has, and skips one that is not a directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-ns-'));
    hostDirs.push(dir);
    fs.mkdirSync(path.join(dir, 'proc'), { mode: 0o500 });
    fs.writeFileSync(path.join(dir, 'tmp'), 'a file');
    const vfs = await namespace({ argv: ['/x'], rootfs: { kind: 'host', path: dir } });
    expect(mounted(vfs).map((m) => m.split(' ')[0])).toEqual(['/', '/proc', '/dev', '/sys']);
    // the existing directory was used as it is; the missing ones were made
    expect(fs.statSync(path.join(dir, 'proc')).mode & 0o777).toBe(0o500);
    expect(fs.statSync(path.join(dir, 'dev')).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'tmp'), 'utf8')).toBe('a file');
  });
});
