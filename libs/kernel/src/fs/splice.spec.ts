import { createAddressSpace, createPhysicalMemory, guestAddr, PROT_READ, PROT_WRITE, type Cpu } from '@lichen/machine';
import { O_CREAT, O_RDWR, TmpFs, Vfs } from '@lichen/vfs';
import { describe, expect, it, vi } from 'vitest';
import { Errno, KernelError } from '../errno';
import { Mm } from '../mm/mm';
import { SyscallArgs } from '../syscalls/args';
import { RLIM_INFINITY, RLIMIT_NLIMITS, Task } from '../task';
import { readU64Big, userAddr, writeU64Big } from '../uaccess';
import { createVm } from '../vm';
import { FdTable } from './file';
import { makePipe } from './pipe';
import { spliceSyscalls, verifyArea } from './splice';
import { VfsFile } from './vfs-file';

const OFF = userAddr(0x10000);

/** A kernel, a caller with one page of user memory at 0x10000, and files on a tmpfs. */
async function setup() {
  const k = createVm(
    { argv: ['/x'], rootfs: { kind: 'tmpfs' } },
    { stdout: () => undefined, stderr: () => undefined },
  ).kernel;
  const vfs = new Vfs();
  await vfs.mount(new TmpFs());
  const ctx = vfs.newContext();
  const mm = new Mm(createAddressSpace(createPhysicalMemory(1 << 20)));
  mm.as.mapAnonymous(guestAddr(0x10000), 0x1000, PROT_READ | PROT_WRITE);
  // the caller identity and the state splice reads (no sleeping in these cases)
  const t = Object.create(Task.prototype) as Task;
  Object.assign(t, { mm, files: new FdTable(64), pending: 0n, sigmask: 0n });
  const rlimits = Array.from({ length: RLIMIT_NLIMITS }, () => ({ cur: RLIM_INFINITY, max: RLIM_INFINITY }));
  Object.defineProperty(t, 'process', { value: { rlimits, sharedPending: 0n } });

  const file = async (path: string, content = new Uint8Array(0)): Promise<{ f: VfsFile; fd: number }> => {
    const f = new VfsFile(k, await vfs.open(ctx, undefined, path, O_RDWR | O_CREAT, 0o644));
    await f.pwrite(t, content, 0);
    return { f, fd: t.files.alloc(f, false) };
  };
  const pipe = (): { r: number; w: number; write: (s: string) => void; peek: () => string } => {
    const [r, w] = makePipe(k, 0);
    return {
      r: t.files.alloc(r, false),
      w: t.files.alloc(w, false),
      write: (s) => void w.write(t, Buffer.from(s)),
      peek: () => Buffer.from(r.pipe.peek(1 << 20)).toString(),
    };
  };
  /** Calls a handler with these register values; an error comes back as -errno. */
  const call = async (name: string, ...args: (number | bigint)[]): Promise<number> => {
    const regs = args.map((x) => BigInt.asUintN(64, BigInt(x)));
    const reg = (n: number): bigint => regs[n] ?? 0n;
    const cpu = {
      getX: reg,
      getXNumber: (n: number) => Number(reg(n)),
      getW: (n: number) => Number(BigInt.asIntN(32, reg(n))),
    };
    try {
      return await (spliceSyscalls[name].handler?.(k, t, new SyscallArgs(cpu as unknown as Cpu)) ?? -Errno.ENOSYS);
    } catch (e) {
      if (e instanceof KernelError) return -e.errno;
      throw e;
    }
  };
  return { t, file, pipe, call };
}

describe('splice', () => {
  it('leaves the bytes in the pipe, in order, when the file write fails or falls short', async () => {
    const { file, pipe, call } = await setup();
    const p = pipe();
    const { f, fd } = await file('/out');
    p.write('abcdef');
    vi.spyOn(f.file, 'write').mockRejectedValueOnce(new KernelError(Errno.ENOSPC));
    expect(await call('splice', p.r, 0, fd, 0, 100, 0)).toBe(-Errno.ENOSPC);
    expect(p.peek()).toBe('abcdef');
    vi.spyOn(f.file, 'write').mockResolvedValueOnce(2);
    expect(await call('splice', p.r, 0, fd, 0, 100, 0)).toBe(2);
    expect(p.peek()).toBe('cdef');
    expect(await call('splice', p.r, 0, fd, 0, 100, 0)).toBe(4);
    expect(p.peek()).toBe('');
  });

  it('checks ranges as rw_verify_area does', () => {
    const inval = (pos: bigint, count: bigint): void =>
      expect(() => verifyArea(pos, count)).toThrow(expect.objectContaining({ errno: Errno.EINVAL }));
    verifyArea(0n, (1n << 63n) - 1n);
    verifyArea((1n << 63n) - 2n, 1n);
    inval(-1n, 0n);
    inval(0n, 1n << 63n);
    inval((1n << 63n) - 2n, 2n);
  });
});

describe('copy_file_range', () => {
  it('copies a large range through bounded buffers and advances both file positions', async () => {
    const { t, file, call } = await setup();
    const data = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => (i * 7) & 0xff);
    const src = await file('/src', data);
    const dst = await file('/dst');
    const reads = vi.spyOn(src.f, 'pread');
    expect(await call('copy_file_range', src.fd, 0, dst.fd, 0, 2n ** 40n, 0)).toBe(data.length);
    expect(Math.max(...reads.mock.calls.map((c) => c[1]))).toBeLessThanOrEqual(1 << 20);
    expect(src.f.file.pos).toBe(data.length);
    expect(dst.f.file.pos).toBe(data.length);
    expect(Buffer.from(await dst.f.pread(t, data.length + 1, 0)).equals(Buffer.from(data))).toBe(true);
  });

  it('shortens a copy to the largest file offset and writes the exact 64-bit offset back', async () => {
    const { t, file, call } = await setup();
    const src = await file('/src', new Uint8Array(20));
    const dst = await file('/dst');
    const writes = vi.spyOn(dst.f, 'pwrite').mockImplementation(async (_t, d) => d.length);
    writeU64Big(t.mm.as, OFF, (1n << 63n) - 16n);
    expect(await call('copy_file_range', src.fd, 0, dst.fd, OFF, 100, 0)).toBe(15);
    expect(writes.mock.calls[0][1].length).toBe(15);
    expect(readU64Big(t.mm.as, OFF)).toBe((1n << 63n) - 1n);
    expect(await call('copy_file_range', src.fd, 0, dst.fd, OFF, 100, 0)).toBe(-Errno.EFBIG);
  });
});
