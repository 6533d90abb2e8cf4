/**
 * tmpfs: an in-memory filesystem. File data lives in 4 KiB pages allocated on write (holes
 * stay unallocated); every page and inode is charged to an optional MemoryAccount (the
 * kernel charges the VM's memory quota) and to an optional size limit.
 */
import { Errno, err } from './errno';
import type { DirContext, FileSystem, NewNode, VNode } from './fs';
import { type XattrAccount, XattrMap, XATTR_SYSTEM_PREFIX } from './xattr';
import {
  type Clock,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  type DirEntry,
  hostClock,
  type InodeAttr,
  isDir,
  modeToDtype,
  RENAME_EXCHANGE,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  SEEK_DATA,
  type SetAttr,
  type StatFs,
  type Timespec,
} from './types';

const PAGE = 4096;
/** Bytes charged per inode (bookkeeping overhead). */
const INODE_COST = 256;
export const TMPFS_MAGIC = 0x01021994;

/** Memory accounting hook: `charge` throws (VfsError ENOSPC/ENOMEM) to refuse. */
export interface MemoryAccount {
  charge(bytes: number): void;
  uncharge(bytes: number): void;
}

export interface TmpFsOptions {
  clock?: Clock;
  account?: MemoryAccount;
  /** Size limit in bytes (statfs and ENOSPC); default unlimited (quota via account). */
  maxBytes?: number;
  maxInodes?: number;
  /** Mode of the root directory (default 01777 like /tmp; overlay uppers use 0755). */
  rootMode?: number;
  rootUid?: number;
  rootGid?: number;
  source?: string;
  /** Read-only after construction (sysfs is built with the library's own calls, then sealed). */
  readOnly?: boolean;
}

interface Entry {
  node: TmpNode;
  seq: number;
}

export class TmpNode implements VNode {
  readonly a: InodeAttr;
  /** Regular files: pages by index. */
  pages: (Uint8Array | undefined)[] = [];
  /** Directories: entries by name, in creation order with stable sequence cookies. */
  entries: Map<string, Entry> | null = null;
  private nextSeq = 1;
  /** Symlinks. */
  target = '';
  /** Extended attributes (charged to the filesystem's account; overlay keeps its opaque marker here). */
  readonly xattrs = new XattrMap();
  parent: TmpNode | null = null;
  /** Open file descriptions referencing this node. */
  opens = 0;
  /** Made by O_TMPFILE and not linked yet: its inode is freed with its last open. */
  unnamed = false;
  /** Directories whose entries are made on first use (TmpFs.deferRootEntries): the maker, until it runs. */
  private deferred: (() => void) | null = null;

  constructor(
    readonly fs: TmpFs,
    ino: number,
    init: NewNode,
    now: Timespec,
  ) {
    this.a = {
      ino,
      mode: init.mode,
      nlink: isDir(init.mode) ? 2 : 1,
      uid: init.uid,
      gid: init.gid,
      rdev: init.rdev,
      size: 0,
      blocks: 0,
      atime: now,
      mtime: now,
      ctime: now,
      btime: now,
    };
    if (isDir(init.mode)) this.entries = new Map();
  }

  attr(): InodeAttr {
    if (this.deferred !== null) this.materialize();
    return this.a;
  }

  /** Makes this (empty) directory's entries with `make` when it is first used, not now. */
  defer(make: () => void): void {
    this.deferred = make;
  }
  /** Makes the deferred entries now, if there are any still to make. */
  materialize(): void {
    const make = this.deferred;
    if (make === null) return;
    this.deferred = null;
    // Making entries touches this directory; it keeps the times it had (those of its making).
    const { mtime, ctime } = this.a;
    make();
    this.a.mtime = mtime;
    this.a.ctime = ctime;
  }

  private dir(): Map<string, Entry> {
    if (this.deferred !== null) this.materialize();
    if (!this.entries) throw err(Errno.ENOTDIR);
    return this.entries;
  }
  private touch(): void {
    const now = this.fs.now();
    this.a.mtime = now;
    this.a.ctime = now;
  }

  async lookup(name: string): Promise<VNode | null> {
    return this.dir().get(name)?.node ?? null;
  }
  /** Synchronous lookup for in-library users (overlay). */
  child(name: string): TmpNode | null {
    if (this.deferred !== null) this.materialize();
    return this.entries?.get(name)?.node ?? null;
  }

  async readdir(cookie: number, _dir: DirContext): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    for (const [name, e] of this.dir()) {
      if (e.seq <= cookie) continue;
      out.push({ name, ino: e.node.a.ino, type: modeToDtype(e.node.a.mode), off: e.seq });
      if (out.length >= 128) break;
    }
    return out;
  }

  /** Adds an existing node under `name` (no nlink change). */
  addEntry(name: string, node: TmpNode): void {
    const d = this.dir();
    if (d.has(name)) throw err(Errno.EEXIST);
    d.set(name, { node, seq: this.nextSeq++ });
    if (isDir(node.a.mode)) {
      node.parent = this;
      this.a.nlink++;
    }
    this.a.size = d.size * 32;
    this.touch();
  }
  removeEntry(name: string): TmpNode {
    const d = this.dir();
    const e = d.get(name);
    if (!e) throw err(Errno.ENOENT);
    d.delete(name);
    if (isDir(e.node.a.mode)) this.a.nlink--;
    this.a.size = d.size * 32;
    this.touch();
    return e.node;
  }

  async create(name: string, init: NewNode): Promise<VNode> {
    this.dir();
    if (this.entries!.has(name)) throw err(Errno.EEXIST);
    const n = this.fs.newNode(init);
    this.addEntry(name, n);
    return n;
  }
  async mkdir(name: string, init: NewNode): Promise<VNode> {
    return this.create(name, { ...init, mode: S_IFDIR | (init.mode & 0o7777) });
  }
  async tmpfile(init: NewNode): Promise<VNode> {
    this.dir();
    const n = this.fs.newNode(init);
    n.a.nlink = 0;
    n.unnamed = true;
    return n;
  }
  async symlink(name: string, target: string, init: NewNode): Promise<VNode> {
    this.dir();
    if (this.entries!.has(name)) throw err(Errno.EEXIST);
    const n = this.fs.newNode(init);
    this.fs.chargeBytes(target.length);
    n.target = target;
    n.a.size = target.length;
    this.addEntry(name, n);
    return n;
  }
  async link(name: string, target: VNode): Promise<void> {
    if (!(target instanceof TmpNode) || target.fs !== this.fs) throw err(Errno.EXDEV);
    this.addEntry(name, target);
    target.a.nlink++;
    target.unnamed = false;
    target.a.ctime = this.fs.now();
  }
  async unlink(name: string): Promise<void> {
    const n = this.dir().get(name)?.node;
    if (!n) throw err(Errno.ENOENT);
    if (isDir(n.a.mode)) throw err(Errno.EISDIR);
    this.removeEntry(name);
    this.fs.dropLink(n);
  }
  async rmdir(name: string): Promise<void> {
    const n = this.dir().get(name)?.node;
    if (!n) throw err(Errno.ENOENT);
    if (!isDir(n.a.mode)) throw err(Errno.ENOTDIR);
    if (n.dir().size > 0) throw err(Errno.ENOTEMPTY);
    this.removeEntry(name);
    n.a.nlink = 0;
    this.fs.dropLink(n);
  }
  async rename(oldName: string, newDir: VNode, newName: string, flags: number): Promise<void> {
    if (!(newDir instanceof TmpNode) || newDir.fs !== this.fs) throw err(Errno.EXDEV);
    const src = this.dir().get(oldName)?.node;
    if (!src) throw err(Errno.ENOENT);
    const dst = newDir.dir().get(newName)?.node ?? null;
    if (flags & RENAME_EXCHANGE) {
      if (!dst) throw err(Errno.ENOENT);
      this.removeEntry(oldName);
      newDir.removeEntry(newName);
      newDir.addEntry(newName, src);
      this.addEntry(oldName, dst);
      return;
    }
    if (dst) {
      if (isDir(dst.a.mode)) {
        if (!isDir(src.a.mode)) throw err(Errno.EISDIR);
        if (dst.dir().size > 0) throw err(Errno.ENOTEMPTY);
        newDir.removeEntry(newName);
        dst.a.nlink = 0;
        this.fs.dropLink(dst);
      } else {
        if (isDir(src.a.mode)) throw err(Errno.ENOTDIR);
        newDir.removeEntry(newName);
        this.fs.dropLink(dst);
      }
    }
    this.removeEntry(oldName);
    newDir.addEntry(newName, src);
    src.a.ctime = this.fs.now();
  }

  async readlink(): Promise<string> {
    return this.target;
  }

  async read(pos: number, buf: Uint8Array): Promise<number> {
    return this.readSync(pos, buf);
  }
  readSync(pos: number, buf: Uint8Array): number {
    if (isDir(this.a.mode)) throw err(Errno.EISDIR);
    const size = this.a.size;
    if (pos >= size) return 0;
    const n = Math.min(buf.length, size - pos);
    let done = 0;
    while (done < n) {
      const p = pos + done;
      const idx = Math.floor(p / PAGE);
      const off = p % PAGE;
      const len = Math.min(PAGE - off, n - done);
      const page = this.pages[idx];
      if (page) buf.set(page.subarray(off, off + len), done);
      else buf.fill(0, done, done + len);
      done += len;
    }
    return n;
  }

  async write(pos: number, data: Uint8Array): Promise<number> {
    return this.writeSync(pos, data);
  }
  writeSync(pos: number, data: Uint8Array): number {
    if ((this.a.mode & S_IFMT) !== S_IFREG) throw err(Errno.EINVAL);
    const end = pos + data.length;
    if (!Number.isSafeInteger(end) || end > 2 ** 44) throw err(Errno.EFBIG);
    let done = 0;
    while (done < data.length) {
      const p = pos + done;
      const idx = Math.floor(p / PAGE);
      const off = p % PAGE;
      const len = Math.min(PAGE - off, data.length - done);
      let page = this.pages[idx];
      if (!page) {
        this.fs.chargeBytes(PAGE);
        page = new Uint8Array(PAGE);
        this.pages[idx] = page;
        this.a.blocks += PAGE / 512;
      }
      page.set(data.subarray(done, done + len), off);
      done += len;
    }
    if (end > this.a.size) this.a.size = end;
    this.touch();
    return data.length;
  }

  /**
   * fallocate(2) as Linux's tmpfs does it: mode 0 and KEEP_SIZE allocate every page of the
   * range (charged to the filesystem's quota at once, so ENOSPC leaves the file as it was),
   * mode 0 also extends the size; PUNCH_HOLE|KEEP_SIZE frees the pages wholly inside the range
   * (past the end of the file too) and zeroes the rest of it, without changing the size. Other
   * modes: EOPNOTSUPP.
   */
  async allocate(mode: number, pos: number, len: number): Promise<void> {
    if ((this.a.mode & S_IFMT) !== S_IFREG) throw err(Errno.ENODEV);
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) throw err(Errno.EOPNOTSUPP);
    const end = pos + len;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      this.punch(pos, end);
      return;
    }
    if (end > 2 ** 44) throw err(Errno.EFBIG);
    const first = Math.floor(pos / PAGE);
    const last = Math.ceil(end / PAGE);
    let present = 0;
    this.eachPage(first, last, () => present++);
    const missing = last - first - present;
    // Charged before anything is allocated: a range beyond the quota fails here, so the loop
    // below is bounded by the quota.
    this.fs.chargeBytes(missing * PAGE);
    for (let i = first; i < last; i++) if (!this.pages[i]) this.pages[i] = new Uint8Array(PAGE);
    this.a.blocks += (missing * PAGE) / 512;
    if (!(mode & FALLOC_FL_KEEP_SIZE) && end > this.a.size) {
      this.a.size = end;
      this.touch();
    } else if (missing > 0) this.a.ctime = this.fs.now();
  }

  /** Bytes [from, to) read as zero afterwards; pages wholly inside are freed. */
  private punch(from: number, to: number): void {
    this.eachPage(Math.floor(from / PAGE), Math.ceil(to / PAGE), (page, idx) => {
      const lo = Math.max(from - idx * PAGE, 0);
      const hi = Math.min(to - idx * PAGE, PAGE);
      if (lo === 0 && hi === PAGE) {
        this.pages[idx] = undefined;
        this.fs.unchargeBytes(PAGE);
        this.a.blocks -= PAGE / 512;
      } else page.fill(0, lo, hi);
    });
    this.touch();
  }

  /** Calls `fn` for each allocated page with an index in [first, last), in any order. */
  private eachPage(first: number, last: number, fn: (page: Uint8Array, idx: number) => void): void {
    const stop = Math.min(last, this.pages.length);
    if (stop - first <= 1 << 16) {
      for (let i = first; i < stop; i++) {
        const page = this.pages[i];
        if (page) fn(page, i);
      }
      return;
    }
    // A wide range of a sparse file: visit the pages there are, not every index.
    for (const key in this.pages) {
      const i = Number(key);
      const page = this.pages[i];
      if (i >= first && i < stop && page) fn(page, i);
    }
  }

  async seekData(pos: number, whence: number): Promise<number> {
    const size = this.a.size;
    let idx = Math.floor(pos / PAGE);
    const wantData = whence === SEEK_DATA;
    const last = Math.ceil(size / PAGE);
    for (; idx < last; idx++) {
      const has = this.pages[idx] !== undefined;
      if (has === wantData) return Math.max(pos, idx * PAGE);
    }
    if (wantData) throw err(Errno.ENXIO);
    return size;
  }

  truncateTo(size: number): void {
    if (isDir(this.a.mode)) throw err(Errno.EISDIR);
    if (size > 2 ** 44) throw err(Errno.EFBIG);
    const keep = Math.ceil(size / PAGE);
    for (let i = keep; i < this.pages.length; i++) {
      if (this.pages[i]) {
        this.fs.unchargeBytes(PAGE);
        this.a.blocks -= PAGE / 512;
      }
    }
    if (this.pages.length > keep) this.pages.length = keep;
    const tail = size % PAGE;
    if (tail && this.pages[keep - 1]) this.pages[keep - 1]!.fill(0, tail);
    this.a.size = size;
  }

  async setattr(ch: SetAttr): Promise<void> {
    if (this.deferred !== null) this.materialize();
    if (ch.size !== undefined && ch.size !== this.a.size) this.truncateTo(ch.size);
    if (ch.mode !== undefined) this.a.mode = (this.a.mode & S_IFMT) | (ch.mode & 0o7777);
    if (ch.uid !== undefined) this.a.uid = ch.uid;
    if (ch.gid !== undefined) this.a.gid = ch.gid;
    if (ch.atime) this.a.atime = ch.atime;
    if (ch.mtime) this.a.mtime = ch.mtime;
    if (ch.ctime) this.a.ctime = ch.ctime;
  }

  async fsync(): Promise<void> {}

  // ---- extended attributes (names, namespaces and permissions are checked by the VFS) ----

  async getxattr(name: string): Promise<Uint8Array> {
    return this.xattrs.get(name);
  }
  async listxattr(): Promise<string[]> {
    return this.xattrs.names();
  }
  async setxattr(name: string, value: Uint8Array, flags: number): Promise<void> {
    if (this.fs.readonly) throw err(Errno.EROFS);
    // No POSIX ACLs: reading one gives ENODATA (no ACL), setting one EOPNOTSUPP.
    if (name.startsWith(XATTR_SYSTEM_PREFIX)) throw err(Errno.EOPNOTSUPP);
    this.xattrs.set(name, value, flags, this.fs.xattrAccount);
    this.a.ctime = this.fs.now();
  }
  async removexattr(name: string): Promise<void> {
    if (this.fs.readonly) throw err(Errno.EROFS);
    this.xattrs.remove(name, this.fs.xattrAccount);
    this.a.ctime = this.fs.now();
  }

  hold(): void {
    this.opens++;
  }
  unhold(): void {
    if (--this.opens !== 0 || this.a.nlink !== 0) return;
    if (this.unnamed) {
      this.unnamed = false;
      this.fs.forgetInode();
    }
    this.freeData();
  }

  /** Frees the data (when the last link goes; open files keep reading what they have). */
  freeData(): void {
    if ((this.a.mode & S_IFMT) === S_IFREG) this.truncateTo(0);
    this.xattrs.clear(this.fs.xattrAccount);
    this.fs.unchargeBytes(this.target.length);
    this.target = '';
  }
}

export class TmpFs implements FileSystem {
  readonly type: string = 'tmpfs';
  readonly source: string;
  readonly readonly: boolean;
  dev = 0;
  readonly clock: Clock;
  private nextIno = 2;
  private used = 0;
  private inodes = 0;
  private readonly rootNode: TmpNode;
  /** While deferred entries are made: the time they are stamped with instead of the clock's. */
  private fixedNow: Timespec | null = null;

  constructor(private readonly opts: TmpFsOptions = {}) {
    this.clock = opts.clock ?? hostClock;
    this.source = opts.source ?? 'tmpfs';
    this.readonly = opts.readOnly ?? false;
    this.rootNode = new TmpNode(
      this,
      1,
      { mode: S_IFDIR | (opts.rootMode ?? 0o1777), uid: opts.rootUid ?? 0, gid: opts.rootGid ?? 0, rdev: 0 },
      this.clock(),
    );
  }

  /** Extended attributes count against the same size limit and memory account as data. */
  readonly xattrAccount: XattrAccount = {
    charge: (n) => this.chargeBytes(n),
    uncharge: (n) => this.unchargeBytes(n),
  };

  get usedBytes(): number {
    this.rootNode.materialize();
    return this.used;
  }

  async root(): Promise<TmpNode> {
    return this.rootNode;
  }
  rootSync(): TmpNode {
    return this.rootNode;
  }

  /** The time new and changed nodes are stamped with. */
  now(): Timespec {
    return this.fixedNow ?? this.clock();
  }

  /**
   * Makes the root directory's entries with `make` when the root is first used (looked up,
   * listed, stat'ed, or the filesystem statfs'ed) instead of now: most runs never look inside
   * /sys or /dev. What `make` creates is stamped with the root's creation time and numbered
   * as if made now (nothing else can make nodes before the root is used), so no caller can
   * tell the difference.
   */
  protected deferRootEntries(make: (root: TmpNode) => void): void {
    const root = this.rootNode;
    const stamp = root.a.ctime;
    root.defer(() => {
      this.fixedNow = stamp;
      try {
        make(root);
      } finally {
        this.fixedNow = null;
      }
    });
  }

  newNode(init: NewNode): TmpNode {
    if (this.opts.maxInodes !== undefined && this.inodes >= this.opts.maxInodes) throw err(Errno.ENOSPC);
    this.chargeBytes(INODE_COST);
    this.inodes++;
    return new TmpNode(this, this.nextIno++, init, this.now());
  }

  /** An inode that never had a name is gone (its last open closed). */
  forgetInode(): void {
    this.inodes--;
    this.unchargeBytes(INODE_COST);
  }

  dropLink(n: TmpNode): void {
    if (n.a.nlink > 0 && !isDir(n.a.mode)) n.a.nlink--;
    n.a.ctime = this.now();
    if (n.a.nlink === 0) {
      // Data stays readable through open files until the last one is released.
      this.forgetInode();
      if (n.opens === 0) n.freeData();
    }
  }

  chargeBytes(n: number): void {
    if (n <= 0) return;
    if (this.opts.maxBytes !== undefined && this.used + n > this.opts.maxBytes) throw err(Errno.ENOSPC);
    this.opts.account?.charge(n);
    this.used += n;
  }
  unchargeBytes(n: number): void {
    if (n <= 0) return;
    this.used -= n;
    this.opts.account?.uncharge(n);
  }

  async statfs(): Promise<StatFs> {
    this.rootNode.materialize();
    const bsize = PAGE;
    const total = this.opts.maxBytes !== undefined ? Math.floor(this.opts.maxBytes / bsize) : 1 << 20;
    const usedB = Math.ceil(this.used / bsize);
    const files = this.opts.maxInodes ?? 1 << 20;
    return {
      type: TMPFS_MAGIC,
      bsize,
      blocks: total,
      bfree: Math.max(0, total - usedB),
      bavail: Math.max(0, total - usedB),
      files,
      ffree: Math.max(0, files - this.inodes),
      fsid: [0, 0],
      namelen: 255,
      frsize: bsize,
      flags: 0,
    };
  }
}
