import { Ext4Fs, O_RDONLY, Vfs, type BlockDevice } from '../../../libs/vfs/src';

/** Reads whole files from an ext4 block device through the Lichen VFS (path walk, symlinks). */
export async function readFilesThroughVfs(dev: BlockDevice, paths: string[]): Promise<Map<string, Uint8Array>> {
  const fs = await Ext4Fs.open(dev);
  const vfs = new Vfs();
  await vfs.mount(fs);
  const ctx = vfs.newContext();
  const out = new Map<string, Uint8Array>();
  for (const path of paths) {
    const f = await vfs.open(ctx, undefined, path, O_RDONLY);
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (true) {
      const buf = new Uint8Array(64 * 1024);
      const n = await f.read(buf);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    const all = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    out.set(path, all);
    f.release?.();
  }
  return out;
}

/** The PT_INTERP path of a 64-bit little-endian ELF, or undefined for a static binary. */
export function elfInterpreter(elf: Uint8Array): string | undefined {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (v.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not an ELF64 LE file');
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  const phnum = v.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (v.getUint32(o, true) === 3) {
      const off = Number(v.getBigUint64(o + 8, true));
      const size = Number(v.getBigUint64(o + 32, true));
      return Buffer.from(elf.subarray(off, off + size))
        .toString('latin1')
        .replace(/\0+$/, '');
    }
  }
  return undefined;
}
