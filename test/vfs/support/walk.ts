/** Helpers that read a whole file or directory through the Vfs. */
import { AT_SYMLINK_NOFOLLOW, O_DIRECTORY, O_RDONLY, type FsContext, type Vfs } from '@lichen/vfs';

export async function readAll(vfs: Vfs, ctx: FsContext, path: string): Promise<Buffer> {
  const f = await vfs.open(ctx, undefined, path, O_RDONLY);
  const chunks: Buffer[] = [];
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await f.read(buf);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  await f.release();
  return Buffer.concat(chunks);
}

export async function listDir(vfs: Vfs, ctx: FsContext, path: string): Promise<string[]> {
  const d = await vfs.open(ctx, undefined, path, O_RDONLY | O_DIRECTORY);
  const names: string[] = [];
  for (;;) {
    const batch = await d.readdir(500);
    if (batch.length === 0) break;
    for (const e of batch) if (e.name !== '.' && e.name !== '..') names.push(e.name);
  }
  await d.release();
  return names;
}

export async function lstat(vfs: Vfs, ctx: FsContext, path: string) {
  return vfs.stat(ctx, undefined, path, AT_SYMLINK_NOFOLLOW);
}
