import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Errno } from './errno';
import { HostFs } from './hostfs';
import { OverlayFs } from './overlay';
import { TmpFs } from './tmpfs';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, O_CREAT, O_RDONLY, O_RDWR } from './types';
import { Vfs } from './vfs';

const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

async function fileOn(fs: TmpFs | OverlayFs | HostFs, name = '/f', flags = O_RDWR | O_CREAT) {
  const vfs = new Vfs();
  await vfs.mount(fs);
  return vfs.open(vfs.newContext(), undefined, name, flags, 0o644);
}

describe('fallocate on tmpfs', () => {
  it('charges the whole range at once: ENOSPC leaves size, blocks and usage as they were', async () => {
    const fs = new TmpFs({ maxBytes: 64 * 1024 });
    const f = await fileOn(fs);
    await f.write(new Uint8Array(5000).fill(1));
    const before = { ...f.stat(), used: fs.usedBytes };
    await expect(f.allocate(0, 0, 1 << 20)).rejects.toMatchObject({ errno: Errno.ENOSPC });
    expect(f.stat().size).toBe(before.size);
    expect(f.stat().blocks).toBe(before.blocks);
    expect(fs.usedBytes).toBe(before.used);
    await f.allocate(FALLOC_FL_KEEP_SIZE, 0, 32 * 1024);
    expect(f.stat().size).toBe(5000);
    expect(f.stat().blocks).toBe(64);
  });

  it('punches a sparse file with pages far apart without visiting every index between', async () => {
    const f = await fileOn(new TmpFs());
    await f.pwrite(new Uint8Array([7]), 0);
    await f.pwrite(new Uint8Array([8]), 2 ** 40);
    expect(f.stat().blocks).toBe(16);
    await f.allocate(PUNCH, 0, 2 ** 41);
    expect(f.stat().blocks).toBe(0);
    expect(f.stat().size).toBe(2 ** 40 + 1);
    const b = new Uint8Array(1);
    await f.pread(b, 2 ** 40);
    expect(b[0]).toBe(0);
  });

  it('refuses other modes, read-only descriptions and directories', async () => {
    const fs = new TmpFs();
    const f = await fileOn(fs);
    await expect(f.allocate(0x10, 0, 4096)).rejects.toMatchObject({ errno: Errno.EOPNOTSUPP });
    const vfs = new Vfs();
    await vfs.mount(fs);
    const ro = await vfs.open(vfs.newContext(), undefined, '/f', O_RDONLY);
    await expect(ro.allocate(0, 0, 4096)).rejects.toMatchObject({ errno: Errno.EBADF });
  });
});

describe('fallocate through the overlay', () => {
  it('copies a lower file up and allocates there; the lower file is untouched', async () => {
    const lower = new TmpFs();
    const lf = await fileOn(lower);
    await lf.write(new Uint8Array(100).fill(9));
    const f = await fileOn(new OverlayFs(lower, new TmpFs({ rootMode: 0o755 })), '/f', O_RDWR);
    await f.allocate(0, 0, 10000);
    expect(f.stat().size).toBe(10000);
    expect(lf.stat().size).toBe(100);
    await f.allocate(PUNCH, 0, 50);
    const b = new Uint8Array(2);
    await f.pread(b, 49);
    expect([...b]).toEqual([0, 9]);
  });
});

describe('fallocate on a host directory', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('mode 0 extends the host file, KEEP_SIZE keeps it, PUNCH_HOLE is not supported', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lichen-falloc-'));
    writeFileSync(join(dir, 'f'), 'abc');
    const f = await fileOn(await HostFs.open(dir), '/f', O_RDWR);
    await f.allocate(FALLOC_FL_KEEP_SIZE, 0, 1 << 20);
    expect(statSync(join(dir, 'f')).size).toBe(3);
    await f.allocate(0, 0, 9000);
    expect(statSync(join(dir, 'f')).size).toBe(9000);
    expect(f.stat().size).toBe(9000);
    await expect(f.allocate(PUNCH, 0, 4096)).rejects.toMatchObject({ errno: Errno.EOPNOTSUPP });
  });
});
