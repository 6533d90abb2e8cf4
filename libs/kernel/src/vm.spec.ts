import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostFs, makedev, type Vfs } from '@lichen/vfs';
import { afterAll, describe, expect, it, vi } from 'vitest';
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
    const root = vfs.rootRef().mnt.fs;
    if (root instanceof HostFs) await root.close();
  });
});

/** A static aarch64 ELF: readlinkat(AT_FDCWD, "/proc/self/exe", sp - 128, 64), then exit_group(its result). */
function readlinkProgram(): Uint8Array {
  const code = [
    0x92800c60, // movn x0, #99 (AT_FDCWD)
    0x100000e1, // adr x1, path (7 instructions ahead)
    0xd10203e2, // sub x2, sp, #128
    0xd2800803, // movz x3, #64
    0xd28009c8, // movz x8, #78 (readlinkat)
    0xd4000001, // svc #0
    0xd2800bc8, // movz x8, #94 (exit_group)
    0xd4000001, // svc #0
  ];
  const path = Buffer.from('/proc/self/exe\0', 'latin1');
  const base = 0x400000;
  const size = 120 + code.length * 4 + path.length;
  const elf = Buffer.alloc(size);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(183, 18); // EM_AARCH64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(base + 120), 24); // e_entry
  elf.writeBigUInt64LE(64n, 32); // e_phoff
  elf.writeUInt16LE(64, 52); // e_ehsize
  elf.writeUInt16LE(56, 54); // e_phentsize
  elf.writeUInt16LE(1, 56); // e_phnum
  elf.writeUInt32LE(1, 64); // PT_LOAD
  elf.writeUInt32LE(5, 68); // R+X
  elf.writeBigUInt64LE(BigInt(base), 80); // p_vaddr
  elf.writeBigUInt64LE(BigInt(base), 88); // p_paddr
  elf.writeBigUInt64LE(BigInt(size), 96); // p_filesz
  elf.writeBigUInt64LE(BigInt(size), 104); // p_memsz
  elf.writeBigUInt64LE(0x1000n, 112); // p_align
  code.forEach((insn, i) => elf.writeUInt32LE(insn, 120 + 4 * i));
  elf.set(path, 120 + code.length * 4);
  return elf;
}

describe('waiting for host operations', () => {
  it('lets a VFS call on in-memory data settle without arming a host timer', async () => {
    const vm = createVm(
      {
        argv: ['/prog'],
        rootfs: { kind: 'tmpfs' },
        files: [{ path: '/prog', content: readlinkProgram(), mode: 0o755 }],
      },
      { stdout: () => undefined, stderr: () => undefined, signal: new AbortController().signal },
    );
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const r = await vm.run();
      expect(r.status).toBe('exited');
      expect(r.exitCode).toBe('/prog'.length); // readlinkat's result
      expect(r.stats.syscalls).toEqual({ readlinkat: 1, exit_group: 1 });
      expect(timers).not.toHaveBeenCalled();
    } finally {
      timers.mockRestore();
    }
  });
});
