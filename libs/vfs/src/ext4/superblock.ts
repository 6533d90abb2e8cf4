/** ext2/3/4 on-disk superblock and group descriptors. */
import { Errno, err } from '../errno';

export const EXT4_MAGIC = 0xef53;

// incompat
export const INCOMPAT_COMPRESSION = 0x1;
export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_RECOVER = 0x4;
export const INCOMPAT_JOURNAL_DEV = 0x8;
export const INCOMPAT_META_BG = 0x10;
export const INCOMPAT_EXTENTS = 0x40;
export const INCOMPAT_64BIT = 0x80;
export const INCOMPAT_MMP = 0x100;
export const INCOMPAT_FLEX_BG = 0x200;
export const INCOMPAT_EA_INODE = 0x400;
export const INCOMPAT_DIRDATA = 0x1000;
export const INCOMPAT_CSUM_SEED = 0x2000;
export const INCOMPAT_LARGEDIR = 0x4000;
export const INCOMPAT_INLINE_DATA = 0x8000;
export const INCOMPAT_ENCRYPT = 0x10000;
export const INCOMPAT_CASEFOLD = 0x20000;
// ro_compat
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_HUGE_FILE = 0x8;
// compat
export const COMPAT_DIR_INDEX = 0x20;
export const COMPAT_SPARSE_SUPER2 = 0x200;

const INCOMPAT_NAMES: Record<number, string> = {
  [INCOMPAT_COMPRESSION]: 'compression',
  [INCOMPAT_FILETYPE]: 'filetype',
  [INCOMPAT_RECOVER]: 'needs_recovery',
  [INCOMPAT_JOURNAL_DEV]: 'journal_dev',
  [INCOMPAT_META_BG]: 'meta_bg',
  [INCOMPAT_EXTENTS]: 'extent',
  [INCOMPAT_64BIT]: '64bit',
  [INCOMPAT_MMP]: 'mmp',
  [INCOMPAT_FLEX_BG]: 'flex_bg',
  [INCOMPAT_EA_INODE]: 'ea_inode',
  [INCOMPAT_DIRDATA]: 'dirdata',
  [INCOMPAT_CSUM_SEED]: 'metadata_csum_seed',
  [INCOMPAT_LARGEDIR]: 'large_dir',
  [INCOMPAT_INLINE_DATA]: 'inline_data',
  [INCOMPAT_ENCRYPT]: 'encrypt',
  [INCOMPAT_CASEFOLD]: 'casefold',
};
export const SUPPORTED_INCOMPAT =
  INCOMPAT_FILETYPE |
  INCOMPAT_RECOVER |
  INCOMPAT_META_BG |
  INCOMPAT_EXTENTS |
  INCOMPAT_64BIT |
  INCOMPAT_MMP |
  INCOMPAT_FLEX_BG |
  INCOMPAT_EA_INODE |
  INCOMPAT_CSUM_SEED |
  INCOMPAT_LARGEDIR |
  INCOMPAT_INLINE_DATA;

export function featureNames(bits: number): string[] {
  const out: string[] = [];
  for (let b = 1; b !== 0 && b <= 0x80000000; b = (b << 1) >>> 0) {
    if (bits & b) out.push(INCOMPAT_NAMES[b] ?? `unknown(0x${b.toString(16)})`);
  }
  return out;
}

export interface Superblock {
  inodesCount: number;
  blocksCount: number;
  freeBlocks: number;
  freeInodes: number;
  firstDataBlock: number;
  blockSize: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  revLevel: number;
  firstIno: number;
  inodeSize: number;
  compat: number;
  incompat: number;
  roCompat: number;
  uuid: Uint8Array;
  volumeName: string;
  descSize: number;
  firstMetaBg: number;
  groupCount: number;
  minExtraIsize: number;
  hashSeed: Uint32Array;
  defHashVersion: number;
  flags: number;
}

export function corrupt(what: string): Error {
  return err(Errno.EUCLEAN, `ext4: corrupt ${what}`);
}

export function parseSuperblock(b: Uint8Array, devSize: number): Superblock {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u32 = (o: number): number => v.getUint32(o, true);
  const u16 = (o: number): number => v.getUint16(o, true);
  if (u16(0x38) !== EXT4_MAGIC) throw err(Errno.EINVAL, 'ext4: bad superblock magic (not an ext2/3/4 image)');
  const logBs = u32(0x18);
  if (logBs > 6) throw corrupt('superblock (block size)');
  const blockSize = 1024 << logBs;
  const revLevel = u32(0x4c);
  const incompat = revLevel >= 1 ? u32(0x60) : 0;
  const unsupported = incompat & ~SUPPORTED_INCOMPAT;
  if (unsupported) {
    throw err(Errno.EINVAL, `ext4: unsupported incompatible features: ${featureNames(unsupported).join(', ')}`);
  }
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const blocksCount = u32(0x04) + (is64 ? u32(0x150) * 0x100000000 : 0);
  const freeBlocks = u32(0x0c) + (is64 ? u32(0x158) * 0x100000000 : 0);
  const blocksPerGroup = u32(0x20);
  const inodesPerGroup = u32(0x28);
  const firstDataBlock = u32(0x14);
  const inodeSize = revLevel >= 1 ? u16(0x58) : 128;
  const descSize = is64 ? u16(0xfe) : 32;
  const inodesCount = u32(0x00);
  if (blocksPerGroup === 0 || blocksPerGroup > blockSize * 8) throw corrupt('superblock (blocks per group)');
  if (inodesPerGroup === 0 || inodesPerGroup > blockSize * 8) throw corrupt('superblock (inodes per group)');
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
    throw corrupt('superblock (inode size)');
  }
  if (is64 && (descSize < 32 || descSize > 1024 || (descSize & (descSize - 1)) !== 0)) {
    throw corrupt('superblock (descriptor size)');
  }
  if (firstDataBlock >= blocksCount || (blockSize === 1024 ? firstDataBlock > 1 : firstDataBlock !== 0)) {
    throw corrupt('superblock (first data block)');
  }
  if (blocksCount * blockSize > devSize + blockSize * blocksPerGroup && blocksCount * blockSize > devSize * 2) {
    throw corrupt('superblock (block count larger than the device)');
  }
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (groupCount === 0 || groupCount > 1 << 22) throw corrupt('superblock (group count)');
  if (inodesCount > groupCount * inodesPerGroup || inodesCount === 0) throw corrupt('superblock (inode count)');
  const name = b.subarray(0x78, 0x88);
  const nul = name.indexOf(0);
  return {
    inodesCount,
    blocksCount,
    freeBlocks,
    freeInodes: u32(0x10),
    firstDataBlock,
    blockSize,
    blocksPerGroup,
    inodesPerGroup,
    revLevel,
    firstIno: revLevel >= 1 ? u32(0x54) : 11,
    inodeSize,
    compat: revLevel >= 1 ? u32(0x5c) : 0,
    incompat,
    roCompat: revLevel >= 1 ? u32(0x64) : 0,
    uuid: b.slice(0x68, 0x78),
    volumeName: Buffer.from(name.subarray(0, nul < 0 ? 16 : nul)).toString('latin1'),
    descSize,
    firstMetaBg: u32(0x104),
    groupCount,
    minExtraIsize: u16(0x15c),
    hashSeed: new Uint32Array([u32(0xec), u32(0xf0), u32(0xf4), u32(0xf8)]),
    defHashVersion: b[0xfc],
    flags: u32(0x160),
  };
}

/** Does group g hold a superblock backup? */
export function groupHasSuper(sb: Superblock, g: number): boolean {
  if (g === 0 || g === 1) return true;
  if (!(sb.roCompat & RO_COMPAT_SPARSE_SUPER)) return true;
  for (const base of [3, 5, 7]) {
    let p = base;
    while (p < g) p *= base;
    if (p === g) return true;
  }
  return false;
}
