import { open } from 'node:fs/promises';
import type { BlockDevice } from '@lichen/vfs';
import { crc16, crc32cRaw } from './crc32c';

/** Why an image was refused; `code` is stable for API error bodies. */
export class ImageValidationError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImageValidationError';
  }
}

export interface Ext4Summary {
  /** 'ext2' | 'ext3' | 'ext4', from the feature flags. */
  kind: 'ext2' | 'ext3' | 'ext4';
  blockSize: number;
  blocksCount: number;
  inodesCount: number;
  groups: number;
  inodeSize: number;
  descSize: number;
  features: { compat: string[]; incompat: string[]; roCompat: string[] };
  volumeName: string;
  uuid: string;
  /** Bytes the filesystem spans (blocksCount × blockSize). */
  fsBytes: number;
  /** Size of the file or device. */
  imageBytes: number;
}

export interface ValidateOptions {
  /** Largest accepted image in bytes. Default 8 GiB. */
  maxBytes?: number;
}

const COMPAT: Record<number, string> = {
  0x1: 'dir_prealloc',
  0x2: 'imagic_inodes',
  0x4: 'has_journal',
  0x8: 'ext_attr',
  0x10: 'resize_inode',
  0x20: 'dir_index',
  0x40: 'lazy_bg',
  0x80: 'exclude_inode',
  0x100: 'exclude_bitmap',
  0x200: 'sparse_super2',
  0x400: 'fast_commit',
  0x1000: 'orphan_file',
};
const INCOMPAT: Record<number, string> = {
  0x1: 'compression',
  0x2: 'filetype',
  0x4: 'needs_recovery',
  0x8: 'journal_dev',
  0x10: 'meta_bg',
  0x40: 'extent',
  0x80: '64bit',
  0x100: 'mmp',
  0x200: 'flex_bg',
  0x400: 'ea_inode',
  0x1000: 'dirdata',
  0x2000: 'metadata_csum_seed',
  0x4000: 'large_dir',
  0x8000: 'inline_data',
  0x10000: 'encrypt',
  0x20000: 'casefold',
};
const RO_COMPAT: Record<number, string> = {
  0x1: 'sparse_super',
  0x2: 'large_file',
  0x4: 'btree_dir',
  0x8: 'huge_file',
  0x10: 'gdt_csum',
  0x20: 'dir_nlink',
  0x40: 'extra_isize',
  0x80: 'has_snapshot',
  0x100: 'quota',
  0x200: 'bigalloc',
  0x400: 'metadata_csum',
  0x800: 'replica',
  0x1000: 'read-only',
  0x2000: 'project',
  0x4000: 'shared_blocks',
  0x8000: 'verity',
  0x10000: 'orphan_present',
};
/** Incompatible features the Lichen ext4 reader cannot or must not read. */
const REFUSED_INCOMPAT: Record<string, string> = {
  compression: 'compressed files are not supported',
  needs_recovery: 'the journal needs recovery (unmount the filesystem cleanly or run e2fsck)',
  journal_dev: 'this is an external journal device, not a filesystem',
  dirdata: 'dirdata (Lustre) is not supported',
  encrypt: 'encrypted directories are not supported',
  casefold: 'case-insensitive directories are not supported',
};

function names(mask: number, table: Record<number, string>): { known: string[]; unknown: number } {
  const known: string[] = [];
  let unknown = 0;
  for (let bit = 0; bit < 32; bit++) {
    const v = (1 << bit) >>> 0;
    if ((mask & v) === 0) continue;
    const n = table[v];
    if (n) known.push(n);
    else unknown |= v;
  }
  return { known, unknown: unknown >>> 0 };
}

interface Reader {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function openPath(path: string): Promise<Reader> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new ImageValidationError('unreadable', `cannot open ${path}: ${(err as Error).message}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new ImageValidationError('not_a_file', `${path} is not a regular file`);
  }
  return {
    size: st.size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done !== length) throw new ImageValidationError('truncated', `short read at ${offset}: image ends early`);
      return buf;
    },
    close: () => fh.close(),
  };
}

const isPow = (n: number, base: number): boolean => {
  if (n < 1) return false;
  while (n % base === 0) n /= base;
  return n === 1;
};

/**
 * Checks that a file or block device holds a sane ext2/3/4 filesystem before it is
 * accepted as an image: superblock magic and geometry, feature flags the reader supports,
 * superblock checksum (metadata_csum), every group descriptor's bitmaps and inode table
 * inside the filesystem, and the size within `maxBytes`. Throws ImageValidationError with
 * a clear message; returns a summary when the image is acceptable.
 */
export async function validateExt4Image(
  pathOrDevice: string | BlockDevice,
  opts: ValidateOptions = {},
): Promise<Ext4Summary> {
  const maxBytes = opts.maxBytes ?? 8 * 1024 ** 3;
  const own = typeof pathOrDevice === 'string';
  const dev: Reader = own ? await openPath(pathOrDevice) : pathOrDevice;
  try {
    return await check(dev, maxBytes);
  } catch (err) {
    if (err instanceof ImageValidationError) throw err;
    throw new ImageValidationError('unreadable', `cannot read image: ${(err as Error).message}`);
  } finally {
    if (own) await dev.close();
  }
}

async function check(dev: Reader, maxBytes: number): Promise<Ext4Summary> {
  const fail = (code: string, msg: string): never => {
    throw new ImageValidationError(code, msg);
  };
  if (dev.size > maxBytes) fail('too_large', `image is ${dev.size} bytes, the maximum is ${maxBytes}`);
  if (dev.size < 2048) fail('too_small', `image is ${dev.size} bytes: too small to hold an ext4 superblock`);
  const sb = await dev.read(1024, 1024);
  const v = new DataView(sb.buffer, sb.byteOffset, sb.byteLength);
  const u32 = (o: number) => v.getUint32(o, true);
  const u16 = (o: number) => v.getUint16(o, true);

  const magic = u16(0x38);
  if (magic !== 0xef53)
    fail('bad_magic', `not an ext2/3/4 filesystem: superblock magic is 0x${magic.toString(16)}, expected 0xef53`);
  const rev = u32(0x4c);
  if (rev > 1) fail('bad_revision', `unknown superblock revision ${rev}`);
  const logBlock = u32(0x18);
  if (logBlock > 6) fail('bad_block_size', `block size 2^(10+${logBlock}) is out of range (1 KiB to 64 KiB)`);
  const blockSize = 1024 << logBlock;

  const compat = rev >= 1 ? u32(0x5c) : 0;
  const incompat = rev >= 1 ? u32(0x60) : 0;
  const roCompat = rev >= 1 ? u32(0x64) : 0;
  const fi = names(incompat, INCOMPAT);
  const fr = names(roCompat, RO_COMPAT);
  const fc = names(compat, COMPAT);
  if (fi.unknown) fail('unsupported_feature', `unknown incompatible feature flags 0x${fi.unknown.toString(16)}`);
  for (const f of fi.known) {
    const why = REFUSED_INCOMPAT[f];
    if (why) fail('unsupported_feature', `filesystem feature "${f}" refused: ${why}`);
  }
  if (fr.known.includes('bigalloc'))
    fail('unsupported_feature', 'filesystem feature "bigalloc" refused: cluster allocation is not supported');
  // Unknown ro_compat features are harmless for read-only use; they are reported in the summary.

  const is64 = (incompat & 0x80) !== 0;
  const blocksCount = u32(0x04) + (is64 ? u32(0x150) * 2 ** 32 : 0);
  const inodesCount = u32(0x00);
  const firstDataBlock = u32(0x14);
  const blocksPerGroup = u32(0x20);
  const inodesPerGroup = u32(0x28);
  const inodeSize = rev >= 1 ? u16(0x58) : 128;
  const descSize = is64 ? u16(0xfe) : 32;

  if (blocksCount === 0) fail('bad_geometry', 'superblock says the filesystem has 0 blocks');
  if (firstDataBlock !== (blockSize === 1024 ? 1 : 0)) {
    fail(
      'bad_geometry',
      `first data block is ${firstDataBlock}, expected ${blockSize === 1024 ? 1 : 0} for ${blockSize}-byte blocks`,
    );
  }
  if (blocksPerGroup === 0 || blocksPerGroup > blockSize * 8) {
    fail('bad_geometry', `blocks per group is ${blocksPerGroup}, must be 1..${blockSize * 8}`);
  }
  if (inodesPerGroup === 0 || inodesPerGroup > blockSize * 8) {
    fail('bad_geometry', `inodes per group is ${inodesPerGroup}, must be 1..${blockSize * 8}`);
  }
  if (inodeSize < 128 || inodeSize > blockSize || !isPow(inodeSize, 2)) {
    fail('bad_geometry', `inode size ${inodeSize} is not a power of two between 128 and the block size`);
  }
  if (is64 && (descSize < 64 || descSize > 1024 || !isPow(descSize, 2))) {
    fail(
      'bad_geometry',
      `group descriptor size ${descSize} is invalid for a 64bit filesystem (64..1024, power of two)`,
    );
  }
  const fsBytes = blocksCount * blockSize;
  if (fsBytes > maxBytes) fail('too_large', `filesystem spans ${fsBytes} bytes, the maximum is ${maxBytes}`);
  if (fsBytes > dev.size) {
    fail(
      'truncated',
      `filesystem spans ${fsBytes} bytes (${blocksCount} × ${blockSize}) but the image is only ${dev.size} bytes`,
    );
  }
  const groups = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (groups * inodesPerGroup !== inodesCount) {
    fail('bad_geometry', `inode count ${inodesCount} ≠ ${groups} groups × ${inodesPerGroup} inodes per group`);
  }
  const firstIno = rev >= 1 ? u32(0x54) : 11;
  if (firstIno < 11 || firstIno > inodesCount)
    fail('bad_geometry', `first non-reserved inode ${firstIno} is out of range`);

  if ((roCompat & 0x400) !== 0) {
    if (sb[0x175] !== 1) fail('bad_checksum', `unknown metadata checksum type ${sb[0x175]}`);
    const want = u32(0x3fc);
    const got = crc32cRaw(0xffffffff, sb.subarray(0, 0x3fc));
    if (want !== got) {
      fail(
        'bad_checksum',
        `superblock checksum mismatch (stored 0x${want.toString(16)}, computed 0x${got.toString(16)})`,
      );
    }
  }

  // Group descriptor checksums: crc32c (metadata_csum) or crc16 (gdt_csum), low 16 bits.
  const metadataCsum = (roCompat & 0x400) !== 0;
  const gdtCsum = !metadataCsum && (roCompat & 0x10) !== 0;
  const uuidBytes = sb.subarray(0x68, 0x78);
  const csumSeed = metadataCsum ? ((incompat & 0x2000) !== 0 ? u32(0x270) : crc32cRaw(0xffffffff, uuidBytes)) : 0;
  const descChecksum = (g: number, desc: Uint8Array): number => {
    const le = new Uint8Array(4);
    new DataView(le.buffer).setUint32(0, g, true);
    const zero = new Uint8Array(2);
    const rest = desc.subarray(0x20);
    if (metadataCsum) {
      let c = crc32cRaw(csumSeed, le);
      c = crc32cRaw(c, desc.subarray(0, 0x1e));
      c = crc32cRaw(c, zero);
      c = crc32cRaw(c, rest);
      return c & 0xffff;
    }
    let c = crc16(0xffff, uuidBytes);
    c = crc16(c, le);
    c = crc16(c, desc.subarray(0, 0x1e));
    return is64 ? crc16(c, rest) : c;
  };

  // Group descriptor table.
  const descPerBlock = blockSize / descSize;
  const gdtBlocks = Math.ceil(groups / descPerBlock);
  const metaBg = (incompat & 0x10) !== 0;
  const firstMetaBg = metaBg ? u32(0x104) : gdtBlocks;
  const sparse = (roCompat & 0x1) !== 0;
  const hasSuper = (g: number) => !sparse || g === 0 || g === 1 || isPow(g, 3) || isPow(g, 5) || isPow(g, 7);
  const gdtBlock = (b: number): number => {
    if (b < firstMetaBg) return firstDataBlock + 1 + b;
    const g = b * descPerBlock;
    return firstDataBlock + g * blocksPerGroup + (hasSuper(g) ? 1 : 0);
  };
  const flexBg = (incompat & 0x200) !== 0;
  const itBlocks = Math.ceil((inodesPerGroup * inodeSize) / blockSize);
  const inFs = (b: number) => b >= firstDataBlock && b < blocksCount;

  for (let b = 0; b < gdtBlocks; b++) {
    const blk = gdtBlock(b);
    if (!inFs(blk))
      fail('bad_group_descriptors', `group descriptor block ${b} would be at block ${blk}, outside the filesystem`);
    const data = await dev.read(blk * blockSize, blockSize);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < descPerBlock; i++) {
      const g = b * descPerBlock + i;
      if (g >= groups) break;
      const o = i * descSize;
      const lo = (x: number) => dv.getUint32(o + x, true);
      const hi = (x: number) => (is64 ? dv.getUint32(o + x, true) * 2 ** 32 : 0);
      const blockBitmap = lo(0x0) + hi(0x20);
      const inodeBitmap = lo(0x4) + hi(0x24);
      const inodeTable = lo(0x8) + hi(0x28);
      const freeBlocks = dv.getUint16(o + 0xc, true) + (is64 ? dv.getUint16(o + 0x2c, true) * 65536 : 0);
      const freeInodes = dv.getUint16(o + 0xe, true) + (is64 ? dv.getUint16(o + 0x2e, true) * 65536 : 0);
      const where = `group ${g} descriptor`;
      if (metadataCsum || gdtCsum) {
        const stored = dv.getUint16(o + 0x1e, true);
        const computed = descChecksum(g, data.subarray(o, o + descSize));
        if (stored !== computed) {
          fail(
            'bad_checksum',
            `${where}: checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`,
          );
        }
      }
      if (!inFs(blockBitmap))
        fail(
          'bad_group_descriptors',
          `${where}: block bitmap at block ${blockBitmap} is outside the filesystem (${blocksCount} blocks)`,
        );
      if (!inFs(inodeBitmap))
        fail(
          'bad_group_descriptors',
          `${where}: inode bitmap at block ${inodeBitmap} is outside the filesystem (${blocksCount} blocks)`,
        );
      if (!inFs(inodeTable) || inodeTable + itBlocks > blocksCount) {
        fail(
          'bad_group_descriptors',
          `${where}: inode table at block ${inodeTable} (+${itBlocks} blocks) is outside the filesystem (${blocksCount} blocks)`,
        );
      }
      if (!flexBg) {
        const start = firstDataBlock + g * blocksPerGroup;
        const end = Math.min(start + blocksPerGroup, blocksCount);
        for (const [what, at, len] of [
          ['block bitmap', blockBitmap, 1],
          ['inode bitmap', inodeBitmap, 1],
          ['inode table', inodeTable, itBlocks],
        ] as const) {
          if (at < start || at + len > end) {
            fail(
              'bad_group_descriptors',
              `${where}: ${what} at block ${at} lies outside its group (blocks ${start}..${end - 1}) and flex_bg is off`,
            );
          }
        }
      }
      if (freeBlocks > blocksPerGroup)
        fail('bad_group_descriptors', `${where}: ${freeBlocks} free blocks > ${blocksPerGroup} blocks per group`);
      if (freeInodes > inodesPerGroup)
        fail('bad_group_descriptors', `${where}: ${freeInodes} free inodes > ${inodesPerGroup} inodes per group`);
    }
  }

  const hex = Array.from(sb.subarray(0x68, 0x78), (x) => x.toString(16).padStart(2, '0')).join('');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const nameBytes = sb.subarray(0x78, 0x88);
  const nul = nameBytes.indexOf(0);
  const volumeName = Buffer.from(nameBytes.subarray(0, nul < 0 ? 16 : nul)).toString('latin1');
  const kind: Ext4Summary['kind'] =
    (incompat & (0x40 | 0x80 | 0x200)) !== 0 || (roCompat & (0x8 | 0x20 | 0x40 | 0x400)) !== 0
      ? 'ext4'
      : (compat & 0x4) !== 0
        ? 'ext3'
        : 'ext2';
  const withUnknown = (n: { known: string[]; unknown: number }) =>
    n.unknown ? [...n.known, `unknown(0x${n.unknown.toString(16)})`] : n.known;
  return {
    kind,
    blockSize,
    blocksCount,
    inodesCount,
    groups,
    inodeSize,
    descSize,
    features: { compat: withUnknown(fc), incompat: fi.known, roCompat: withUnknown(fr) },
    volumeName,
    uuid,
    fsBytes,
    imageBytes: dev.size,
  };
}
