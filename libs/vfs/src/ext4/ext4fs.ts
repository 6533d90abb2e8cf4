/**
 * Read-only ext2/ext3/ext4 on a BlockDevice: superblock and 32/64-bit group descriptors
 * (incl. meta_bg), inodes of any size with nanosecond times, extent trees of any depth,
 * ext2/3 block maps, linear and htree directories (read through their leaf blocks), inline
 * data, fast and slow symlinks, sparse files, device nodes and fifos. Metadata goes through a
 * bounded block cache; file data is read straight from the device in contiguous runs.
 * Corrupt metadata gives EUCLEAN (EFSCORRUPTED) or EIO; every loop is bounded.
 */
import type { BlockDevice } from '../block-device';
import { BlockCache } from '../block-cache';
import { hasReadInto } from '../file-block-device';
import { Errno, err, toVfsError } from '../errno';
import type { DirContext, FileSystem, VNode } from '../fs';
import {
  type DirEntry,
  type InodeAttr,
  isDir,
  isLnk,
  makedev,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  SEEK_DATA,
  type StatFs,
  type Timespec,
} from '../types';
import {
  COMPAT_DIR_INDEX,
  corrupt,
  groupHasSuper,
  INCOMPAT_FILETYPE,
  INCOMPAT_META_BG,
  parseSuperblock,
  RO_COMPAT_HUGE_FILE,
  type Superblock,
} from './superblock';
import { type Ext4Xattr, ext4AclToXattr, parseInodeXattrs, parseXattrBlock } from './xattr';

export const EXT4_SUPER_MAGIC = 0xef53;
const EXTENTS_FL = 0x80000;
const INLINE_DATA_FL = 0x10000000;
const HUGE_FILE_FL = 0x40000;
const INDEX_FL = 0x1000;
const IMMUTABLE_FL = 0x10;
const APPEND_FL = 0x20;
const EA_INODE_FL = 0x200000;
const EXT_MAGIC = 0xf30a;
const MAX_EXTENT_DEPTH = 5;
/** Directories with more blocks than this get an in-memory name index on first lookup. */
const DIR_INDEX_MIN_BLOCKS = 0;
/** Largest device read for file data. */
const MAX_IO = 8 << 20;

const FT_TO_DT = [0, 8, 4, 2, 6, 1, 12, 10];

export interface Ext4Options {
  /** Metadata block cache capacity in blocks (default 8192). */
  cacheBlocks?: number;
  source?: string;
}

/** A contiguous mapping of logical → physical blocks; pblk 0 = unwritten (reads zero). */
interface Run {
  lblk: number;
  len: number;
  pblk: number;
}

function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}
function le16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
/** Bytes as a byte string (one char per byte). */
function latin1(b: Uint8Array, o: number, n: number): string {
  if (n > 32) return Buffer.from(b.buffer, b.byteOffset + o, n).toString('latin1');
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[o + i]);
  return s;
}

export class Ext4Fs implements FileSystem {
  readonly type: string;
  readonly source: string;
  readonly readonly = true;
  dev = 0;
  readonly cache: BlockCache;
  private readonly nodes = new Map<number, Ext4Node>();
  private readonly pendingNodes = new Map<number, Promise<Ext4Node>>();

  private constructor(
    readonly device: BlockDevice,
    readonly sb: Superblock,
    private readonly inodeTables: Float64Array,
    opts: Ext4Options,
  ) {
    this.cache = new BlockCache(device, sb.blockSize, opts.cacheBlocks ?? 8192);
    this.source = opts.source ?? 'ext4';
    const hasJournal = (sb.compat & 0x4) !== 0;
    // ext4 when any feature beyond ext3's is on (Linux mounts those only as ext4).
    const ext4Only = sb.incompat & ~(INCOMPAT_FILETYPE | 0x4 | INCOMPAT_META_BG) || sb.roCompat & ~0x7;
    this.type = ext4Only ? 'ext4' : hasJournal ? 'ext3' : 'ext2';
  }

  /** Opens an image: validates the superblock and reads the group descriptors. Rejects only with VfsError. */
  static async open(device: BlockDevice, opts: Ext4Options = {}): Promise<Ext4Fs> {
    try {
      return await Ext4Fs.openInner(device, opts);
    } catch (e) {
      throw toVfsError(e);
    }
  }

  private static async openInner(device: BlockDevice, opts: Ext4Options): Promise<Ext4Fs> {
    if (device.size < 2048) throw err(Errno.EINVAL, 'ext4: device too small');
    let raw: Uint8Array;
    try {
      raw = await device.read(1024, 1024);
    } catch (e) {
      throw err(Errno.EIO, `ext4: cannot read superblock: ${(e as Error).message}`);
    }
    const sb = parseSuperblock(raw, device.size);
    const bs = sb.blockSize;
    const perBlock = Math.floor(bs / sb.descSize);
    const tables = new Float64Array(sb.groupCount);
    const descBlocks = Math.ceil(sb.groupCount / perBlock);
    const meta = (sb.incompat & INCOMPAT_META_BG) !== 0;
    for (let db = 0; db < descBlocks; db++) {
      let blk: number;
      if (meta && db >= sb.firstMetaBg) {
        const g = db * perBlock;
        blk = sb.firstDataBlock + g * sb.blocksPerGroup + (groupHasSuper(sb, g) ? 1 : 0);
      } else blk = sb.firstDataBlock + 1 + db;
      if (blk >= sb.blocksCount || (blk + 1) * bs > device.size) throw corrupt('group descriptor location');
      const b = await device.read(blk * bs, bs);
      for (let i = 0; i < perBlock; i++) {
        const g = db * perBlock + i;
        if (g >= sb.groupCount) break;
        const o = i * sb.descSize;
        let t = le32(b, o + 8);
        if (sb.descSize >= 64) t += le32(b, o + 0x28) * 0x100000000;
        tables[g] = t;
      }
    }
    return new Ext4Fs(device, sb, tables, opts);
  }

  get blockSize(): number {
    return this.sb.blockSize;
  }

  async root(): Promise<Ext4Node> {
    const r = await this.iget(2);
    if (!isDir(r.a.mode)) throw corrupt('root inode (not a directory)');
    return r;
  }

  async statfs(): Promise<StatFs> {
    const sb = this.sb;
    return {
      type: EXT4_SUPER_MAGIC,
      bsize: sb.blockSize,
      blocks: sb.blocksCount,
      bfree: sb.freeBlocks,
      bavail: sb.freeBlocks,
      files: sb.inodesCount,
      ffree: sb.freeInodes,
      fsid: [le32(sb.uuid, 0) ^ le32(sb.uuid, 8), le32(sb.uuid, 4) ^ le32(sb.uuid, 12)],
      namelen: 255,
      frsize: sb.blockSize,
      flags: 1,
    };
  }

  checkBlock(pblk: number, len = 1): void {
    if (pblk < this.sb.firstDataBlock || pblk + len > this.sb.blocksCount) throw corrupt(`block number ${pblk}`);
  }

  /** Reads a metadata block through the cache. */
  async block(pblk: number): Promise<Uint8Array> {
    this.checkBlock(pblk);
    return this.cache.get(pblk);
  }

  /** The inode object for `ino` (cached: one object per inode). */
  iget(ino: number): Promise<Ext4Node> {
    const n = this.nodes.get(ino);
    if (n) return Promise.resolve(n);
    const p = this.pendingNodes.get(ino);
    if (p) return p;
    const q = this.loadInode(ino).finally(() => this.pendingNodes.delete(ino));
    this.pendingNodes.set(ino, q);
    return q;
  }

  private async loadInode(ino: number): Promise<Ext4Node> {
    const sb = this.sb;
    if (ino < 1 || ino > sb.inodesCount) throw corrupt(`inode number ${ino}`);
    const g = Math.floor((ino - 1) / sb.inodesPerGroup);
    const idx = (ino - 1) % sb.inodesPerGroup;
    const table = this.inodeTables[g];
    const byteOff = idx * sb.inodeSize;
    const blk = table + Math.floor(byteOff / sb.blockSize);
    const b = await this.block(blk);
    const o = byteOff % sb.blockSize;
    const raw = b.slice(o, o + sb.inodeSize);
    const node = new Ext4Node(this, ino, raw);
    this.nodes.set(ino, node);
    return node;
  }
}

function time(raw: Uint8Array, secOff: number, extraOff: number, hasExtra: boolean): Timespec {
  let sec = le32(raw, secOff);
  if (sec >= 0x80000000) sec -= 0x100000000;
  if (!hasExtra) return { sec, nsec: 0 };
  const extra = le32(raw, extraOff);
  const nsec = Math.floor(extra / 4);
  return { sec: sec + (extra & 3) * 0x100000000, nsec: nsec > 999_999_999 ? 0 : nsec };
}

export class Ext4Node implements VNode {
  readonly a: InodeAttr;
  readonly flags: number;
  /** The image is never written: the node itself stands for its content. */
  contentKey(): object {
    return this;
  }
  private runs: Run[] | null = null;
  private inlineCache: Uint8Array | null = null;
  private dirIndex: Map<string, number> | null = null;
  private xattrList: Ext4Xattr[] | null = null;

  constructor(
    readonly fs: Ext4Fs,
    readonly ino: number,
    private readonly raw: Uint8Array,
  ) {
    const sb = fs.sb;
    const mode = le16(raw, 0);
    const t = mode & S_IFMT;
    if (![S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].includes(t)) {
      throw corrupt(`inode ${ino} (file type ${t.toString(8)})`);
    }
    const extra = sb.inodeSize > 128 ? le16(raw, 0x80) : 0;
    if (sb.inodeSize > 128 && (extra > sb.inodeSize - 128 || extra & 3)) throw corrupt(`inode ${ino} (extra size)`);
    const has = (end: number): boolean => sb.inodeSize > 128 && 128 + extra >= end;
    this.flags = le32(raw, 0x20);
    let size = le32(raw, 0x4) + le32(raw, 0x6c) * 0x100000000;
    if (size > 2 ** 50) throw corrupt(`inode ${ino} (size)`);
    if (t !== S_IFREG && t !== S_IFDIR && t !== S_IFLNK) size = 0;
    let blocks = le32(raw, 0x1c) + le16(raw, 0x74) * 0x100000000;
    if (sb.roCompat & RO_COMPAT_HUGE_FILE && this.flags & HUGE_FILE_FL) blocks *= sb.blockSize / 512;
    let rdev = 0;
    if (t === S_IFCHR || t === S_IFBLK) {
      const b0 = le32(raw, 0x28);
      if (b0 !== 0) rdev = makedev((b0 >> 8) & 0xff, b0 & 0xff);
      else rdev = le32(raw, 0x2c) >>> 0;
    }
    const links = le16(raw, 0x1a);
    this.a = {
      ino,
      mode,
      nlink: links,
      uid: le16(raw, 0x2) | (le16(raw, 0x78) << 16),
      gid: le16(raw, 0x18) | (le16(raw, 0x7a) << 16),
      rdev,
      size,
      blocks,
      atime: time(raw, 0x8, 0x8c, has(0x90)),
      ctime: time(raw, 0xc, 0x84, has(0x88)),
      mtime: time(raw, 0x10, 0x88, has(0x8c)),
      attributes: (this.flags & IMMUTABLE_FL ? 0x10 : 0) | (this.flags & APPEND_FL ? 0x20 : 0),
    };
    if (has(0x98)) this.a.btime = time(raw, 0x90, 0x94, true);
    if (isDir(mode) && links === 1) this.a.nlink = 1; // dir_nlink: >65000 subdirs
  }

  attr(): InodeAttr {
    return this.a;
  }

  private get bs(): number {
    return this.fs.sb.blockSize;
  }
  private get isInline(): boolean {
    return (this.flags & INLINE_DATA_FL) !== 0;
  }

  // ---- block mapping ----

  private async mapping(): Promise<Run[]> {
    if (this.runs) return this.runs;
    const nblocks = Math.ceil(this.a.size / this.bs);
    const runs = this.flags & EXTENTS_FL ? await this.loadExtents(nblocks) : await this.loadBlockMap(nblocks);
    this.runs = runs;
    return runs;
  }

  private async loadExtents(nblocks: number): Promise<Run[]> {
    const out: Run[] = [];
    // Bounds: at most this many tree nodes and extents (a valid file needs far fewer).
    const budget = { nodes: 0, maxNodes: 64 + nblocks, maxRuns: 1024 + nblocks * 2 };
    // A valid tree never visits a block twice; a corrupt one that does is cut short.
    const visited = new Set<number>();
    const visit = async (node: Uint8Array, off: number, depth: number | null, root: boolean): Promise<void> => {
      if (++budget.nodes > budget.maxNodes) throw corrupt(`inode ${this.ino} (extent tree too large)`);
      if (le16(node, off) !== EXT_MAGIC) throw corrupt(`inode ${this.ino} (extent header magic)`);
      const entries = le16(node, off + 2);
      const max = le16(node, off + 4);
      const d = le16(node, off + 6);
      const cap = root ? 4 : Math.floor((this.bs - 12) / 12);
      if (max > cap || entries > max) throw corrupt(`inode ${this.ino} (extent header counts)`);
      if (d > MAX_EXTENT_DEPTH || (depth !== null && d !== depth)) throw corrupt(`inode ${this.ino} (extent depth)`);
      for (let i = 0; i < entries; i++) {
        const e = off + 12 + i * 12;
        const lblk = le32(node, e);
        if (d === 0) {
          let len = le16(node, e + 4);
          let uninit = false;
          if (len > 32768) {
            len -= 32768;
            uninit = true;
          }
          const pblk = le16(node, e + 6) * 0x100000000 + le32(node, e + 8);
          if (len === 0) continue;
          const prev = out[out.length - 1];
          if (prev && lblk < prev.lblk + prev.len) throw corrupt(`inode ${this.ino} (overlapping extents)`);
          this.fs.checkBlock(pblk, len);
          if (out.length >= budget.maxRuns) throw corrupt(`inode ${this.ino} (too many extents)`);
          out.push({ lblk, len, pblk: uninit ? 0 : pblk });
        } else {
          const child = le32(node, e + 4) + le16(node, e + 8) * 0x100000000;
          if (visited.has(child)) throw corrupt(`inode ${this.ino} (extent tree loop)`);
          visited.add(child);
          const b = await this.fs.block(child);
          await visit(b, 0, d - 1, false);
        }
      }
    };
    await visit(this.raw, 0x28, null, true);
    return out;
  }

  private async loadBlockMap(nblocks: number): Promise<Run[]> {
    const out: Run[] = [];
    const per = this.bs / 4;
    const add = (lblk: number, pblk: number): void => {
      if (pblk === 0) return;
      this.fs.checkBlock(pblk);
      const prev = out[out.length - 1];
      if (prev && prev.lblk + prev.len === lblk && prev.pblk + prev.len === pblk) prev.len++;
      else out.push({ lblk, len: 1, pblk });
    };
    for (let i = 0; i < 12 && i < nblocks; i++) add(i, le32(this.raw, 0x28 + i * 4));
    // Indirect levels: [12] single, [13] double, [14] triple.
    let base = 12;
    const visited = new Set<number>();
    for (let level = 1; level <= 3 && base < nblocks; level++) {
      const span = per ** level;
      const ptr = le32(this.raw, 0x28 + (11 + level) * 4);
      if (ptr !== 0) await this.walkIndirect(ptr, level, base, nblocks, add, visited);
      base += span;
    }
    return out;
  }

  private async walkIndirect(
    pblk: number,
    level: number,
    base: number,
    nblocks: number,
    add: (l: number, p: number) => void,
    visited: Set<number>,
  ): Promise<void> {
    if (visited.has(pblk)) throw corrupt(`inode ${this.ino} (indirect block loop)`);
    visited.add(pblk);
    const b = await this.fs.block(pblk);
    const per = this.bs / 4;
    const span = per ** (level - 1);
    for (let i = 0; i < per; i++) {
      const l = base + i * span;
      if (l >= nblocks) break;
      const p = le32(b, i * 4);
      if (p === 0) continue;
      if (level === 1) add(l, p);
      else await this.walkIndirect(p, level - 1, l, nblocks, add, visited);
    }
  }

  private findRun(runs: Run[], lblk: number): number {
    // First run whose end is after lblk.
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid].lblk + runs[mid].len <= lblk) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---- inline data ----

  private async inlineData(): Promise<Uint8Array> {
    if (this.inlineCache) return this.inlineCache;
    const sb = this.fs.sb;
    const head = this.raw.subarray(0x28, 0x28 + 60);
    let tail: Uint8Array = new Uint8Array(0);
    if (sb.inodeSize > 128) {
      const extra = le16(this.raw, 0x80);
      const start = 128 + extra;
      if (start + 4 <= sb.inodeSize && le32(this.raw, start) === 0xea020000) {
        const first = start + 4;
        let o = first;
        for (let guardN = 0; guardN < 256 && o + 16 <= sb.inodeSize; guardN++) {
          if (le32(this.raw, o) === 0) break;
          const nameLen = this.raw[o];
          const index = this.raw[o + 1];
          const valOff = le16(this.raw, o + 2);
          const valInum = le32(this.raw, o + 4);
          const valSize = le32(this.raw, o + 8);
          if (o + 16 + nameLen > sb.inodeSize) throw corrupt(`inode ${this.ino} (xattr entry)`);
          const name = Buffer.from(this.raw.subarray(o + 16, o + 16 + nameLen)).toString('latin1');
          if (index === 7 && name === 'data') {
            if (valInum !== 0 || first + valOff + valSize > sb.inodeSize)
              throw corrupt(`inode ${this.ino} (inline data)`);
            tail = this.raw.subarray(first + valOff, first + valOff + valSize);
            break;
          }
          o += (16 + nameLen + 3) & ~3;
        }
      }
    }
    const all = new Uint8Array(60 + tail.length);
    all.set(head, 0);
    all.set(tail, 60);
    this.inlineCache = all;
    return all;
  }

  // ---- data ----

  async read(pos: number, buf: Uint8Array): Promise<number> {
    if (isDir(this.a.mode)) throw err(Errno.EISDIR);
    const size = this.a.size;
    if (pos >= size || buf.length === 0) return 0;
    const n = Math.min(buf.length, size - pos);
    if (this.isInline) {
      // Bytes past the inline data read as zeros (like Linux's inline readpage).
      const d = await this.inlineData();
      const avail = Math.max(0, Math.min(n, d.length - pos));
      if (avail > 0) buf.set(d.subarray(pos, pos + avail));
      buf.fill(0, avail, n);
      return n;
    }
    const bs = this.bs;
    const runs = await this.mapping();
    let done = 0;
    let i = this.findRun(runs, Math.floor(pos / bs));
    while (done < n) {
      const p = pos + done;
      const lblk = Math.floor(p / bs);
      while (i < runs.length && runs[i].lblk + runs[i].len <= lblk) i++;
      const r = i < runs.length ? runs[i] : null;
      if (!r || r.lblk > lblk) {
        // hole until the next run (or the end)
        const holeEnd = r ? r.lblk * bs : Infinity;
        const len = Math.min(n - done, holeEnd - p);
        buf.fill(0, done, done + len);
        done += len;
        continue;
      }
      const runEnd = (r.lblk + r.len) * bs;
      const len = Math.min(n - done, runEnd - p, MAX_IO);
      if (r.pblk === 0) buf.fill(0, done, done + len);
      else {
        const dev = (r.pblk + (lblk - r.lblk)) * bs + (p % bs);
        const device = this.fs.device;
        if (hasReadInto(device)) await device.readInto(dev, buf.subarray(done, done + len));
        else buf.set(await device.read(dev, len), done);
      }
      done += len;
    }
    return n;
  }

  async seekData(pos: number, whence: number): Promise<number> {
    const size = this.a.size;
    if (this.isInline) return whence === SEEK_DATA ? pos : size;
    const bs = this.bs;
    const runs = await this.mapping();
    const lblk = Math.floor(pos / bs);
    let i = this.findRun(runs, lblk);
    if (whence === SEEK_DATA) {
      while (i < runs.length && runs[i].pblk === 0) i++;
      if (i >= runs.length) throw err(Errno.ENXIO);
      const off = Math.max(pos, runs[i].lblk * bs);
      if (off >= size) throw err(Errno.ENXIO);
      return off;
    }
    // SEEK_HOLE
    let cur = lblk;
    while (i < runs.length && runs[i].lblk <= cur && runs[i].pblk !== 0) {
      cur = runs[i].lblk + runs[i].len;
      i++;
    }
    return Math.min(size, Math.max(pos, cur * bs));
  }

  async readlink(): Promise<string> {
    if (!isLnk(this.a.mode)) throw err(Errno.EINVAL);
    const size = this.a.size;
    if (size > 4096) throw corrupt(`inode ${this.ino} (symlink size)`);
    const aclBlocks = le32(this.raw, 0x68) !== 0 ? this.bs / 512 : 0;
    let bytes: Uint8Array;
    if (this.isInline) bytes = (await this.inlineData()).subarray(0, size);
    else if (size < 60 && (this.a.blocks - aclBlocks === 0 || !(this.flags & EXTENTS_FL))) {
      bytes = this.raw.subarray(0x28, 0x28 + size);
    } else {
      bytes = new Uint8Array(size);
      const n = await this.read(0, bytes);
      if (n !== size) throw corrupt(`inode ${this.ino} (symlink)`);
    }
    return Buffer.from(bytes).toString('latin1');
  }

  // ---- extended attributes ----

  /** In-inode entries, then the external block's (parsed once). */
  private async xattrEntries(): Promise<Ext4Xattr[]> {
    if (this.xattrList) return this.xattrList;
    const out: Ext4Xattr[] = [];
    if (this.fs.sb.inodeSize > 128) out.push(...parseInodeXattrs(this.raw, le16(this.raw, 0x80), this.ino));
    const blk = le32(this.raw, 0x68) + le16(this.raw, 0x76) * 0x100000000;
    if (blk !== 0) out.push(...parseXattrBlock(await this.fs.block(blk), this.ino));
    this.xattrList = out;
    return out;
  }

  async listxattr(): Promise<string[]> {
    return (await this.xattrEntries()).map((e) => e.name);
  }

  async getxattr(name: string): Promise<Uint8Array> {
    const e = (await this.xattrEntries()).find((x) => x.name === name);
    if (!e) throw err(Errno.ENODATA);
    let v = e.value;
    if (v === null) {
      // ea_inode: the value is the data of an inode flagged EA_INODE.
      const holder = await this.fs.iget(e.inum);
      if (!(holder.flags & EA_INODE_FL) || holder.a.size < e.size) throw corrupt(`inode ${this.ino} (xattr inode)`);
      v = new Uint8Array(e.size);
      if ((await holder.read(0, v)) !== e.size) throw corrupt(`inode ${this.ino} (xattr inode)`);
    }
    return e.acl ? ext4AclToXattr(v, `inode ${this.ino}`) : v.slice();
  }

  // ---- directories ----

  private checkDir(): void {
    if (!isDir(this.a.mode)) throw err(Errno.ENOTDIR);
  }

  /** Directory block `i` (logical) through the cache. */
  private async dirBlock(i: number): Promise<Uint8Array> {
    const runs = await this.mapping();
    const k = this.findRun(runs, i);
    const r = runs[k];
    if (!r || r.lblk > i || r.pblk === 0) throw corrupt(`directory inode ${this.ino} (hole)`);
    return this.fs.block(r.pblk + (i - r.lblk));
  }

  /**
   * Parses the dirents of one chunk, calling `fn(name, ino, dtype, off, nextOff)`.
   * Returns false if `fn` asked to stop.
   */
  private parseChunk(
    b: Uint8Array,
    start: number,
    end: number,
    baseOff: number,
    fn: (name: string, ino: number, dt: number, off: number, next: number) => boolean,
  ): boolean {
    const ft = (this.fs.sb.incompat & INCOMPAT_FILETYPE) !== 0;
    let o = start;
    while (o < end) {
      if (o + 8 > end) throw corrupt(`directory inode ${this.ino} (entry header)`);
      const ino = le32(b, o);
      const recLen = le16(b, o + 4);
      const nameLen = ft ? b[o + 6] : le16(b, o + 6) & 0xff;
      if (recLen < 8 || recLen & 3 || o + recLen > end || (ino !== 0 && 8 + nameLen > recLen)) {
        throw corrupt(`directory inode ${this.ino} (rec_len)`);
      }
      if (ino !== 0 && nameLen > 0) {
        if (ino > this.fs.sb.inodesCount) throw corrupt(`directory inode ${this.ino} (entry inode number)`);
        const name = latin1(b, o + 8, nameLen);
        const t = ft ? b[o + 7] : 0;
        if (!fn(name, ino, t < 8 ? FT_TO_DT[t] : 0, baseOff + o - start, baseOff + o - start + recLen)) return false;
      }
      o += recLen;
    }
    return true;
  }

  private get dirBlocks(): number {
    return Math.ceil(this.a.size / this.bs);
  }

  /** Iterates entries from byte offset `from`. fn returns false to stop. */
  private async iterate(
    from: number,
    fn: (name: string, ino: number, dt: number, off: number, next: number) => boolean,
  ): Promise<void> {
    this.checkDir();
    if (this.isInline) {
      const d = await this.inlineData();
      // bytes 0..3: parent inode; dirents at 4..60, then the xattr part.
      const parts: [number, number][] = [
        [4, 60],
        [60, d.length],
      ];
      for (const [s, e] of parts) {
        if (e <= s) continue;
        let stopped = false;
        this.parseChunk(d, s, e, s, (name, ino, dt, off, next) => {
          if (off < from) return true;
          if (!fn(name, ino, dt, off, next)) {
            stopped = true;
            return false;
          }
          return true;
        });
        if (stopped) return;
      }
      return;
    }
    const bs = this.bs;
    for (let i = Math.floor(from / bs); i < this.dirBlocks; i++) {
      const b = await this.dirBlock(i);
      const cont = this.parseChunk(b, 0, bs, i * bs, (name, ino, dt, off, next) => {
        if (off < from) return true;
        return fn(name, ino, dt, off, next);
      });
      if (!cont) return;
    }
  }

  async lookup(name: string): Promise<VNode | null> {
    this.checkDir();
    let found = 0;
    if (this.isInline || this.dirBlocks > DIR_INDEX_MIN_BLOCKS) {
      if (!this.dirIndex) {
        const m = new Map<string, number>();
        await this.iterate(0, (n, ino) => {
          if (n !== '.' && n !== '..') m.set(n, ino);
          return true;
        });
        this.dirIndex = m;
      }
      found = this.dirIndex.get(name) ?? 0;
    } else {
      await this.iterate(0, (n, ino) => {
        if (n === name) {
          found = ino;
          return false;
        }
        return true;
      });
    }
    if (!found) return null;
    const node = await this.fs.iget(found);
    if (node.a.nlink === 0) throw corrupt(`directory inode ${this.ino} (entry for a deleted inode ${found})`);
    return node;
  }

  async readdir(cookie: number, _dir: DirContext): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    await this.iterate(cookie, (name, ino, dt, _off, next) => {
      if (name === '.' || name === '..') return true;
      out.push({ name, ino, type: dt, off: next });
      return out.length < 256;
    });
    return out;
  }

  /** True when the directory uses an htree index (informational). */
  get htree(): boolean {
    return (this.flags & INDEX_FL) !== 0 && (this.fs.sb.compat & COMPAT_DIR_INDEX) !== 0;
  }
}
