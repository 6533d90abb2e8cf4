/**
 * Corrupt-image fuzzing of the ext4 reader: seeded bit flips, byte smashes and truncation in
 * the superblock, group descriptors, inode tables, extent/indirect blocks and directory
 * blocks of a real image; then a full walk (readdir, stat, read, readlink) through the Vfs.
 * A case passes when every operation returns data or a VfsError, the walk finishes within a
 * time limit, and nothing else is thrown.
 */
import type { BlockDevice } from '@lichen/vfs';
import { AT_SYMLINK_NOFOLLOW, Ext4Fs, MemoryBlockDevice, O_DIRECTORY, O_RDONLY, Vfs, VfsError } from '@lichen/vfs';
import { prng } from './images';

/** Records which blocks the reader fetched through its metadata cache (one block per read). */
class RecordingDevice implements BlockDevice {
  readonly blocks = new Set<number>();
  constructor(
    private readonly inner: BlockDevice,
    private readonly bs: number,
  ) {}
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (length === this.bs && offset % this.bs === 0) this.blocks.add(offset / this.bs);
    return this.inner.read(offset, length);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface WalkStats {
  entries: number;
  bytes: number;
  errors: Map<string, number>;
}

/** Walks everything reachable, bounded in depth, entries and bytes. Throws only on non-VfsError. */
export async function walkImage(
  dev: BlockDevice,
  limits = { depth: 24, entries: 30000, bytes: 64 << 20 },
): Promise<WalkStats> {
  const stats: WalkStats = { entries: 0, bytes: 0, errors: new Map() };
  const note = (e: unknown): void => {
    if (!(e instanceof VfsError)) throw new Error(`non-VfsError escaped: ${(e as Error)?.stack ?? String(e)}`);
    const k = String(e.errno);
    stats.errors.set(k, (stats.errors.get(k) ?? 0) + 1);
  };
  let ext: Ext4Fs;
  try {
    ext = await Ext4Fs.open(dev, { cacheBlocks: 256 });
  } catch (e) {
    note(e);
    return stats;
  }
  const vfs = new Vfs();
  try {
    await vfs.mount(ext);
  } catch (e) {
    note(e);
    return stats;
  }
  const ctx = vfs.newContext();
  const buf = new Uint8Array(1 << 20);
  const walk = async (p: string, depth: number): Promise<void> => {
    if (depth > limits.depth) return;
    let names: { name: string; type: number }[] = [];
    try {
      const d = await vfs.open(ctx, undefined, p, O_RDONLY | O_DIRECTORY);
      for (let guard = 0; guard < 1000; guard++) {
        const batch = await d.readdir(256);
        if (batch.length === 0) break;
        for (const e of batch) if (e.name !== '.' && e.name !== '..') names.push(e);
        if (names.length > limits.entries) break;
      }
    } catch (e) {
      note(e);
    }
    names = names.slice(0, limits.entries);
    for (const { name } of names) {
      if (++stats.entries > limits.entries) return;
      const cp = p === '/' ? `/${name}` : `${p}/${name}`;
      try {
        const st = await vfs.stat(ctx, undefined, cp, AT_SYMLINK_NOFOLLOW);
        const t = st.mode & 0o170000;
        if (t === 0o040000) await walk(cp, depth + 1);
        else if (t === 0o120000) await vfs.readlink(ctx, undefined, cp);
        else if (t === 0o100000) {
          const f = await vfs.open(ctx, undefined, cp, O_RDONLY);
          let pos = 0;
          while (stats.bytes < limits.bytes && pos < 8 << 20) {
            const n = await f.read(buf);
            if (n === 0) break;
            pos += n;
            stats.bytes += n;
          }
          await f.seek(0, 3).catch(note);
        }
      } catch (e) {
        note(e);
      }
    }
  };
  await walk('/', 0);
  return stats;
}

/** The metadata blocks of an image (what a full walk reads through the cache). */
export async function metadataBlocks(image: Uint8Array): Promise<{ blocks: number[]; blockSize: number }> {
  const probe = await Ext4Fs.open(new MemoryBlockDevice(image));
  const bs = probe.blockSize;
  const rec = new RecordingDevice(new MemoryBlockDevice(image), bs);
  await walkImage(rec);
  return { blocks: [...rec.blocks].sort((a, b) => a - b), blockSize: bs };
}

export interface FuzzCase {
  seed: number;
  description: string;
  image: Uint8Array;
}

/** Makes one corrupt image from a pristine one. */
export function mutate(base: Uint8Array, meta: { blocks: number[]; blockSize: number }, seed: number): FuzzCase {
  const r = prng(seed * 2654435761 + 1);
  const rnd = (n: number): number => r() % n;
  const img = base.slice();
  const bs = meta.blockSize;
  const kind = rnd(10);
  let region: [number, number];
  let where: string;
  if (kind === 0) {
    const len = 1024 + rnd(img.length - 1024);
    return { seed, description: `truncate to ${len}`, image: img.slice(0, len) };
  }
  if (kind <= 2) {
    region = [1024, 2048];
    where = 'superblock';
  } else if (kind === 3) {
    const gdt = bs === 1024 ? 2 : 1;
    region = [gdt * bs, gdt * bs + bs];
    where = 'group descriptors';
  } else {
    const b = meta.blocks[rnd(meta.blocks.length)];
    region = [b * bs, b * bs + bs];
    where = `metadata block ${b}`;
  }
  const mode = rnd(3);
  const n = 1 + rnd(16);
  for (let i = 0; i < n; i++) {
    const off = region[0] + rnd(region[1] - region[0]);
    if (mode === 0) img[off] ^= 1 << rnd(8);
    else if (mode === 1) img[off] = r() & 0xff;
    else img[off] = [0, 0xff, 0x7f, 0x80][rnd(4)];
  }
  return { seed, description: `${['bit flips', 'random bytes', 'extreme bytes'][mode]} ×${n} in ${where}`, image: img };
}

/** Runs one case with a time limit; resolves to a failure message or null. */
export async function runCase(c: FuzzCase, timeoutMs = 20_000, errnos?: Map<string, number>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((res) => {
    timer = setTimeout(
      () => res(`seed ${c.seed} (${c.description}): walk did not finish in ${timeoutMs} ms`),
      timeoutMs,
    );
  });
  const run = walkImage(new MemoryBlockDevice(c.image)).then(
    (st) => {
      for (const [k, v] of st.errors) errnos?.set(k, (errnos.get(k) ?? 0) + v);
      return null;
    },
    (e: unknown) => `seed ${c.seed} (${c.description}): ${(e as Error).message}`,
  );
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
