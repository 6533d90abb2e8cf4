import { describe, expect, it } from 'vitest';
import { Errno } from './errno';
import { OverlayFs } from './overlay';
import { TmpFs } from './tmpfs';
import { AT_EMPTY_PATH, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TMPFILE } from './types';
import { Vfs } from './vfs';

async function mounted(fs: TmpFs | OverlayFs) {
  const vfs = new Vfs();
  await vfs.mount(fs);
  return { vfs, ctx: vfs.newContext() };
}

describe('O_TMPFILE', () => {
  it('an unnamed file gives its inode and data back to the quota at its last close', async () => {
    const fs = new TmpFs({ maxInodes: 2 });
    const { vfs, ctx } = await mounted(fs);
    const before = fs.usedBytes;
    const f = await vfs.open(ctx, undefined, '/', O_TMPFILE | O_RDWR, 0o600);
    await f.write(new Uint8Array(10000));
    expect(f.stat().nlink).toBe(0);
    expect(fs.usedBytes).toBeGreaterThan(before + 10000);
    await f.release();
    expect(fs.usedBytes).toBe(before);
    // The inode came back too: two named files fit under maxInodes (the root is not counted).
    for (const n of ['a', 'b']) await (await vfs.open(ctx, undefined, `/${n}`, 0o100 | O_RDWR, 0o600)).release();
    await expect(vfs.open(ctx, undefined, '/c', 0o100 | O_RDWR, 0o600)).rejects.toMatchObject({ errno: Errno.ENOSPC });
  });

  it('a linked one keeps its data after the close; an O_EXCL one cannot be linked', async () => {
    const { vfs, ctx } = await mounted(new TmpFs());
    const f = await vfs.open(ctx, undefined, '/', O_TMPFILE | O_RDWR, 0o600);
    await f.write(new TextEncoder().encode('kept'));
    await vfs.link(ctx, f.path, '', undefined, '/kept', AT_EMPTY_PATH);
    await f.release();
    const g = await vfs.open(ctx, undefined, '/kept', O_RDONLY);
    const b = new Uint8Array(4);
    await g.read(b);
    expect(new TextDecoder().decode(b)).toBe('kept');
    const x = await vfs.open(ctx, undefined, '/', O_TMPFILE | O_RDWR | O_EXCL, 0o600);
    await expect(vfs.link(ctx, x.path, '', undefined, '/x', AT_EMPTY_PATH)).rejects.toMatchObject({
      errno: Errno.ENOENT,
    });
  });

  it('refuses __O_TMPFILE without O_DIRECTORY, read-only opens and a path that is not a directory', async () => {
    const { vfs, ctx } = await mounted(new TmpFs());
    await expect(vfs.open(ctx, undefined, '/', (O_TMPFILE & ~O_DIRECTORY) | O_RDWR, 0o600)).rejects.toMatchObject({
      errno: Errno.EINVAL,
    });
    await expect(vfs.open(ctx, undefined, '/', O_TMPFILE | O_RDONLY, 0o600)).rejects.toMatchObject({
      errno: Errno.EINVAL,
    });
    await (await vfs.open(ctx, undefined, '/f', 0o100 | O_RDWR, 0o600)).release();
    await expect(vfs.open(ctx, undefined, '/f', O_TMPFILE | O_RDWR, 0o600)).rejects.toMatchObject({
      errno: Errno.ENOTDIR,
    });
  });

  it('on the overlay the file lives in the upper layer and its name appears there once linked', async () => {
    const lower = new TmpFs();
    const upper = new TmpFs({ rootMode: 0o755 });
    const { vfs, ctx } = await mounted(new OverlayFs(lower, upper));
    const f = await vfs.open(ctx, undefined, '/', O_TMPFILE | O_RDWR, 0o644);
    await f.write(new Uint8Array([1, 2, 3]));
    await vfs.link(ctx, f.path, '', undefined, '/named', AT_EMPTY_PATH);
    expect((await vfs.stat(ctx, undefined, '/named')).size).toBe(3);
    expect((await upper.root()).entries!.has('named')).toBe(true);
    expect((await lower.root()).entries!.has('named')).toBe(false);
  });
});
