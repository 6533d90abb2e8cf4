/**
 * ext4 extended attributes: the in-inode area (after i_extra_isize, "ibody") and the external
 * block (i_file_acl), both a magic word followed by ext4_xattr_entry records; values live in
 * the same area or, with the ea_inode feature, in an inode of their own (e_value_inum). POSIX
 * ACLs are stored in ext4's compact format and returned in the xattr format (version 2).
 * Entries of the "system." index (inline data's system.data) have no handler in Linux and are
 * not shown.
 */
import { corrupt } from './superblock';

export const EXT4_XATTR_MAGIC = 0xea020000;
/** Entry header: name_len, name_index, value_offs, value_inum, value_size, hash. */
const ENTRY_HEADER = 16;
/** External block header: magic, refcount, blocks, hash, checksum, reserved[3]. */
export const XATTR_BLOCK_HEADER = 32;
/** Linux's bound on the entries of one area (a corrupt area cannot make the walk long). */
const MAX_ENTRIES = 1024;

/** e_name_index → prefix; the ACL indexes name the whole attribute. */
const INDEX_PREFIX: Record<number, string> = {
  1: 'user.',
  2: 'system.posix_acl_access',
  3: 'system.posix_acl_default',
  4: 'trusted.',
  6: 'security.',
};
const ACL_INDEXES = new Set([2, 3]);

/** One attribute as stored: its value bytes, or where an EA inode holds them. */
export interface Ext4Xattr {
  name: string;
  value: Uint8Array | null;
  /** ea_inode: the value is the first `size` bytes of inode `inum`. */
  inum: number;
  size: number;
  /** ext4 ACL format (convert with ext4AclToXattr). */
  acl: boolean;
}

function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}
function le16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

/**
 * Parses the entries of one area. `buf[entries..end)` holds the entries (ended by four zero
 * bytes); value offsets count from `valueBase`. `what` names the area in corruption errors.
 */
export function parseXattrEntries(
  buf: Uint8Array,
  entries: number,
  end: number,
  valueBase: number,
  what: string,
): Ext4Xattr[] {
  const out: Ext4Xattr[] = [];
  let o = entries;
  for (let n = 0; ; n++) {
    if (o + 4 > end) throw corrupt(`${what} (xattr entries run past the end)`);
    if (le32(buf, o) === 0) break;
    if (n >= MAX_ENTRIES || o + ENTRY_HEADER > end) throw corrupt(`${what} (xattr entry)`);
    const nameLen = buf[o];
    const index = buf[o + 1];
    const valOffs = le16(buf, o + 2);
    const inum = le32(buf, o + 4);
    const size = le32(buf, o + 8);
    if (nameLen === 0 && !ACL_INDEXES.has(index)) throw corrupt(`${what} (xattr name length)`);
    if (o + ENTRY_HEADER + nameLen > end) throw corrupt(`${what} (xattr name)`);
    const suffix = Buffer.from(buf.subarray(o + ENTRY_HEADER, o + ENTRY_HEADER + nameLen)).toString('latin1');
    let value: Uint8Array | null = null;
    if (inum === 0) {
      const vs = valueBase + valOffs;
      if (size > end - valueBase || vs < entries || vs + size > end) throw corrupt(`${what} (xattr value)`);
      value = buf.subarray(vs, vs + size);
    } else if (size > 65536) throw corrupt(`${what} (xattr value size)`);
    const prefix = INDEX_PREFIX[index];
    if (prefix !== undefined) {
      const acl = ACL_INDEXES.has(index);
      out.push({ name: acl ? prefix : prefix + suffix, value, inum, size, acl });
    }
    o += (ENTRY_HEADER + nameLen + 3) & ~3;
  }
  return out;
}

/** The in-inode area: `raw` is the whole on-disk inode, `extra` its i_extra_isize. */
export function parseInodeXattrs(raw: Uint8Array, extra: number, ino: number): Ext4Xattr[] {
  const start = 128 + extra;
  if (start + 4 > raw.length || le32(raw, start) !== EXT4_XATTR_MAGIC) return [];
  return parseXattrEntries(raw, start + 4, raw.length, start + 4, `inode ${ino}`);
}

/** The external xattr block of inode `ino`. */
export function parseXattrBlock(block: Uint8Array, ino: number): Ext4Xattr[] {
  const what = `inode ${ino} xattr block`;
  if (le32(block, 0) !== EXT4_XATTR_MAGIC) throw corrupt(`${what} (magic)`);
  if (le32(block, 8) !== 1) throw corrupt(`${what} (h_blocks)`);
  return parseXattrEntries(block, XATTR_BLOCK_HEADER, block.length, 0, what);
}

const ACL_USER_OBJ = 1;
const ACL_USER = 2;
const ACL_GROUP_OBJ = 4;
const ACL_GROUP = 8;
const ACL_MASK = 0x10;
const ACL_OTHER = 0x20;

/**
 * ext4's ACL (version 1; 4-byte entries for USER_OBJ/GROUP_OBJ/MASK/OTHER, 8-byte entries
 * with an id for USER/GROUP) → the POSIX ACL xattr format (version 2, 8-byte entries, id
 * 0xffffffff where there is none).
 */
export function ext4AclToXattr(v: Uint8Array, what: string): Uint8Array {
  if (v.length < 4 || le32(v, 0) !== 1) throw corrupt(`${what} (ACL version)`);
  const entries: [number, number, number][] = [];
  let o = 4;
  while (o < v.length) {
    if (o + 4 > v.length) throw corrupt(`${what} (ACL entry)`);
    const tag = le16(v, o);
    const perm = le16(v, o + 2);
    if (tag === ACL_USER || tag === ACL_GROUP) {
      if (o + 8 > v.length) throw corrupt(`${what} (ACL entry)`);
      entries.push([tag, perm, le32(v, o + 4)]);
      o += 8;
    } else if (tag === ACL_USER_OBJ || tag === ACL_GROUP_OBJ || tag === ACL_MASK || tag === ACL_OTHER) {
      entries.push([tag, perm, 0xffffffff]);
      o += 4;
    } else throw corrupt(`${what} (ACL tag ${tag})`);
  }
  const out = new Uint8Array(4 + entries.length * 8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2, true);
  entries.forEach(([tag, perm, id], i) => {
    dv.setUint16(4 + i * 8, tag, true);
    dv.setUint16(6 + i * 8, perm, true);
    dv.setUint32(8 + i * 8, id, true);
  });
  return out;
}
