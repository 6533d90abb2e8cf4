/**
 * overlay: a read-only lower filesystem (the ext4 image) under a tmpfs upper layer that
 * takes every change. Copy-up on write/setattr/link/rename, whiteouts (char 0:0 in the
 * upper), opaque directories (trusted.overlay.opaque xattr in the upper), merged readdir,
 * renames of directories (the subtree is copied up and the result made opaque), stable
 * st_ino (the lower inode number, kept across copy-up; upper-only inodes get
 * UPPER_INO_BASE + their tmpfs number). The upper layer exports as an OCI-style layer tar
 * (whiteouts as `.wh.<name>` files).
 */
import { Errno, err } from './errno';
import type { DirContext, FileSystem, NewNode, VNode } from './fs';
import { TmpFs, TmpNode } from './tmpfs';
import { tarEnd, tarHeader, tarPadding, type TarEntry } from './tar';
import {
  type DirEntry,
  type InodeAttr,
  isDir,
  major,
  minor,
  modeToDtype,
  RENAME_EXCHANGE,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type SetAttr,
  type StatFs,
} from './types';
import type { FsContext } from './vfs';

export const UPPER_INO_BASE = 0x100000000;
const OPAQUE = 'trusted.overlay.opaque';
/** The overlay's private xattr namespace: never shown to or settable by the guest. */
const OVL_XATTR_PREFIX = 'trusted.overlay.';
/** OCI image-layer names: `.wh.<name>` marks a deleted path, `.wh..wh..opq` an opaque directory. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
const COPY_CHUNK = 1 << 20;

function isWhiteout(n: TmpNode): boolean {
  const a = n.a;
  return (a.mode & S_IFMT) === S_IFCHR && a.rdev === 0;
}
function isOpaque(n: TmpNode): boolean {
  return n.xattrs.has(OPAQUE);
}

interface Snapshot {
  entries: DirEntry[];
}

export class OverlayFs implements FileSystem {
  readonly type = 'overlay';
  readonly source: string;
  readonly readonly = false;
  dev = 0;
  /** Lower inode number of each copied-up upper node (st_ino stability). */
  readonly origin = new WeakMap<TmpNode, number>();
  private rootNode: OvlNode | null = null;
  /** The context of the latest lookup, for layer calls whose VNode method has none (unlink, rename). */
  ctx: FsContext | null = null;

  constructor(
    readonly lower: FileSystem,
    readonly upper: TmpFs,
    opts: { source?: string } = {},
  ) {
    this.source = opts.source ?? 'overlay';
  }

  async root(): Promise<OvlNode> {
    if (!this.rootNode) {
      const l = await this.lower.root();
      const u = await this.upper.root();
      this.rootNode = new OvlNode(this, null, '', u, l);
      if (!u.entries || u.entries.size === 0) {
        // A fresh upper root takes the lower root's attributes.
        const la = l.attr();
        await u.setattr({ mode: la.mode, uid: la.uid, gid: la.gid, atime: la.atime, mtime: la.mtime, ctime: la.ctime });
        this.origin.set(u, la.ino);
      }
    }
    return this.rootNode;
  }

  async statfs(): Promise<StatFs> {
    const l = await this.lower.statfs();
    const u = await this.upper.statfs();
    return { ...u, type: 0x794c7630, files: l.files + u.files, ffree: u.ffree };
  }

  options(): string {
    return `lowerdir=${this.lower.source},upperdir=tmpfs`;
  }

  inoFor(upper: TmpNode | null, lower: VNode | null): number {
    if (upper) {
      const o = this.origin.get(upper);
      if (o !== undefined) return o;
    }
    if (lower) return lower.attr().ino;
    return UPPER_INO_BASE + upper!.a.ino;
  }

  // ---- export ----

  /** Deleted paths (whiteouts) and opaque directories of the upper layer (absolute paths). */
  changes(): { deleted: string[]; opaque: string[] } {
    const deleted: string[] = [];
    const opaque: string[] = [];
    const walk = (dir: TmpNode, path: string): void => {
      for (const name of [...dir.entries!.keys()].sort()) {
        const n = dir.child(name)!;
        const p = `${path}/${name}`;
        if (isWhiteout(n)) deleted.push(p);
        else if (isDir(n.a.mode)) {
          if (isOpaque(n)) opaque.push(p);
          walk(n, p);
        }
      }
    };
    walk(this.upper.rootSync(), '');
    return { deleted, opaque };
  }

  /**
   * The upper layer as a tar stream in the OCI image-layer format: every added or changed
   * file, directory, symlink, fifo and device node (hard links as tar links); a deleted path
   * (a whiteout) is a zero-length regular file `dir/.wh.<name>`, and an opaque directory (one
   * whose lower content is hidden) holds the marker file `dir/.wh..wh..opq` (right after the
   * directory's own entry). changes() lists the same deletions as absolute paths.
   */
  async *exportTar(): AsyncGenerator<Uint8Array> {
    const seen = new Map<TmpNode, string>();
    const marker = (n: TmpNode, path: string): Uint8Array =>
      tarHeader({ path, type: '0', mode: 0o644, uid: n.a.uid, gid: n.a.gid, size: 0, mtime: n.a.mtime.sec });
    async function* walk(dir: TmpNode, path: string): AsyncGenerator<Uint8Array> {
      for (const name of [...dir.entries!.keys()].sort()) {
        const n = dir.child(name)!;
        const p = path ? `${path}/${name}` : name;
        if (isWhiteout(n)) {
          yield marker(n, `${path ? `${path}/` : ''}${WHITEOUT_PREFIX}${name}`);
          continue;
        }
        const a = n.a;
        const base = { path: p, mode: a.mode, uid: a.uid, gid: a.gid, size: 0, mtime: a.mtime.sec };
        const t = a.mode & S_IFMT;
        if (t === S_IFDIR) {
          yield tarHeader({ ...base, path: p + '/', type: '5' });
          if (isOpaque(n)) yield marker(n, `${p}/${OPAQUE_MARKER}`);
          yield* walk(n, p);
        } else if (t === S_IFREG) {
          const first = seen.get(n);
          if (first !== undefined) {
            yield tarHeader({ ...base, type: '1', linkname: first });
            continue;
          }
          if (a.nlink > 1) seen.set(n, p);
          const e: TarEntry = { ...base, type: '0', size: a.size };
          yield tarHeader(e);
          for (let off = 0; off < a.size; off += COPY_CHUNK) {
            const chunk = new Uint8Array(Math.min(COPY_CHUNK, a.size - off));
            n.readSync(off, chunk);
            yield chunk;
          }
          yield tarPadding(a.size);
        } else if (t === S_IFLNK) {
          yield tarHeader({ ...base, type: '2', linkname: n.target });
        } else if (t === S_IFIFO) {
          yield tarHeader({ ...base, type: '6' });
        } else if (t === S_IFCHR || t === S_IFBLK) {
          yield tarHeader({
            ...base,
            type: t === S_IFCHR ? '3' : '4',
            devmajor: major(a.rdev),
            devminor: minor(a.rdev),
          });
        }
        // sockets are not representable in tar and are skipped
      }
    }
    yield* walk(this.upper.rootSync(), '');
    yield tarEnd();
  }
}

export class OvlNode implements VNode {
  /** The lower file's content while it has not been copied up (then it may change). */
  contentKey(): object | null {
    return this.upper === null ? (this.lower?.contentKey?.() ?? null) : null;
  }
  /** Looked-up children (stable node identity). */
  private readonly children = new Map<string, OvlNode>();
  /** Unlinked, removed or renamed over while only in the lower layer: reports nlink 0 (IN_DELETE_SELF). */
  private removed = false;

  constructor(
    readonly fs: OverlayFs,
    public parent: OvlNode | null,
    public name: string,
    public upper: TmpNode | null,
    public lower: VNode | null,
  ) {}

  get ino(): number {
    return this.fs.inoFor(this.upper, this.lower);
  }

  private get merged(): boolean {
    return !!this.upper && !!this.lower && isDir(this.upper.a.mode);
  }

  attr(): InodeAttr {
    const base = this.upper ? this.upper.a : this.lower!.attr();
    const nlink = this.removed && !this.upper ? 0 : this.merged ? 1 : base.nlink;
    return { ...base, ino: this.ino, nlink };
  }

  /** Does the lower layer (still visible below this directory) have `name`? */
  private async lowerChild(name: string, ctx: FsContext): Promise<VNode | null> {
    if (!this.lower || (this.upper && isOpaque(this.upper))) return null;
    if (!this.lower.lookup) return null;
    return this.lower.lookup(name, ctx);
  }

  async lookup(name: string, ctx: FsContext): Promise<VNode | null> {
    this.fs.ctx = ctx;
    const c = this.children.get(name);
    if (c) return c;
    const u = this.upper?.child(name) ?? null;
    let node: OvlNode;
    if (u) {
      if (isWhiteout(u)) return null;
      let l: VNode | null = null;
      if (isDir(u.a.mode) && !isOpaque(u)) {
        const lc = await this.lowerChild(name, ctx);
        if (lc && isDir(lc.attr().mode)) l = lc;
      }
      node = new OvlNode(this.fs, this, name, u, l);
    } else {
      const l = await this.lowerChild(name, ctx);
      if (!l) return null;
      node = new OvlNode(this.fs, this, name, null, l);
    }
    this.children.set(name, node);
    return node;
  }

  // ---- copy-up ----

  /** Ensures this node exists in the upper layer and returns the upper node. */
  async copyUp(): Promise<TmpNode> {
    if (this.upper) return this.upper;
    const lower = this.lower!;
    // A lower file already unlinked (still open): its copy lives on, unnamed, for its open
    // files only, as an unlinked file does on Linux; it must not reappear in its directory.
    const pu = this.removed ? null : await this.parent!.copyUp();
    const la = lower.attr();
    const up = this.fs.upper;
    const t = la.mode & S_IFMT;
    const init: NewNode = {
      mode: la.mode,
      uid: la.uid,
      gid: la.gid,
      rdev: t === S_IFCHR || t === S_IFBLK ? la.rdev : 0,
    };
    const u = up.newNode(init);
    if (t === S_IFREG && la.size > 0) {
      const buf = new Uint8Array(Math.min(COPY_CHUNK, la.size));
      for (let off = 0; off < la.size;) {
        const want = Math.min(buf.length, la.size - off);
        const n = await lower.read!(off, buf.subarray(0, want));
        if (n <= 0) throw err(Errno.EIO, 'copy-up: short read');
        // Keep holes: skip all-zero pages.
        for (let p = 0; p < n; p += 4096) {
          const page = buf.subarray(p, Math.min(n, p + 4096));
          let zero = true;
          for (let i = 0; i < page.length; i++) {
            if (page[i] !== 0) {
              zero = false;
              break;
            }
          }
          if (!zero) u.writeSync(off + p, page);
        }
        off += n;
      }
      u.truncateTo(la.size);
    } else if (t === S_IFLNK) {
      const ctx = this.fs.ctx;
      if (!ctx || !lower.readlink) throw err(Errno.EIO, 'copy-up: cannot read symlink');
      u.target = await lower.readlink(ctx);
      up.chargeBytes(u.target.length);
      u.a.size = u.target.length;
    }
    await this.copyUpXattrs(lower, u);
    if (pu) {
      const pm = pu.a.mtime;
      const pc = pu.a.ctime;
      pu.addEntry(this.name, u);
      pu.a.mtime = pm;
      pu.a.ctime = pc;
    } else u.a.nlink = 0;
    u.a.atime = la.atime;
    u.a.mtime = la.mtime;
    u.a.ctime = la.ctime;
    if (la.btime) u.a.btime = la.btime;
    this.fs.origin.set(u, la.ino);
    this.upper = u;
    return u;
  }

  /** Copy-up keeps the lower node's extended attributes (charged to the upper layer). */
  private async copyUpXattrs(lower: VNode, u: TmpNode): Promise<void> {
    if (!lower.listxattr || !lower.getxattr) return;
    for (const name of await lower.listxattr()) {
      if (name.startsWith(OVL_XATTR_PREFIX)) continue;
      u.xattrs.set(name, await lower.getxattr(name), 0, this.fs.upper.xattrAccount);
    }
  }

  // ---- extended attributes: the upper node's once copied up, else the lower's; set and
  // remove copy up first; the overlay's own trusted.overlay.* names are hidden (EOPNOTSUPP) ----

  async getxattr(name: string): Promise<Uint8Array> {
    if (name.startsWith(OVL_XATTR_PREFIX)) throw err(Errno.EOPNOTSUPP);
    if (this.upper) return this.upper.getxattr(name);
    if (!this.lower!.getxattr) throw err(Errno.ENODATA);
    return this.lower!.getxattr(name);
  }
  async listxattr(): Promise<string[]> {
    const names = this.upper ? await this.upper.listxattr() : ((await this.lower!.listxattr?.()) ?? []);
    return names.filter((n) => !n.startsWith(OVL_XATTR_PREFIX));
  }
  async setxattr(name: string, value: Uint8Array, flags: number): Promise<void> {
    if (name.startsWith(OVL_XATTR_PREFIX)) throw err(Errno.EOPNOTSUPP);
    const u = await this.copyUp();
    await u.setxattr(name, value, flags);
  }
  async removexattr(name: string): Promise<void> {
    if (name.startsWith(OVL_XATTR_PREFIX)) throw err(Errno.EOPNOTSUPP);
    // Like ovl_xattr_set: removing a name the lower file lacks fails without a copy-up.
    if (!this.upper) await this.getxattr(name);
    const u = await this.copyUp();
    await u.removexattr(name);
  }

  /** Copies up the whole subtree and makes this directory opaque (directory renames). */
  private async copyUpTree(ctx: FsContext): Promise<void> {
    const u = await this.copyUp();
    if (!isDir(u.a.mode)) return;
    if (this.lower && !isOpaque(u)) {
      for (const e of await this.mergedEntries(ctx)) {
        const c = (await this.lookup(e.name, ctx)) as OvlNode | null;
        if (c) await c.copyUpTree(ctx);
      }
    }
    // Whiteouts inside are no longer needed once the directory is opaque.
    for (const [name, e] of [...u.entries!]) {
      if (isWhiteout(e.node)) u.removeEntry(name);
    }
    u.xattrs.set(OPAQUE, new Uint8Array([0x79]));
    this.lower = null;
  }

  // ---- data and attributes ----

  async read(pos: number, buf: Uint8Array): Promise<number> {
    if (this.upper) return this.upper.read(pos, buf);
    return this.lower!.read!(pos, buf);
  }
  async write(pos: number, data: Uint8Array): Promise<number> {
    const u = await this.copyUp();
    return u.write(pos, data);
  }
  async allocate(mode: number, pos: number, len: number): Promise<void> {
    const u = await this.copyUp();
    await u.allocate(mode, pos, len);
  }
  async seekData(pos: number, whence: number): Promise<number> {
    if (this.upper) return this.upper.seekData(pos, whence);
    if (this.lower!.seekData) return this.lower!.seekData(pos, whence);
    return whence === 3 ? pos : this.lower!.attr().size;
  }
  async setattr(ch: SetAttr): Promise<void> {
    const u = await this.copyUp();
    await u.setattr(ch);
  }
  async fsync(): Promise<void> {}
  async readlink(ctx: FsContext): Promise<string> {
    if (this.upper) return this.upper.readlink();
    if (!this.lower!.readlink) throw err(Errno.EINVAL);
    return this.lower!.readlink(ctx);
  }
  hold(): void {
    this.upper?.hold();
  }
  unhold(): void {
    this.upper?.unhold();
  }

  // ---- directories ----

  private async mergedEntries(ctx: FsContext): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    const names = new Set<string>();
    if (this.upper) {
      for (const [name, e] of this.upper.entries!) {
        names.add(name);
        if (isWhiteout(e.node)) continue;
        out.push({ name, ino: this.fs.inoFor(e.node, null), type: modeToDtype(e.node.a.mode), off: 0 });
      }
    }
    if (this.lower && !(this.upper && isOpaque(this.upper)) && this.lower.readdir) {
      const dctx: DirContext = {};
      let cookie = 0;
      for (let guardN = 0; guardN < 1 << 24; guardN++) {
        const batch = await this.lower.readdir(cookie, dctx);
        if (batch.length === 0) break;
        for (const e of batch) {
          if (!names.has(e.name)) {
            names.add(e.name);
            out.push({ ...e, off: 0 });
          }
        }
        cookie = batch[batch.length - 1].off;
      }
    }
    void ctx;
    return out;
  }

  async readdir(cookie: number, dir: DirContext): Promise<DirEntry[]> {
    let snap = dir.state as Snapshot | undefined;
    if (!snap || cookie === 0) {
      snap = { entries: await this.mergedEntries(this.fs.ctx ?? ({} as FsContext)) };
      dir.state = snap;
    }
    const out: DirEntry[] = [];
    for (let i = cookie; i < snap.entries.length && out.length < 256; i++) {
      out.push({ ...snap.entries[i], off: i + 1 });
    }
    return out;
  }

  private async removeWhiteout(u: TmpNode, name: string): Promise<boolean> {
    const c = u.child(name);
    if (c && isWhiteout(c)) {
      u.removeEntry(name);
      this.fs.upper.dropLink(c);
      return true;
    }
    return false;
  }

  private async addWhiteout(u: TmpNode, name: string): Promise<void> {
    const w = this.fs.upper.newNode({ mode: S_IFCHR, uid: 0, gid: 0, rdev: 0 });
    u.addEntry(name, w);
  }

  private async makeNode(name: string, fn: (u: TmpNode) => Promise<VNode>): Promise<VNode> {
    const u = await this.copyUp();
    const hadWhiteout = await this.removeWhiteout(u, name);
    const n = (await fn(u)) as TmpNode;
    if (hadWhiteout && isDir(n.a.mode)) n.xattrs.set(OPAQUE, new Uint8Array([0x79]));
    const node = new OvlNode(this.fs, this, name, n, null);
    this.children.set(name, node);
    return node;
  }

  async create(name: string, init: NewNode): Promise<VNode> {
    return this.makeNode(name, (u) => u.create(name, init));
  }
  async mkdir(name: string, init: NewNode): Promise<VNode> {
    return this.makeNode(name, (u) => u.mkdir(name, init));
  }
  /** An upper-layer file with no name; linkat gives it one like any upper file. */
  async tmpfile(init: NewNode): Promise<VNode> {
    const u = await this.copyUp();
    const t = (await u.tmpfile(init)) as TmpNode;
    return new OvlNode(this.fs, this, '', t, null);
  }
  async symlink(name: string, target: string, init: NewNode): Promise<VNode> {
    return this.makeNode(name, (u) => u.symlink(name, target, init));
  }

  async link(name: string, target: VNode): Promise<void> {
    if (!(target instanceof OvlNode) || target.fs !== this.fs) throw err(Errno.EXDEV);
    const tu = await target.copyUp();
    const u = await this.copyUp();
    await this.removeWhiteout(u, name);
    await u.link(name, tu);
    this.children.set(name, new OvlNode(this.fs, this, name, tu, null));
  }

  private async isEmpty(ctx: FsContext): Promise<boolean> {
    return (await this.mergedEntries(ctx)).length === 0;
  }

  async unlink(name: string): Promise<void> {
    const ctx = this.fs.ctx ?? ({} as FsContext);
    const child = (await this.lookup(name, ctx)) as OvlNode | null;
    if (!child) throw err(Errno.ENOENT);
    const u = await this.copyUp();
    const inLower = (await this.lowerChild(name, ctx)) !== null;
    if (child.upper) await u.unlink(name);
    if (inLower) await this.addWhiteout(u, name);
    this.children.delete(name);
    child.removed = true;
  }

  async rmdir(name: string): Promise<void> {
    const ctx = this.fs.ctx ?? ({} as FsContext);
    const child = (await this.lookup(name, ctx)) as OvlNode | null;
    if (!child) throw err(Errno.ENOENT);
    if (!isDir(child.attr().mode)) throw err(Errno.ENOTDIR);
    if (!(await child.isEmpty(ctx))) throw err(Errno.ENOTEMPTY);
    const u = await this.copyUp();
    const inLower = (await this.lowerChild(name, ctx)) !== null;
    if (child.upper) {
      for (const [n, e] of [...child.upper.entries!]) {
        if (isWhiteout(e.node)) {
          child.upper.removeEntry(n);
          this.fs.upper.dropLink(e.node);
        }
      }
      await u.rmdir(name);
    }
    if (inLower) await this.addWhiteout(u, name);
    this.children.delete(name);
    child.removed = true;
  }

  async rename(oldName: string, newDir: VNode, newName: string, flags: number): Promise<void> {
    if (!(newDir instanceof OvlNode) || newDir.fs !== this.fs) throw err(Errno.EXDEV);
    const ctx = this.fs.ctx ?? ({} as FsContext);
    const src = (await this.lookup(oldName, ctx)) as OvlNode | null;
    if (!src) throw err(Errno.ENOENT);
    const dst = (await newDir.lookup(newName, ctx)) as OvlNode | null;
    const exchange = (flags & RENAME_EXCHANGE) !== 0;
    if (exchange && !dst) throw err(Errno.ENOENT);
    if (dst && !exchange && isDir(dst.attr().mode) && !(await dst.isEmpty(ctx))) throw err(Errno.ENOTEMPTY);
    if (isDir(src.attr().mode)) await src.copyUpTree(ctx);
    else await src.copyUp();
    if (exchange && dst) {
      if (isDir(dst.attr().mode)) await dst.copyUpTree(ctx);
      else await dst.copyUp();
    }
    const uo = await this.copyUp();
    const un = await newDir.copyUp();
    if (!exchange) {
      await newDir.removeWhiteout(un, newName);
      const d = un.child(newName);
      if (d && isDir(d.a.mode)) {
        for (const [n, e] of [...d.entries!]) if (isWhiteout(e.node)) d.removeEntry(n);
      }
    }
    const oldInLower = !exchange && (await this.lowerChild(oldName, ctx)) !== null;
    await uo.rename(oldName, un, newName, flags);
    if (oldInLower) await this.addWhiteout(uo, oldName);
    this.children.delete(oldName);
    newDir.children.delete(newName);
    if (dst && !exchange) dst.removed = true;
    src.parent = newDir;
    src.name = newName;
    newDir.children.set(newName, src);
    if (exchange && dst) {
      dst.parent = this;
      dst.name = oldName;
      this.children.set(oldName, dst);
    }
  }
}
