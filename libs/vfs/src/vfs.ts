/**
 * The VFS core: dentry cache, mount table, path walk with the Linux *at rules, permission
 * checks, open file descriptions and every namespace operation the kernel's syscalls need.
 * Every public method rejects only with VfsError (anything else a filesystem throws is
 * turned into EIO at this boundary).
 */
import { Errno, err, ObjectLink, ObjectLinkReached, toVfsError } from './errno';
import type { CharDevice, DirContext, FifoHandler, FileOps, FileSystem, NewNode, VNode } from './fs';
import {
  AT_EMPTY_PATH,
  AT_REMOVEDIR,
  AT_SYMLINK_FOLLOW,
  AT_SYMLINK_NOFOLLOW,
  type Clock,
  type Credentials,
  type DirEntry,
  DT_DIR,
  F_OK,
  hostClock,
  type InodeAttr,
  isDir,
  isLnk,
  isReg,
  makedev,
  MAXSYMLINKS,
  MS_NODEV,
  MS_NOEXEC,
  MS_RDONLY,
  NAME_MAX,
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  PAGE_SIZE,
  PATH_MAX,
  R_OK,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  S_ISGID,
  S_ISUID,
  S_ISVTX,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  type SetAttr,
  type Stat,
  type StatFs,
  STATX_BASIC_STATS,
  STATX_BTIME,
  STATX_MNT_ID,
  type Timespec,
  UTIME_NOW,
  UTIME_OMIT,
  W_OK,
  X_OK,
  major as devMajor,
  minor as devMinor,
} from './types';
import { MemDevices, type RandomSource } from './mem-devices';
import {
  type FsNotifyListener,
  IN_ACCESS,
  IN_ATTRIB,
  IN_CLOSE_NOWRITE,
  IN_CLOSE_WRITE,
  IN_CREATE,
  IN_DELETE,
  IN_DELETE_SELF,
  IN_ISDIR,
  IN_MODIFY,
  IN_MOVE_SELF,
  IN_MOVED_FROM,
  IN_MOVED_TO,
  IN_OPEN,
} from './notify';
import {
  checkXattrName,
  XATTR_CREATE,
  XATTR_LIST_MAX,
  XATTR_NAME_MAX,
  XATTR_REPLACE,
  XATTR_SECURITY_PREFIX,
  XATTR_SIZE_MAX,
  XATTR_SYSTEM_PREFIX,
  XATTR_TRUSTED_PREFIX,
  XATTR_USER_PREFIX,
} from './xattr';

// ---------------------------------------------------------------------------------------
// dentries, mounts, paths
// ---------------------------------------------------------------------------------------

/** A name in a directory. `node === null` is a cached negative entry. */
export class Dentry {
  /** Child dentries by name (positive and negative). */
  readonly children = new Map<string, Dentry>();
  /** Mounts whose mount point is this dentry (the last one with a given parent is on top). */
  mounts: Mount[] | null = null;
  /** Set when the name was unlinked/removed (getcwd adds " (deleted)"). */
  deleted = false;
  /** Kept in its parent's children even on a volatile filesystem (a mount point or its ancestors). */
  pinned = false;
  /** Negative children cached under this directory (capped: lookups of random names cannot grow the cache). */
  negatives = 0;
  /** Open file descriptions on this name (an unlinked file is deleted, IN_DELETE_SELF, at the last close). */
  opens = 0;
  constructor(
    public name: string,
    public parent: Dentry | null,
    public node: VNode | null,
  ) {}
}

export class Mount {
  constructor(
    readonly id: number,
    readonly fs: FileSystem,
    readonly root: Dentry,
    readonly parent: Mount | null,
    readonly mountpoint: Dentry | null,
    public flags: number,
  ) {}
  get readonly(): boolean {
    return (this.flags & MS_RDONLY) !== 0 || this.fs.readonly;
  }
}

/** A position in the namespace (Linux's struct path): what cwd, root and dirfds hold. */
export interface PathRef {
  readonly mnt: Mount;
  readonly dentry: Dentry;
}

/** Per-task filesystem context (Linux's fs_struct + creds): passed to every operation. */
export interface FsContext {
  cred: Credentials;
  root: PathRef;
  cwd: PathRef;
  /** Applied to create modes. */
  umask: number;
  /** Calling process/thread ids (procfs /proc/self, /proc/thread-self). */
  pid?: number;
  tid?: number;
}

export interface MountInfo {
  id: number;
  parentId: number;
  source: string;
  target: string;
  fstype: string;
  options: string;
}

export interface VfsOptions {
  /** Timestamp source (the kernel passes its virtual clock). */
  clock?: Clock;
  /** Random bytes for /dev/random and /dev/urandom (deterministic mode passes a seeded one). */
  random?: RandomSource;
}

interface WalkState {
  links: number;
}

type LastKind = 'norm' | 'dot' | 'dotdot' | 'root';
interface ParentResult {
  parent: PathRef;
  name: string;
  kind: LastKind;
  trailingSlash: boolean;
}

/** Cached negative entries per directory. */
const MAX_NEGATIVE_PER_DIR = 64;

const DEFAULT_CAPS = { dacOverride: true, fowner: true, chown: true, fsetid: true, mknod: true, sysAdmin: true };
const NO_CAPS = { dacOverride: false, fowner: false, chown: false, fsetid: false, mknod: false, sysAdmin: false };
function caps(c: Credentials): NonNullable<Credentials['capabilities']> {
  return c.capabilities ?? (c.uid === 0 ? DEFAULT_CAPS : NO_CAPS);
}
/** CAP_SYS_ADMIN: explicit, or uid 0 when the capabilities are not given. */
function sysAdmin(c: Credentials): boolean {
  return c.capabilities ? c.capabilities.sysAdmin === true : c.uid === 0;
}
function inGroup(c: Credentials, gid: number): boolean {
  return c.gid === gid || c.groups.includes(gid);
}
function deviceKey(rdev: number): number {
  return devMajor(rdev) * 0x100000 + devMinor(rdev);
}

/** Runs `fn`, converting anything that is not a VfsError into one (EIO). */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toVfsError(e);
  }
}

// ---------------------------------------------------------------------------------------
// the VFS
// ---------------------------------------------------------------------------------------

export class Vfs {
  readonly clock: Clock;
  private mountList: Mount[] = [];
  private nextMountId = 1;
  private nextDev = 1;
  private rootMount: Mount | null = null;
  private readonly charDevices = new Map<number, CharDevice>();
  private fifoHandler: FifoHandler | null = null;
  /** O_TMPFILE files opened without O_EXCL and not linked yet: linkat may name them (I_LINKABLE). */
  private readonly linkable = new WeakSet<VNode>();
  /** Counters for tests and stats. */
  readonly stats = { lookups: 0, dcacheHits: 0 };
  /** Active watches (inotify). While 0, an event site costs this one comparison. */
  watches = 0;
  /** Receives the events while `watches > 0` (the kernel's inotify). */
  notifier: FsNotifyListener | null = null;
  private nextCookie = 0;

  constructor(opts: VfsOptions = {}) {
    this.clock = opts.clock ?? hostClock;
    const mem = new MemDevices(opts.random);
    for (const [minor, dev] of mem.devices()) this.registerCharDevice(1, minor, dev);
  }

  // ---- change notification (callers check `watches !== 0` first) ----

  /** An event on the node of `d`; its parent's watchers get it too for child events (fsnotify_parent). */
  _notify(d: Dentry, mask: number, fileEvent = false): void {
    const node = d.node;
    if (!node || !this.notifier) return;
    const m = mask | (isDir(node.attr().mode) ? IN_ISDIR : 0);
    const parent = d.parent?.node ?? null;
    this.notifier.nodeEvent(node, m, parent, d.name, fileEvent && d.deleted);
  }
  /** An event on the inode alone (link count changes, IN_DELETE_SELF, IN_MOVE_SELF: no IN_ISDIR, as Linux reports them). */
  private notifyInode(node: VNode, mask: number): void {
    this.notifier?.nodeEvent(node, mask, null, '', false);
  }
  private notifyDir(dir: PathRef, mask: number, name: string, cookie = 0): void {
    const node = dir.dentry.node;
    if (node) this.notifier?.dirEvent(node, mask, name, cookie);
  }
  /** The last link and the last open file are gone: IN_DELETE_SELF (dentry_unlink_inode). */
  _notifyGone(d: Dentry): void {
    const node = d.node;
    if (node && d.opens === 0 && node.attr().nlink === 0) this.notifyInode(node, IN_DELETE_SELF);
  }

  /**
   * The VM that owns this namespace is over: forgets the mounts, devices and listeners, so the
   * filesystems' objects are no longer reachable from here (whatever still refers to this Vfs,
   * e.g. objects V8 promoted to the old generation, then keeps only this small object alive
   * until the next full GC instead of the whole namespace). Later operations fail with ENOENT.
   */
  release(): void {
    this.mountList = [];
    this.rootMount = null;
    this.charDevices.clear();
    this.fifoHandler = null;
    this.notifier = null;
    this.watches = 0;
  }

  // ---- devices ----

  /** Routes opens of character nodes with this (major, minor) to `dev` (replaces any previous). */
  registerCharDevice(major: number, minor: number, dev: CharDevice): void {
    this.charDevices.set(deviceKey(makedev(major, minor)), dev);
  }
  /** The kernel's named-pipe implementation (opens of S_IFIFO nodes). */
  setFifoHandler(h: FifoHandler): void {
    this.fifoHandler = h;
  }

  // ---- mounts ----

  /**
   * Mounts `fs` at `target` (a path resolved as root, or a PathRef); the first mount without
   * a target becomes the root. flags: MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC.
   */
  async mount(fs: FileSystem, target?: string | PathRef, flags = 0): Promise<Mount> {
    return guard(async () => {
      if (fs.dev === 0) fs.dev = makedev(0, this.nextDev++);
      const rootNode = await fs.root();
      const rootDentry = new Dentry('/', null, rootNode);
      if (target === undefined) {
        if (this.rootMount) throw err(Errno.EBUSY, 'root already mounted');
        const m = new Mount(this.nextMountId++, fs, rootDentry, null, null, flags);
        this.rootMount = m;
        this.mountList.push(m);
        return m;
      }
      const at = typeof target === 'string' ? await this.resolve(this.rootContext(), undefined, target) : target;
      if (!at.dentry.node || !isDir(at.dentry.node.attr().mode)) throw err(Errno.ENOTDIR, 'mount point');
      const m = new Mount(this.nextMountId++, fs, rootDentry, at.mnt, at.dentry, flags);
      (at.dentry.mounts ??= []).push(m);
      // Pin the chain so walks on volatile filesystems (procfs, hostfs) find the mount.
      for (let d: Dentry | null = at.dentry; d && d.parent; d = d.parent) {
        d.pinned = true;
        d.parent.children.set(d.name, d);
      }
      this.mountList.push(m);
      return m;
    });
  }

  /** Unmounts the mount whose root `target` names. EBUSY if something is mounted below it. */
  async umount(ctx: FsContext, target: string): Promise<void> {
    return guard(async () => {
      const p = await this.resolve(ctx, undefined, target);
      const m = p.mnt;
      if (p.dentry !== m.root) throw err(Errno.EINVAL, 'not a mount point');
      if (!m.parent || !m.mountpoint) throw err(Errno.EBUSY, 'root mount');
      if (this.mountList.some((x) => x.parent === m)) throw err(Errno.EBUSY);
      const list = m.mountpoint.mounts ?? [];
      m.mountpoint.mounts = list.filter((x) => x !== m);
      if (m.mountpoint.mounts.length === 0) m.mountpoint.mounts = null;
      this.mountList = this.mountList.filter((x) => x !== m);
    });
  }

  /** The mount table as /proc/mounts shows it (mount order). */
  mounts(root?: PathRef): MountInfo[] {
    return this.mountList.map((m) => ({
      id: m.id,
      parentId: m.parent ? m.parent.id : m.id,
      source: m.fs.source,
      target: m.mountpoint && m.parent ? this.pathOf({ mnt: m, dentry: m.root }, root) : '/',
      fstype: m.fs.type,
      options: [m.readonly ? 'ro' : 'rw', m.fs.options?.() ?? ''].filter((s) => s).join(','),
    }));
  }

  /** The root of the namespace. */
  rootRef(): PathRef {
    if (!this.rootMount) throw err(Errno.ENOENT, 'no root filesystem mounted');
    return { mnt: this.rootMount, dentry: this.rootMount.root };
  }

  /** A new context at the namespace root (umask 022). */
  newContext(cred: Credentials = { uid: 0, gid: 0, groups: [] }, pid?: number): FsContext {
    const r = this.rootRef();
    return { cred, root: r, cwd: r, umask: 0o022, pid, tid: pid };
  }
  private rootContext(): FsContext {
    return this.newContext();
  }

  // ---- path walk ----

  private nodeOf(p: PathRef): VNode {
    if (!p.dentry.node) throw err(Errno.ENOENT);
    return p.dentry.node;
  }

  /** Follows mounts stacked on `p`. */
  private crossMounts(p: PathRef): PathRef {
    let cur = p;
    while (cur.dentry.mounts) {
      let top: Mount | null = null;
      for (const m of cur.dentry.mounts) if (m.parent === cur.mnt) top = m;
      if (!top) break;
      cur = { mnt: top, dentry: top.root };
    }
    return cur;
  }

  private dotdot(ctx: FsContext, p: PathRef): PathRef {
    let cur = p;
    for (;;) {
      if (cur.dentry === ctx.root.dentry && cur.mnt === ctx.root.mnt) return cur;
      if (cur.dentry !== cur.mnt.root) {
        return this.crossMounts({ mnt: cur.mnt, dentry: cur.dentry.parent ?? cur.dentry });
      }
      if (!cur.mnt.parent || !cur.mnt.mountpoint) return cur;
      cur = { mnt: cur.mnt.parent, dentry: cur.mnt.mountpoint };
    }
  }

  /** Cached lookup of one component; returns the (possibly negative) dentry. */
  private async lookupChild(ctx: FsContext, dir: PathRef, name: string): Promise<Dentry> {
    const parent = dir.dentry;
    const cached = parent.children.get(name);
    const fs = dir.mnt.fs;
    if (cached && (!fs.volatile || cached.pinned)) {
      this.stats.dcacheHits++;
      return cached;
    }
    const node = this.nodeOf(dir);
    if (!node.lookup) throw err(Errno.ENOTDIR);
    this.stats.lookups++;
    const child = await node.lookup(name, ctx);
    const d = new Dentry(name, parent, child);
    if (!fs.volatile && (child || parent.negatives < MAX_NEGATIVE_PER_DIR)) {
      if (!child) parent.negatives++;
      parent.children.set(name, d);
    }
    return d;
  }

  private checkName(name: string): void {
    if (name.length > NAME_MAX) throw err(Errno.ENAMETOOLONG);
  }

  /** One walk step from directory `cur` through component `name`. */
  private async step(ctx: FsContext, cur: PathRef, name: string, follow: boolean, st: WalkState): Promise<PathRef> {
    const node = this.nodeOf(cur);
    if (!isDir(node.attr().mode)) throw err(Errno.ENOTDIR);
    this.permission(ctx, cur, X_OK);
    if (name === '.') return cur;
    if (name === '..') return this.dotdot(ctx, cur);
    this.checkName(name);
    const d = await this.lookupChild(ctx, cur, name);
    if (!d.node) throw err(Errno.ENOENT);
    const next = this.crossMounts({ mnt: cur.mnt, dentry: d });
    if (follow && isLnk(d.node.attr().mode)) return this.followLink(ctx, cur, next, st);
    return next;
  }

  private async followLink(ctx: FsContext, dir: PathRef, link: PathRef, st: WalkState): Promise<PathRef> {
    if (++st.links > MAXSYMLINKS) throw err(Errno.ELOOP);
    const node = this.nodeOf(link);
    let target: string;
    if (node.getLink) {
      const r = await node.getLink(ctx);
      if (r instanceof ObjectLink) throw new ObjectLinkReached(r);
      if (typeof r !== 'string') return r;
      target = r;
    } else if (node.readlink) {
      target = await node.readlink(ctx);
    } else throw err(Errno.EINVAL);
    if (target === '') throw err(Errno.ENOENT);
    const base = target.charCodeAt(0) === 47 ? ctx.root : dir;
    return this.walkAll(ctx, base, target, true, st);
  }

  private split(path: string): { comps: string[]; trailingSlash: boolean } {
    if (path.length >= PATH_MAX) throw err(Errno.ENAMETOOLONG);
    const comps = path.split('/').filter((c) => c.length > 0);
    return { comps, trailingSlash: path.length > 1 && path.charCodeAt(path.length - 1) === 47 };
  }

  /** Walks every component of `path` from `base` (following intermediate symlinks). */
  private async walkAll(
    ctx: FsContext,
    base: PathRef,
    path: string,
    followLast: boolean,
    st: WalkState,
  ): Promise<PathRef> {
    const { comps, trailingSlash } = this.split(path);
    let cur = path.charCodeAt(0) === 47 ? ctx.root : base;
    for (let i = 0; i < comps.length; i++) {
      const last = i === comps.length - 1;
      cur = await this.step(ctx, cur, comps[i], !last || followLast || trailingSlash, st);
    }
    if (trailingSlash && !isDir(this.nodeOf(cur).attr().mode)) throw err(Errno.ENOTDIR);
    return cur;
  }

  private base(ctx: FsContext, at: PathRef | undefined): PathRef {
    return at ?? ctx.cwd;
  }

  /**
   * Resolves `path` relative to `at` (a dirfd's PathRef, or undefined for the cwd).
   * follow=false is AT_SYMLINK_NOFOLLOW/O_NOFOLLOW for the last component; emptyPath allows
   * '' to mean `at` itself (AT_EMPTY_PATH).
   */
  async resolve(
    ctx: FsContext,
    at: PathRef | undefined,
    path: string,
    opts: { follow?: boolean; emptyPath?: boolean; directory?: boolean } = {},
  ): Promise<PathRef> {
    return guard(async () => {
      if (path === '') {
        if (opts.emptyPath) return this.base(ctx, at);
        throw err(Errno.ENOENT);
      }
      const p = await this.walkAll(ctx, this.base(ctx, at), path, opts.follow ?? true, { links: 0 });
      if (opts.directory && !isDir(this.nodeOf(p).attr().mode)) throw err(Errno.ENOTDIR);
      return p;
    });
  }

  /** Walks all but the last component. */
  private async resolveParent(
    ctx: FsContext,
    at: PathRef | undefined,
    path: string,
    st: WalkState,
  ): Promise<ParentResult> {
    if (path === '') throw err(Errno.ENOENT);
    const { comps, trailingSlash } = this.split(path);
    let cur = path.charCodeAt(0) === 47 ? ctx.root : this.base(ctx, at);
    if (comps.length === 0) return { parent: cur, name: '/', kind: 'root', trailingSlash };
    for (let i = 0; i < comps.length - 1; i++) cur = await this.step(ctx, cur, comps[i], true, st);
    const name = comps[comps.length - 1];
    const node = this.nodeOf(cur);
    if (!isDir(node.attr().mode)) throw err(Errno.ENOTDIR);
    // Linux's link_path_walk checks search permission on the last component's directory too.
    this.permission(ctx, cur, X_OK);
    const kind: LastKind = name === '.' ? 'dot' : name === '..' ? 'dotdot' : 'norm';
    if (kind === 'norm') this.checkName(name);
    return { parent: cur, name, kind, trailingSlash };
  }

  /** What readlink shows for a magic link's target: the path as seen from `root`, or the object's name. */
  linkText(r: PathRef | string | ObjectLink, root: PathRef): string {
    if (typeof r === 'string') return r;
    return r instanceof ObjectLink ? r.name : this.pathOf(r, root);
  }

  /** Absolute path of `p` as seen from `root` (getcwd, /proc/[pid]/cwd, /proc/mounts). */
  pathOf(p: PathRef, root?: PathRef): string {
    const r = root ?? (this.rootMount ? this.rootRef() : p);
    const parts: string[] = [];
    let cur = p;
    let reachable = true;
    for (let guardN = 0; guardN < 100000; guardN++) {
      if (cur.dentry === r.dentry && cur.mnt === r.mnt) break;
      if (cur.dentry === cur.mnt.root) {
        if (!cur.mnt.parent || !cur.mnt.mountpoint) {
          reachable = false;
          break;
        }
        cur = { mnt: cur.mnt.parent, dentry: cur.mnt.mountpoint };
        continue;
      }
      parts.push(cur.dentry.name);
      cur = { mnt: cur.mnt, dentry: cur.dentry.parent ?? cur.dentry };
    }
    const s = '/' + parts.reverse().join('/');
    const deleted = p.dentry.deleted ? ' (deleted)' : '';
    return (reachable ? s : '(unreachable)' + s) + deleted;
  }

  // ---- permissions ----

  /** generic_permission: throws EACCES unless `cred` may `want` (R_OK|W_OK|X_OK) on the node. */
  permission(ctx: FsContext, p: PathRef, want: number): void {
    const node = this.nodeOf(p);
    if (!this.mayAccess(ctx, node, want)) throw err(Errno.EACCES);
  }

  private mayAccess(ctx: FsContext, node: VNode, want: number): boolean {
    if (node.permission) return node.permission(ctx, want);
    const a = node.attr();
    const c = ctx.cred;
    if (caps(c).dacOverride) {
      if (want & X_OK && !isDir(a.mode) && (a.mode & 0o111) === 0) return false;
      return true;
    }
    let bits: number;
    if (c.uid === a.uid) bits = (a.mode >> 6) & 7;
    else if (inGroup(c, a.gid)) bits = (a.mode >> 3) & 7;
    else bits = a.mode & 7;
    return (bits & want) === want;
  }

  private isOwner(ctx: FsContext, a: InodeAttr): boolean {
    return ctx.cred.uid === a.uid || caps(ctx.cred).fowner;
  }

  private checkWritable(p: PathRef): void {
    if (p.mnt.readonly) throw err(Errno.EROFS);
  }

  /** may_create: W+X on the directory. */
  private mayCreate(ctx: FsContext, dir: PathRef): void {
    this.checkWritable(dir);
    if (this.nodeOf(dir).attr().nlink === 0) throw err(Errno.ENOENT);
    this.permission(ctx, dir, W_OK | X_OK);
  }

  /** may_delete: W+X on the directory plus the sticky-bit rule. */
  private mayDelete(ctx: FsContext, dir: PathRef, victim: VNode): void {
    this.checkWritable(dir);
    this.permission(ctx, dir, W_OK | X_OK);
    const da = this.nodeOf(dir).attr();
    if (da.mode & S_ISVTX) {
      const va = victim.attr();
      if (ctx.cred.uid !== va.uid && ctx.cred.uid !== da.uid && !caps(ctx.cred).fowner) throw err(Errno.EPERM);
    }
  }

  /** access/faccessat (ctx.cred should hold the real ids unless AT_EACCESS). */
  async access(ctx: FsContext, at: PathRef | undefined, path: string, mode: number, flags = 0): Promise<void> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, {
        follow: (flags & AT_SYMLINK_NOFOLLOW) === 0,
        emptyPath: (flags & AT_EMPTY_PATH) !== 0,
      });
      if (mode === F_OK) return;
      const node = this.nodeOf(p);
      if (mode & W_OK && p.mnt.readonly) {
        const t = node.attr().mode & S_IFMT;
        if (t === S_IFREG || t === S_IFDIR || t === S_IFLNK) throw err(Errno.EROFS);
      }
      if (mode & X_OK && p.mnt.flags & MS_NOEXEC && isReg(node.attr().mode)) throw err(Errno.EACCES);
      this.permission(ctx, p, mode & 7);
    });
  }

  // ---- attributes ----

  /** stat of a resolved path. */
  statOf(p: PathRef): Stat {
    const node = this.nodeOf(p);
    const a = node.attr();
    return {
      ...a,
      dev: p.mnt.fs.dev,
      blksize: 4096,
      mask: STATX_BASIC_STATS | (a.btime ? STATX_BTIME : 0) | STATX_MNT_ID,
      mntId: p.mnt.id,
      attributes: (a.attributes ?? 0) | (p.dentry === p.mnt.root ? 0x2000 : 0),
    };
  }

  /** fstatat/statx/newfstatat: flags AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH. */
  async stat(ctx: FsContext, at: PathRef | undefined, path: string, flags = 0): Promise<Stat> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, {
        follow: (flags & AT_SYMLINK_NOFOLLOW) === 0,
        emptyPath: (flags & AT_EMPTY_PATH) !== 0,
      });
      return this.statOf(p);
    });
  }

  async statfs(ctx: FsContext, at: PathRef | undefined, path: string): Promise<StatFs> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, { emptyPath: true });
      return this.statfsOf(p);
    });
  }
  async statfsOf(p: PathRef): Promise<StatFs> {
    return guard(async () => {
      const s = await p.mnt.fs.statfs();
      return { ...s, flags: s.flags | (p.mnt.readonly ? MS_RDONLY : 0) | (p.mnt.flags & ~MS_RDONLY) };
    });
  }

  private async setattr(p: PathRef, changes: SetAttr): Promise<void> {
    const node = this.nodeOf(p);
    if (!node.setattr) throw err(Errno.EPERM);
    await node.setattr({ ...changes, ctime: changes.ctime ?? this.clock() });
  }

  /** chmod/fchmodat (flags: AT_SYMLINK_NOFOLLOW gives EOPNOTSUPP on symlinks, like Linux). */
  async chmod(ctx: FsContext, at: PathRef | undefined, path: string, mode: number, flags = 0): Promise<void> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, {
        follow: (flags & AT_SYMLINK_NOFOLLOW) === 0,
        emptyPath: (flags & AT_EMPTY_PATH) !== 0,
      });
      return this.chmodRef(ctx, p, mode);
    });
  }
  async chmodRef(ctx: FsContext, p: PathRef, mode: number): Promise<void> {
    return guard(async () => {
      const a = this.nodeOf(p).attr();
      if (isLnk(a.mode)) throw err(Errno.EOPNOTSUPP);
      this.checkWritable(p);
      if (!this.isOwner(ctx, a)) throw err(Errno.EPERM);
      let m = mode & 0o7777;
      if (!caps(ctx.cred).fsetid && !inGroup(ctx.cred, a.gid)) m &= ~S_ISGID;
      await this.setattr(p, { mode: (a.mode & S_IFMT) | m });
      if (this.watches !== 0) this._notify(p.dentry, IN_ATTRIB);
    });
  }

  /** chown/fchownat/lchown: -1 leaves an id unchanged. */
  async chown(
    ctx: FsContext,
    at: PathRef | undefined,
    path: string,
    uid: number,
    gid: number,
    flags = 0,
  ): Promise<void> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, {
        follow: (flags & AT_SYMLINK_NOFOLLOW) === 0,
        emptyPath: (flags & AT_EMPTY_PATH) !== 0,
      });
      return this.chownRef(ctx, p, uid, gid);
    });
  }
  async chownRef(ctx: FsContext, p: PathRef, uid: number, gid: number): Promise<void> {
    return guard(async () => {
      const a = this.nodeOf(p).attr();
      this.checkWritable(p);
      const c = caps(ctx.cred);
      const newUid = uid === -1 || uid === 0xffffffff ? a.uid : uid;
      const newGid = gid === -1 || gid === 0xffffffff ? a.gid : gid;
      if (newUid !== a.uid && !c.chown) throw err(Errno.EPERM);
      if (newGid !== a.gid && !c.chown && !(ctx.cred.uid === a.uid && inGroup(ctx.cred, newGid)))
        throw err(Errno.EPERM);
      if (newUid === a.uid && newGid === a.gid && ctx.cred.uid !== a.uid && !c.chown) throw err(Errno.EPERM);
      let mode = a.mode;
      if (!isDir(a.mode) && (uid !== -1 || gid !== -1)) {
        // setuid is always cleared; setgid only when group-executable (Linux).
        mode &= ~S_ISUID;
        if (a.mode & 0o010) mode &= ~S_ISGID;
      }
      const ch: SetAttr = { uid: newUid, gid: newGid };
      if (mode !== a.mode && !isLnk(a.mode)) ch.mode = mode;
      await this.setattr(p, ch);
      const given = (uid !== -1 && uid !== 0xffffffff) || (gid !== -1 && gid !== 0xffffffff);
      if (this.watches !== 0 && given) this._notify(p.dentry, IN_ATTRIB);
    });
  }

  /** utimensat: times undefined = both now; nsec UTIME_NOW / UTIME_OMIT honoured. */
  async utimens(
    ctx: FsContext,
    at: PathRef | undefined,
    path: string,
    times: [Timespec, Timespec] | undefined,
    flags = 0,
  ): Promise<void> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, {
        follow: (flags & AT_SYMLINK_NOFOLLOW) === 0,
        emptyPath: (flags & AT_EMPTY_PATH) !== 0,
      });
      return this.utimensRef(ctx, p, times);
    });
  }
  async utimensRef(ctx: FsContext, p: PathRef, times: [Timespec, Timespec] | undefined): Promise<void> {
    return guard(async () => {
      const a = this.nodeOf(p).attr();
      this.checkWritable(p);
      const now = this.clock();
      const t = times ?? [
        { sec: 0, nsec: UTIME_NOW },
        { sec: 0, nsec: UTIME_NOW },
      ];
      for (const x of t) {
        if (x.nsec !== UTIME_NOW && x.nsec !== UTIME_OMIT && (x.nsec < 0 || x.nsec > 999_999_999)) {
          throw err(Errno.EINVAL);
        }
      }
      const allNow = t.every((x) => x.nsec === UTIME_NOW || x.nsec === UTIME_OMIT);
      if (allNow) {
        if (!this.isOwner(ctx, a) && !this.mayAccess(ctx, this.nodeOf(p), W_OK)) throw err(Errno.EACCES);
      } else if (!this.isOwner(ctx, a)) throw err(Errno.EPERM);
      const conv = (x: Timespec): Timespec | undefined =>
        x.nsec === UTIME_OMIT ? undefined : x.nsec === UTIME_NOW ? now : { sec: x.sec, nsec: x.nsec };
      const ch: SetAttr = {};
      const at0 = conv(t[0]);
      const mt = conv(t[1]);
      if (at0) ch.atime = at0;
      if (mt) ch.mtime = mt;
      if (!at0 && !mt) return;
      await this.setattr(p, ch);
      // fsnotify_change: both times are a utime (IN_ATTRIB), one alone an access or a modification.
      if (this.watches !== 0) this._notify(p.dentry, at0 && mt ? IN_ATTRIB : at0 ? IN_ACCESS : IN_MODIFY);
    });
  }

  /** truncate(2) by path. */
  async truncate(ctx: FsContext, at: PathRef | undefined, path: string, size: number): Promise<void> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path);
      const a = this.nodeOf(p).attr();
      if (isDir(a.mode)) throw err(Errno.EISDIR);
      if (!isReg(a.mode)) throw err(Errno.EINVAL);
      this.checkWritable(p);
      this.permission(ctx, p, W_OK);
      await this.truncateRef(p, size);
    });
  }
  private async truncateRef(p: PathRef, size: number): Promise<void> {
    if (size < 0 || !Number.isSafeInteger(size)) throw err(Errno.EINVAL);
    const now = this.clock();
    await this.setattr(p, { size, mtime: now, ctime: now });
    if (this.watches !== 0) this._notify(p.dentry, IN_MODIFY);
  }

  // ---- extended attributes ----

  private xattrPath(ctx: FsContext, at: PathRef | undefined, path: string, flags: number): Promise<PathRef> {
    return this.resolve(ctx, at, path, {
      follow: (flags & AT_SYMLINK_NOFOLLOW) === 0,
      emptyPath: (flags & AT_EMPTY_PATH) !== 0,
    });
  }

  /** import_xattr_name: ERANGE for an empty name or one longer than 255 bytes. */
  private static xattrNameLength(name: string): void {
    if (name.length === 0 || name.length > XATTR_NAME_MAX) throw err(Errno.ERANGE);
  }

  /**
   * xattr_permission (fs/xattr.c) plus the capability rules of commoncap: immutable/append
   * files refuse writes; security.* and system.* have no VFS check for readers (writing
   * security.* needs CAP_SYS_ADMIN); trusted.* needs CAP_SYS_ADMIN (readers get ENODATA);
   * user.* only on regular files and directories (others: EPERM to write, ENODATA to read),
   * a sticky directory's user.* only for its owner, then the file's R/W permission.
   */
  private xattrPermission(ctx: FsContext, p: PathRef, name: string, write: boolean): void {
    const node = this.nodeOf(p);
    const a = node.attr();
    if (write && (a.attributes ?? 0) & 0x30) throw err(Errno.EPERM);
    if (name.startsWith(XATTR_SECURITY_PREFIX)) {
      if (write && !sysAdmin(ctx.cred)) throw err(Errno.EPERM);
      return;
    }
    if (name.startsWith(XATTR_SYSTEM_PREFIX)) return;
    if (name.startsWith(XATTR_TRUSTED_PREFIX)) {
      if (!sysAdmin(ctx.cred)) throw err(write ? Errno.EPERM : Errno.ENODATA);
      return;
    }
    if (name.startsWith(XATTR_USER_PREFIX)) {
      const t = a.mode & S_IFMT;
      if (t !== S_IFREG && t !== S_IFDIR) throw err(write ? Errno.EPERM : Errno.ENODATA);
      if (t === S_IFDIR && a.mode & S_ISVTX && write && !this.isOwner(ctx, a)) throw err(Errno.EPERM);
    }
    this.permission(ctx, p, write ? W_OK : R_OK);
  }

  /** getxattr/lgetxattr (flags AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH). */
  async getxattr(ctx: FsContext, at: PathRef | undefined, path: string, name: string, flags = 0): Promise<Uint8Array> {
    return guard(async () => {
      Vfs.xattrNameLength(name);
      return this.getxattrRef(ctx, await this.xattrPath(ctx, at, path, flags), name);
    });
  }
  /** fgetxattr and the common part: the value (ENODATA when absent, EOPNOTSUPP without support). */
  async getxattrRef(ctx: FsContext, p: PathRef, name: string): Promise<Uint8Array> {
    return guard(async () => {
      Vfs.xattrNameLength(name);
      this.xattrPermission(ctx, p, name, false);
      const node = this.nodeOf(p);
      if (!node.getxattr) throw err(Errno.EOPNOTSUPP);
      checkXattrName(name);
      return node.getxattr(name);
    });
  }

  /** listxattr/llistxattr: the names the caller may see (trusted.* only with CAP_SYS_ADMIN). */
  async listxattr(ctx: FsContext, at: PathRef | undefined, path: string, flags = 0): Promise<string[]> {
    return guard(async () => this.listxattrRef(ctx, await this.xattrPath(ctx, at, path, flags)));
  }
  async listxattrRef(ctx: FsContext, p: PathRef): Promise<string[]> {
    return guard(async () => {
      const node = this.nodeOf(p);
      if (!node.listxattr) return [];
      const names = await node.listxattr();
      const admin = sysAdmin(ctx.cred);
      return admin ? names : names.filter((n) => !n.startsWith(XATTR_TRUSTED_PREFIX));
    });
  }

  /** setxattr/lsetxattr: flags XATTR_CREATE | XATTR_REPLACE; atFlags AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH. */
  async setxattr(
    ctx: FsContext,
    at: PathRef | undefined,
    path: string,
    name: string,
    value: Uint8Array,
    flags = 0,
    atFlags = 0,
  ): Promise<void> {
    return guard(async () => {
      Vfs.checkSetxattrArgs(name, value, flags);
      return this.setxattrRef(ctx, await this.xattrPath(ctx, at, path, atFlags), name, value, flags);
    });
  }
  private static checkSetxattrArgs(name: string, value: Uint8Array, flags: number): void {
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) throw err(Errno.EINVAL);
    Vfs.xattrNameLength(name);
    if (value.length > XATTR_SIZE_MAX) throw err(Errno.E2BIG);
  }
  async setxattrRef(ctx: FsContext, p: PathRef, name: string, value: Uint8Array, flags = 0): Promise<void> {
    return guard(async () => {
      Vfs.checkSetxattrArgs(name, value, flags);
      this.checkWritable(p);
      this.xattrPermission(ctx, p, name, true);
      const node = this.nodeOf(p);
      if (!node.setxattr) throw err(Errno.EOPNOTSUPP);
      checkXattrName(name);
      await node.setxattr(name, value, flags);
      if (this.watches !== 0) this._notify(p.dentry, IN_ATTRIB);
    });
  }

  /** removexattr/lremovexattr. */
  async removexattr(ctx: FsContext, at: PathRef | undefined, path: string, name: string, flags = 0): Promise<void> {
    return guard(async () => {
      Vfs.xattrNameLength(name);
      return this.removexattrRef(ctx, await this.xattrPath(ctx, at, path, flags), name);
    });
  }
  async removexattrRef(ctx: FsContext, p: PathRef, name: string): Promise<void> {
    return guard(async () => {
      Vfs.xattrNameLength(name);
      this.checkWritable(p);
      this.xattrPermission(ctx, p, name, true);
      const node = this.nodeOf(p);
      if (!node.removexattr) throw err(Errno.EOPNOTSUPP);
      checkXattrName(name);
      await node.removexattr(name);
      if (this.watches !== 0) this._notify(p.dentry, IN_ATTRIB);
    });
  }

  /** Encodes a name list as listxattr returns it (NUL-terminated names); E2BIG beyond XATTR_LIST_MAX. */
  static encodeXattrList(names: readonly string[]): Uint8Array {
    const out = Buffer.from(names.map((n) => n + '\0').join(''), 'latin1');
    if (out.length > XATTR_LIST_MAX) throw err(Errno.E2BIG);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  // ---- namespace operations ----

  private newNodeAttrs(ctx: FsContext, dir: PathRef, mode: number, rdev = 0): NewNode {
    const da = this.nodeOf(dir).attr();
    let gid = ctx.cred.gid;
    let m = mode;
    if (da.mode & S_ISGID) {
      gid = da.gid;
      if (isDir(mode)) m |= S_ISGID;
    }
    if (!isDir(mode) && m & S_ISGID && !inGroup(ctx.cred, gid) && !caps(ctx.cred).fsetid) m &= ~S_ISGID;
    return { mode: m, uid: ctx.cred.uid, gid, rdev };
  }

  private insertDentry(dir: PathRef, name: string, node: VNode): Dentry {
    const old = dir.dentry.children.get(name);
    if (old && !old.node) dir.dentry.negatives--;
    const d = new Dentry(name, dir.dentry, node);
    if (!dir.mnt.fs.volatile) dir.dentry.children.set(name, d);
    return d;
  }

  private async existingChild(ctx: FsContext, pr: ParentResult): Promise<Dentry | null> {
    if (pr.kind !== 'norm') return null;
    this.permission(ctx, pr.parent, X_OK);
    const d = await this.lookupChild(ctx, pr.parent, pr.name);
    return d.node ? d : null;
  }

  /** mkdirat. */
  async mkdir(ctx: FsContext, at: PathRef | undefined, path: string, mode: number): Promise<void> {
    return guard(async () => {
      const pr = await this.resolveParent(ctx, at, path, { links: 0 });
      if (pr.kind !== 'norm') throw err(Errno.EEXIST);
      if (await this.existingChild(ctx, pr)) throw err(Errno.EEXIST);
      this.mayCreate(ctx, pr.parent);
      const dir = this.nodeOf(pr.parent);
      if (!dir.mkdir) throw err(Errno.EPERM);
      const init = this.newNodeAttrs(ctx, pr.parent, S_IFDIR | (mode & 0o1777 & ~ctx.umask));
      const node = await dir.mkdir(pr.name, init);
      this.insertDentry(pr.parent, pr.name, node);
      if (this.watches !== 0) this.notifyDir(pr.parent, IN_CREATE | IN_ISDIR, pr.name);
    });
  }

  /** mknodat: S_IFREG/S_IFIFO/S_IFSOCK/S_IFCHR/S_IFBLK (devices need CAP_MKNOD). */
  async mknod(ctx: FsContext, at: PathRef | undefined, path: string, mode: number, rdev = 0): Promise<void> {
    return guard(async () => {
      let type = mode & S_IFMT;
      if (type === 0) type = S_IFREG;
      if (type === S_IFDIR) throw err(Errno.EPERM);
      if (type !== S_IFREG && type !== S_IFIFO && type !== S_IFSOCK && type !== S_IFCHR && type !== S_IFBLK) {
        throw err(Errno.EINVAL);
      }
      if ((type === S_IFCHR || type === S_IFBLK) && !caps(ctx.cred).mknod) throw err(Errno.EPERM);
      const pr = await this.resolveParent(ctx, at, path, { links: 0 });
      if (pr.kind !== 'norm') throw err(Errno.EEXIST);
      if (pr.trailingSlash) throw err(Errno.ENOENT);
      if (await this.existingChild(ctx, pr)) throw err(Errno.EEXIST);
      this.mayCreate(ctx, pr.parent);
      const dir = this.nodeOf(pr.parent);
      if (!dir.create) throw err(Errno.EPERM);
      const dev = type === S_IFCHR || type === S_IFBLK ? rdev : 0;
      const node = await dir.create(
        pr.name,
        this.newNodeAttrs(ctx, pr.parent, type | (mode & 0o7777 & ~ctx.umask), dev),
      );
      this.insertDentry(pr.parent, pr.name, node);
      if (this.watches !== 0) this.notifyDir(pr.parent, IN_CREATE, pr.name);
    });
  }

  /** symlinkat. */
  async symlink(ctx: FsContext, target: string, at: PathRef | undefined, path: string): Promise<void> {
    return guard(async () => {
      if (target === '') throw err(Errno.ENOENT);
      if (target.length >= PATH_MAX) throw err(Errno.ENAMETOOLONG);
      const pr = await this.resolveParent(ctx, at, path, { links: 0 });
      if (pr.kind !== 'norm') throw err(Errno.EEXIST);
      if (await this.existingChild(ctx, pr)) throw err(Errno.EEXIST);
      if (pr.trailingSlash) throw err(Errno.ENOENT);
      this.mayCreate(ctx, pr.parent);
      const dir = this.nodeOf(pr.parent);
      if (!dir.symlink) throw err(Errno.EPERM);
      const node = await dir.symlink(pr.name, target, this.newNodeAttrs(ctx, pr.parent, S_IFLNK | 0o777));
      this.insertDentry(pr.parent, pr.name, node);
      if (this.watches !== 0) this.notifyDir(pr.parent, IN_CREATE, pr.name);
    });
  }

  /** readlinkat (AT_EMPTY_PATH-style: path '' reads `at` itself). */
  async readlink(ctx: FsContext, at: PathRef | undefined, path: string): Promise<string> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, { follow: false, emptyPath: true });
      const node = this.nodeOf(p);
      if (!isLnk(node.attr().mode)) throw err(Errno.EINVAL);
      if (node.readlink) return node.readlink(ctx);
      if (node.getLink) return this.linkText(await node.getLink(ctx), ctx.root);
      throw err(Errno.EINVAL);
    });
  }

  /** linkat: flags AT_SYMLINK_FOLLOW | AT_EMPTY_PATH. */
  async link(
    ctx: FsContext,
    oldAt: PathRef | undefined,
    oldPath: string,
    newAt: PathRef | undefined,
    newPath: string,
    flags = 0,
  ): Promise<void> {
    return guard(async () => {
      const old = await this.resolve(ctx, oldAt, oldPath, {
        follow: (flags & AT_SYMLINK_FOLLOW) !== 0,
        emptyPath: (flags & AT_EMPTY_PATH) !== 0,
      });
      const pr = await this.resolveParent(ctx, newAt, newPath, { links: 0 });
      if (pr.kind !== 'norm') throw err(Errno.EEXIST);
      if (await this.existingChild(ctx, pr)) throw err(Errno.EEXIST);
      if (pr.trailingSlash) throw err(Errno.ENOENT);
      if (old.mnt !== pr.parent.mnt) throw err(Errno.EXDEV);
      const node = this.nodeOf(old);
      const a = node.attr();
      // protected_hardlinks (Linux default): owner, CAP_FOWNER, or a plain file one may read and write.
      if (ctx.cred.uid !== a.uid && !caps(ctx.cred).fowner) {
        const safe =
          isReg(a.mode) &&
          !(a.mode & S_ISUID) &&
          !((a.mode & (S_ISGID | 0o010)) === (S_ISGID | 0o010)) &&
          this.mayAccess(ctx, node, R_OK | W_OK);
        if (!safe) throw err(Errno.EPERM);
      }
      this.mayCreate(ctx, pr.parent);
      if (isDir(a.mode)) throw err(Errno.EPERM);
      if (a.nlink === 0 && !this.linkable.has(node)) throw err(Errno.ENOENT);
      const dir = this.nodeOf(pr.parent);
      if (!dir.link) throw err(Errno.EPERM);
      await dir.link(pr.name, node);
      this.linkable.delete(node);
      this.insertDentry(pr.parent, pr.name, node);
      if (this.watches !== 0) {
        this.notifyInode(node, IN_ATTRIB);
        this.notifyDir(pr.parent, IN_CREATE, pr.name);
      }
    });
  }

  private isMountpoint(p: PathRef): boolean {
    return !!p.dentry.mounts?.some((m) => m.parent === p.mnt);
  }

  /** unlinkat: flags AT_REMOVEDIR makes it rmdir. */
  async unlink(ctx: FsContext, at: PathRef | undefined, path: string, flags = 0): Promise<void> {
    return guard(async () => {
      const rmdir = (flags & AT_REMOVEDIR) !== 0;
      const pr = await this.resolveParent(ctx, at, path, { links: 0 });
      if (pr.kind === 'dot') throw err(rmdir ? Errno.EINVAL : Errno.EISDIR);
      if (pr.kind === 'dotdot') throw err(rmdir ? Errno.ENOTEMPTY : Errno.EISDIR);
      if (pr.kind === 'root') throw err(rmdir ? Errno.EBUSY : Errno.EISDIR);
      this.permission(ctx, pr.parent, X_OK);
      const d = await this.lookupChild(ctx, pr.parent, pr.name);
      if (!d.node) throw err(Errno.ENOENT);
      const victim = d.node;
      const vmode = victim.attr().mode;
      // Linux: a trailing slash on unlink fails first; then may_delete (permissions, then type).
      if (!rmdir && pr.trailingSlash) throw err(isDir(vmode) ? Errno.EISDIR : Errno.ENOTDIR);
      this.mayDelete(ctx, pr.parent, victim);
      if (rmdir) {
        if (!isDir(vmode)) throw err(Errno.ENOTDIR);
      } else if (isDir(vmode)) throw err(Errno.EISDIR);
      if (this.isMountpoint({ mnt: pr.parent.mnt, dentry: d })) throw err(Errno.EBUSY);
      const dir = this.nodeOf(pr.parent);
      if (rmdir) {
        if (!dir.rmdir) throw err(Errno.EPERM);
        await dir.rmdir(pr.name);
      } else {
        if (!dir.unlink) throw err(Errno.EPERM);
        await dir.unlink(pr.name);
      }
      d.deleted = true;
      pr.parent.dentry.children.delete(pr.name);
      if (this.watches !== 0) {
        // vfs_unlink: the link count (IN_ATTRIB), the inode if it is gone, then the directory.
        if (!rmdir) this.notifyInode(victim, IN_ATTRIB);
        this._notifyGone(d);
        this.notifyDir(pr.parent, IN_DELETE | (rmdir ? IN_ISDIR : 0), pr.name);
      }
    });
  }

  /** renameat2: flags RENAME_NOREPLACE | RENAME_EXCHANGE. */
  async rename(
    ctx: FsContext,
    oldAt: PathRef | undefined,
    oldPath: string,
    newAt: PathRef | undefined,
    newPath: string,
    flags = 0,
  ): Promise<void> {
    return guard(async () => {
      if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) throw err(Errno.EINVAL);
      if (flags & RENAME_WHITEOUT) throw err(Errno.EINVAL);
      if (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE) throw err(Errno.EINVAL);
      const op = await this.resolveParent(ctx, oldAt, oldPath, { links: 0 });
      const np = await this.resolveParent(ctx, newAt, newPath, { links: 0 });
      const exchange = (flags & RENAME_EXCHANGE) !== 0;
      // The order of the checks follows Linux's do_renameat2/vfs_rename.
      if (op.parent.mnt !== np.parent.mnt) throw err(Errno.EXDEV);
      if (op.kind !== 'norm') throw err(Errno.EBUSY);
      if (np.kind !== 'norm') throw err(flags & RENAME_NOREPLACE ? Errno.EEXIST : Errno.EBUSY);
      this.checkWritable(op.parent);
      this.permission(ctx, op.parent, X_OK);
      const od = await this.lookupChild(ctx, op.parent, op.name);
      if (!od.node) throw err(Errno.ENOENT);
      this.permission(ctx, np.parent, X_OK);
      const nd = await this.lookupChild(ctx, np.parent, np.name);
      const onode = od.node;
      const omode = onode.attr().mode;
      if (flags & RENAME_NOREPLACE && nd.node) throw err(Errno.EEXIST);
      if (exchange) {
        if (!nd.node) throw err(Errno.ENOENT);
        if (!isDir(nd.node.attr().mode) && np.trailingSlash) throw err(Errno.ENOTDIR);
      }
      if (!isDir(omode)) {
        if (op.trailingSlash) throw err(Errno.ENOTDIR);
        if (!exchange && np.trailingSlash) throw err(Errno.ENOTDIR);
      }
      const isAncestor = (anc: Dentry, d: Dentry): boolean => {
        for (let x: Dentry | null = d; x; x = x.parent) if (x === anc) return true;
        return false;
      };
      // source may not be an ancestor of the target's directory, nor the target of the source's
      if (isAncestor(od, np.parent.dentry)) throw err(Errno.EINVAL);
      if (nd.node && isAncestor(nd, op.parent.dentry)) throw err(exchange ? Errno.EINVAL : Errno.ENOTEMPTY);
      // Same inode (the same file or hard links of it): nothing to do, like Linux.
      if (od === nd || (nd.node && !exchange && (nd.node === onode || nd.node.attr().ino === onode.attr().ino))) return;
      this.mayDelete(ctx, op.parent, onode);
      if (nd.node) {
        this.mayDelete(ctx, np.parent, nd.node);
        const nmode = nd.node.attr().mode;
        if (!exchange) {
          if (isDir(omode) && !isDir(nmode)) throw err(Errno.ENOTDIR);
          if (!isDir(omode) && isDir(nmode)) throw err(Errno.EISDIR);
        }
      } else this.mayCreate(ctx, np.parent);
      if (isDir(omode) && op.parent.dentry !== np.parent.dentry) {
        this.permission(ctx, { mnt: op.parent.mnt, dentry: od }, W_OK);
      }
      if (exchange && nd.node && isDir(nd.node.attr().mode) && op.parent.dentry !== np.parent.dentry) {
        this.permission(ctx, { mnt: np.parent.mnt, dentry: nd }, W_OK);
      }
      if (
        this.isMountpoint({ mnt: op.parent.mnt, dentry: od }) ||
        this.isMountpoint({ mnt: np.parent.mnt, dentry: nd })
      ) {
        throw err(Errno.EBUSY);
      }
      const odir = this.nodeOf(op.parent);
      if (!odir.rename) throw err(Errno.EPERM);
      await odir.rename(op.name, this.nodeOf(np.parent), np.name, flags);
      // dcache update
      const oparent = op.parent.dentry;
      const nparent = np.parent.dentry;
      oparent.children.delete(op.name);
      nparent.children.delete(np.name);
      const vol = op.parent.mnt.fs.volatile;
      if (exchange) {
        nd.name = op.name;
        nd.parent = oparent;
        if (!vol) oparent.children.set(op.name, nd);
      } else if (nd.node) nd.deleted = true;
      od.name = np.name;
      od.parent = nparent;
      if (!vol) nparent.children.set(np.name, od);
      if (this.watches !== 0) {
        // fsnotify_move: MOVED_FROM/MOVED_TO with one cookie, the replaced target's link count,
        // IN_MOVE_SELF on the moved inode; an exchange is two moves.
        const move = (from: PathRef, fromName: string, to: PathRef, toName: string, node: VNode): void => {
          const dirBit = isDir(node.attr().mode) ? IN_ISDIR : 0;
          const cookie = ++this.nextCookie >>> 0 || ++this.nextCookie;
          this.notifyDir(from, IN_MOVED_FROM | dirBit, fromName, cookie);
          this.notifyDir(to, IN_MOVED_TO | dirBit, toName, cookie);
        };
        move(op.parent, op.name, np.parent, np.name, onode);
        if (!exchange && nd.node) this.notifyInode(nd.node, IN_ATTRIB);
        this.notifyInode(onode, IN_MOVE_SELF);
        if (exchange && nd.node) {
          move(np.parent, np.name, op.parent, op.name, nd.node);
          this.notifyInode(nd.node, IN_MOVE_SELF);
        } else if (nd.node) this._notifyGone(nd);
      }
    });
  }

  // ---- open ----

  /**
   * openat/openat2 (the resolve flags are not supported). `mode` is the create mode before
   * umask. Returns an open file description; the kernel owns fd numbers and refcounts and
   * calls `release()` when the last fd closes.
   */
  async open(ctx: FsContext, at: PathRef | undefined, path: string, flags: number, mode = 0): Promise<OpenFile> {
    return guard(async () => {
      if (flags & O_PATH) {
        // Linux's open/openat keep only these flags with O_PATH (O_TMPFILE leaves O_DIRECTORY).
        const p = await this.resolve(ctx, at, path, { follow: (flags & O_NOFOLLOW) === 0 });
        if (flags & O_DIRECTORY && !isDir(this.nodeOf(p).attr().mode)) throw err(Errno.ENOTDIR);
        return new OpenFile(this, p, flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | 0o2000000), undefined);
      }
      if (flags & O_TMPFILE & ~O_DIRECTORY) return this.openTmpfile(ctx, at, path, flags, mode);
      let p: PathRef;
      let created = false;
      const st: WalkState = { links: 0 };
      if (flags & O_CREAT) {
        let pr = await this.resolveParent(ctx, at, path, st);
        for (;;) {
          // Linux: O_CREAT with a trailing slash or a last component of '.', '..' or '/' is EISDIR.
          if (pr.kind !== 'norm' || pr.trailingSlash) throw err(Errno.EISDIR);
          this.permission(ctx, pr.parent, X_OK);
          const d = await this.lookupChild(ctx, pr.parent, pr.name);
          if (d.node) {
            if (flags & O_EXCL) throw err(Errno.EEXIST);
            if (isLnk(d.node.attr().mode)) {
              if (flags & O_NOFOLLOW) throw err(Errno.ELOOP);
              // Follow; a dangling link creates its target (Linux).
              if (++st.links > MAXSYMLINKS) throw err(Errno.ELOOP);
              const node = d.node;
              if (node.getLink) {
                const r = await node.getLink(ctx);
                if (r instanceof ObjectLink) throw new ObjectLinkReached(r);
                if (typeof r !== 'string') {
                  p = r;
                  break;
                }
              }
              const target = node.readlink ? await node.readlink(ctx) : '';
              if (target === '') throw err(Errno.ENOENT);
              const base = target.charCodeAt(0) === 47 ? ctx.root : pr.parent;
              pr = await this.resolveParent(ctx, base, target, st);
              continue;
            }
            p = this.crossMounts({ mnt: pr.parent.mnt, dentry: d });
            if (pr.trailingSlash && !isDir(d.node.attr().mode)) throw err(Errno.ENOTDIR);
            break;
          }
          if (pr.trailingSlash) throw err(Errno.EISDIR);
          this.mayCreate(ctx, pr.parent);
          const dir = this.nodeOf(pr.parent);
          if (!dir.create) throw err(Errno.EPERM);
          const node = await dir.create(
            pr.name,
            this.newNodeAttrs(ctx, pr.parent, S_IFREG | (mode & 0o7777 & ~ctx.umask)),
          );
          p = { mnt: pr.parent.mnt, dentry: this.insertDentry(pr.parent, pr.name, node) };
          created = true;
          if (this.watches !== 0) this.notifyDir(pr.parent, IN_CREATE, pr.name);
          break;
        }
      } else {
        p = await this.walkAllOrEmpty(ctx, at, path, (flags & O_NOFOLLOW) === 0, st);
      }
      const node = this.nodeOf(p);
      const a = node.attr();
      const acc = flags & O_ACCMODE;
      if (isLnk(a.mode)) throw err(Errno.ELOOP);
      if (flags & O_DIRECTORY && !isDir(a.mode)) throw err(Errno.ENOTDIR);
      if (isDir(a.mode) && (acc !== O_RDONLY || flags & (O_TRUNC | O_CREAT))) throw err(Errno.EISDIR);
      if (acc === 3) throw err(Errno.EINVAL);
      const wantW = acc === O_WRONLY || acc === O_RDWR || (flags & O_TRUNC) !== 0;
      const wantR = acc === O_RDONLY || acc === O_RDWR;
      const type = a.mode & S_IFMT;
      if (!created) {
        if (wantW && (type === S_IFREG || type === S_IFDIR) && p.mnt.readonly) throw err(Errno.EROFS);
        this.permission(ctx, p, (wantR ? R_OK : 0) | (wantW ? W_OK : 0));
      }
      if ((type === S_IFCHR || type === S_IFBLK) && p.mnt.flags & MS_NODEV) throw err(Errno.EACCES);
      const file = new OpenFile(this, p, flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW), undefined);
      try {
        if (type === S_IFCHR) {
          const dev = this.charDevices.get(deviceKey(a.rdev));
          if (!dev) throw err(Errno.ENXIO, `no device ${devMajor(a.rdev)}:${devMinor(a.rdev)}`);
          file.ops = dev;
          if (dev.open) await dev.open(file, ctx);
        } else if (type === S_IFBLK || type === S_IFSOCK) {
          throw err(Errno.ENXIO);
        } else if (type === S_IFIFO) {
          if (!this.fifoHandler) throw err(Errno.ENXIO, 'no fifo handler');
          file.ops = await this.fifoHandler.openFifo(node, file, ctx);
        } else if (node.open) {
          const ops = await node.open(file, ctx);
          if (ops) file.ops = ops;
        }
      } catch (e) {
        file._abandon();
        throw e;
      }
      if (this.watches !== 0) this._notify(p.dentry, IN_OPEN, true);
      if (flags & O_TRUNC && type === S_IFREG && !created && a.size !== 0) await this.truncateRef(p, 0);
      return file;
    });
  }

  /**
   * open(O_TMPFILE): a file with no name in the directory at `path` (Linux's do_tmpfile). It
   * must be opened for writing and without O_CREAT; linkat can name it later unless O_EXCL was
   * given. /proc/self/fd shows it as `DIR/#INO (deleted)`, as on Linux.
   */
  private async openTmpfile(
    ctx: FsContext,
    at: PathRef | undefined,
    path: string,
    flags: number,
    mode: number,
  ): Promise<OpenFile> {
    const acc = flags & O_ACCMODE;
    if ((flags & (O_TMPFILE | O_CREAT)) !== O_TMPFILE || (acc !== O_WRONLY && acc !== O_RDWR)) throw err(Errno.EINVAL);
    const dirRef = await this.walkAllOrEmpty(ctx, at, path, (flags & O_NOFOLLOW) === 0, { links: 0 });
    if (!isDir(this.nodeOf(dirRef).attr().mode)) throw err(Errno.ENOTDIR);
    this.mayCreate(ctx, dirRef);
    const dir = this.nodeOf(dirRef);
    if (!dir.tmpfile) throw err(Errno.EOPNOTSUPP);
    const node = await dir.tmpfile(this.newNodeAttrs(ctx, dirRef, S_IFREG | (mode & 0o7777 & ~ctx.umask)));
    const dentry = new Dentry(`#${node.attr().ino}`, dirRef.dentry, node);
    dentry.deleted = true;
    if (!(flags & O_EXCL)) this.linkable.add(node);
    const file = new OpenFile(this, { mnt: dirRef.mnt, dentry }, flags & ~(O_EXCL | O_NOFOLLOW | O_TRUNC), undefined);
    if (this.watches !== 0) this._notify(dentry, IN_OPEN, true);
    return file;
  }

  private async walkAllOrEmpty(
    ctx: FsContext,
    at: PathRef | undefined,
    path: string,
    follow: boolean,
    st: WalkState,
  ): Promise<PathRef> {
    if (path === '') throw err(Errno.ENOENT);
    return this.walkAll(ctx, this.base(ctx, at), path, follow, st);
  }

  /** Opens a resolved path (dirfd re-open, /proc/self/fd/N) with the same checks as open. */
  async openRef(ctx: FsContext, p: PathRef, flags: number): Promise<OpenFile> {
    return this.open(ctx, p, '.', flags & ~(O_CREAT | O_EXCL));
  }

  /** chdir/fchdir helper: resolves a directory the caller may search. */
  async chdirTarget(ctx: FsContext, at: PathRef | undefined, path: string): Promise<PathRef> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, { emptyPath: path === '' && at !== undefined });
      if (!isDir(this.nodeOf(p).attr().mode)) throw err(Errno.ENOTDIR);
      this.permission(ctx, p, X_OK);
      return p;
    });
  }

  /** execve's checks: regular file, X permission, not a noexec mount. */
  async openExec(ctx: FsContext, at: PathRef | undefined, path: string, flags = 0): Promise<OpenFile> {
    return guard(async () => {
      const p = await this.resolve(ctx, at, path, {
        follow: (flags & AT_SYMLINK_NOFOLLOW) === 0,
        emptyPath: (flags & AT_EMPTY_PATH) !== 0,
      });
      const a = this.nodeOf(p).attr();
      if (isLnk(a.mode)) throw err(Errno.ELOOP);
      if (!isReg(a.mode)) throw err(Errno.EACCES);
      if (p.mnt.flags & MS_NOEXEC) throw err(Errno.EACCES);
      this.permission(ctx, p, X_OK | R_OK);
      const file = new OpenFile(this, p, O_RDONLY, undefined);
      if (this.watches !== 0) this._notify(p.dentry, IN_OPEN, true);
      return file;
    });
  }

  /** @internal used by OpenFile */
  _truncate(p: PathRef, size: number): Promise<void> {
    return this.truncateRef(p, size);
  }
}

// ---------------------------------------------------------------------------------------
// open file descriptions
// ---------------------------------------------------------------------------------------

/** An open file description (Linux struct file). Shared by dup'd fds and across fork. */
export class OpenFile {
  /** File position. */
  pos = 0;
  /** Stream/device operations replacing positional node I/O (devices, fifos, procfs). */
  ops: FileOps | undefined;
  /** Free for the device/fifo implementation (per-open state). */
  private_: unknown = undefined;
  private readonly dirCtx: DirContext = {};
  private released = false;

  constructor(
    readonly vfs: Vfs,
    readonly path: PathRef,
    /** Access mode and status flags (fcntl F_GETFL/F_SETFL may change O_APPEND|O_NONBLOCK). */
    public flags: number,
    ops: FileOps | undefined,
  ) {
    this.ops = ops;
    this.path.dentry.node?.hold?.();
    this.path.dentry.opens++;
  }

  get node(): VNode {
    const n = this.path.dentry.node;
    if (!n) throw err(Errno.EBADF);
    return n;
  }
  /** See VNode.contentKey: non-null when the file's bytes can never change. */
  contentKey(): object | null {
    return this.path.dentry.node?.contentKey?.() ?? null;
  }
  get readable(): boolean {
    const a = this.flags & O_ACCMODE;
    return (this.flags & O_PATH) === 0 && (a === O_RDONLY || a === O_RDWR);
  }
  get writable(): boolean {
    const a = this.flags & O_ACCMODE;
    return (this.flags & O_PATH) === 0 && (a === O_WRONLY || a === O_RDWR);
  }
  get isPathOnly(): boolean {
    return (this.flags & O_PATH) !== 0;
  }

  private checkRead(): void {
    if (!this.readable) throw err(Errno.EBADF);
    if (isDir(this.node.attr().mode)) throw err(Errno.EISDIR);
  }
  private checkWrite(): void {
    if (!this.writable) throw err(Errno.EBADF);
  }

  /** read(2) at the file position. */
  async read(buf: Uint8Array): Promise<number> {
    return guard(async () => {
      this.checkRead();
      const n = await this.doRead(buf, this.pos);
      if (!this.ops || this.ops.seekable) this.pos += n;
      if (n > 0 && this.vfs.watches !== 0) this.vfs._notify(this.path.dentry, IN_ACCESS, true);
      return n;
    });
  }
  /** pread64(2). */
  async pread(buf: Uint8Array, pos: number): Promise<number> {
    return guard(async () => {
      this.checkRead();
      if (pos < 0) throw err(Errno.EINVAL);
      if (this.ops && !this.ops.seekable) throw err(Errno.ESPIPE);
      const n = await this.doRead(buf, pos);
      if (n > 0 && this.vfs.watches !== 0) this.vfs._notify(this.path.dentry, IN_ACCESS, true);
      return n;
    });
  }
  private async doRead(buf: Uint8Array, pos: number): Promise<number> {
    if (this.ops) {
      if (!this.ops.read) throw err(Errno.EINVAL);
      return this.ops.read(this, buf, pos);
    }
    const node = this.node;
    if (!node.read) throw err(Errno.EINVAL);
    if (buf.length === 0) return 0;
    return node.read(pos, buf);
  }

  /** write(2) at the file position (O_APPEND writes at the end). */
  async write(data: Uint8Array): Promise<number> {
    return guard(async () => {
      this.checkWrite();
      let n: number;
      if (this.ops) {
        if (!this.ops.write) throw err(Errno.EINVAL);
        if (this.ops.seekable && this.flags & O_APPEND && this.ops.size) this.pos = this.ops.size(this);
        n = await this.ops.write(this, data, this.pos);
        if (this.ops.seekable) this.pos += n;
      } else {
        const pos = this.flags & O_APPEND ? this.node.attr().size : this.pos;
        n = await this.doWrite(data, pos);
        this.pos = pos + n;
      }
      if (n > 0 && this.vfs.watches !== 0) this.vfs._notify(this.path.dentry, IN_MODIFY, true);
      return n;
    });
  }
  /** pwrite64(2) (like Linux, O_APPEND files append anyway). */
  async pwrite(data: Uint8Array, pos: number): Promise<number> {
    return guard(async () => {
      this.checkWrite();
      if (pos < 0) throw err(Errno.EINVAL);
      let n: number;
      if (this.ops) {
        if (!this.ops.seekable) throw err(Errno.ESPIPE);
        if (!this.ops.write) throw err(Errno.EINVAL);
        n = await this.ops.write(this, data, pos);
      } else n = await this.doWrite(data, this.flags & O_APPEND ? this.node.attr().size : pos);
      if (n > 0 && this.vfs.watches !== 0) this.vfs._notify(this.path.dentry, IN_MODIFY, true);
      return n;
    });
  }
  private async doWrite(data: Uint8Array, pos: number): Promise<number> {
    const node = this.node;
    if (this.path.mnt.readonly) throw err(Errno.EROFS);
    if (!node.write) throw err(Errno.EINVAL);
    if (data.length === 0) return 0;
    const n = await node.write(pos, data);
    const a = node.attr();
    if (a.mode & (S_ISUID | S_ISGID) && node.setattr) {
      // Writing clears setuid/setgid (killpriv), like Linux for non-root writers.
      await node.setattr({ mode: a.mode & ~S_ISUID & ~(a.mode & 0o010 ? S_ISGID : 0) });
    }
    return n;
  }

  /** lseek(2) incl. SEEK_DATA / SEEK_HOLE. */
  async seek(offset: number, whence: number): Promise<number> {
    return guard(async () => {
      if (this.ops && !this.ops.seekable) throw err(Errno.ESPIPE);
      const node = this.node;
      const a = node.attr();
      let np: number;
      switch (whence) {
        case SEEK_SET:
          np = offset;
          break;
        case SEEK_CUR:
          np = this.pos + offset;
          break;
        case SEEK_END:
          np = (this.ops?.size ? this.ops.size(this) : a.size) + offset;
          break;
        case SEEK_DATA:
        case SEEK_HOLE: {
          if (isDir(a.mode)) throw err(Errno.EINVAL);
          const size = this.ops?.size ? this.ops.size(this) : a.size;
          if (offset < 0 || offset >= size) throw err(Errno.ENXIO);
          if (node.seekData && !this.ops) np = await node.seekData(offset, whence);
          else np = whence === SEEK_DATA ? offset : size;
          break;
        }
        default:
          throw err(Errno.EINVAL);
      }
      if (np < 0 || !Number.isSafeInteger(np)) throw err(Errno.EINVAL);
      if (isDir(a.mode) && np !== this.pos) this.dirCtx.state = undefined;
      this.pos = np;
      return np;
    });
  }

  /** Directory entries from the position on (incl. '.' and '..'), at most `max`. Advances the position. */
  async readdir(max = 1 << 30): Promise<DirEntry[]> {
    return guard(async () => {
      const out = await this.peekdir(max);
      if (out.length) this.pos = out[out.length - 1].off;
      return out;
    });
  }

  /** Entries from the position without advancing it. */
  private async peekdir(max: number): Promise<DirEntry[]> {
    if (this.isPathOnly) throw err(Errno.EBADF);
    const node = this.node;
    const a = node.attr();
    if (!isDir(a.mode)) throw err(Errno.ENOTDIR);
    if (a.nlink === 0) return [];
    const out: DirEntry[] = [];
    let pos = this.pos;
    if (pos === 0 && out.length < max) {
      out.push({ name: '.', ino: a.ino, type: DT_DIR, off: 1 });
      pos = 1;
    }
    if (pos === 1 && out.length < max) {
      const ctx = { cred: { uid: 0, gid: 0, groups: [] }, root: this.path, cwd: this.path, umask: 0 };
      const up = this.vfsDotdot(ctx);
      out.push({ name: '..', ino: up.dentry.node ? up.dentry.node.attr().ino : a.ino, type: DT_DIR, off: 2 });
      pos = 2;
    }
    if (!node.readdir) return out;
    while (out.length < max) {
      const batch = await node.readdir(pos - 2, this.dirCtx);
      if (batch.length === 0) break;
      for (const e of batch) {
        if (out.length >= max) break;
        out.push({ name: e.name, ino: e.ino, type: e.type, off: e.off + 2 });
        pos = e.off + 2;
      }
    }
    return out;
  }

  private vfsDotdot(ctx: FsContext): PathRef {
    // Parent of this directory across mounts (namespace root → itself).
    let cur = this.path;
    for (;;) {
      if (cur.dentry !== cur.mnt.root) return { mnt: cur.mnt, dentry: cur.dentry.parent ?? cur.dentry };
      if (!cur.mnt.parent || !cur.mnt.mountpoint) return ctx.root;
      cur = { mnt: cur.mnt.parent, dentry: cur.mnt.mountpoint };
    }
  }

  /**
   * getdents64(2): fills up to `bufSize` bytes with linux_dirent64 records and advances the
   * position past them. EINVAL when even the first record does not fit.
   */
  async getdents64(bufSize: number): Promise<Uint8Array> {
    return guard(async () => {
      const recs: Uint8Array[] = [];
      let total = 0;
      const batch = 64;
      for (;;) {
        const entries = await this.peekdir(batch);
        if (entries.length === 0) break;
        let full = false;
        for (const e of entries) {
          const nameBytes = Buffer.from(e.name, 'latin1');
          const reclen = (19 + nameBytes.length + 1 + 7) & ~7;
          if (total + reclen > bufSize) {
            full = true;
            break;
          }
          const r = new Uint8Array(reclen);
          const dv = new DataView(r.buffer);
          dv.setUint32(0, e.ino >>> 0, true);
          dv.setUint32(4, Math.floor(e.ino / 0x100000000), true);
          dv.setUint32(8, e.off >>> 0, true);
          dv.setUint32(12, Math.floor(e.off / 0x100000000), true);
          dv.setUint16(16, reclen, true);
          r[18] = e.type;
          r.set(nameBytes, 19);
          recs.push(r);
          total += reclen;
          this.pos = e.off;
        }
        if (full) break;
      }
      if (recs.length === 0) {
        const more = await this.peekdir(1);
        if (more.length) throw err(Errno.EINVAL);
      }
      if (this.vfs.watches !== 0) this.vfs._notify(this.path.dentry, IN_ACCESS, true);
      const out = new Uint8Array(total);
      let o = 0;
      for (const r of recs) {
        out.set(r, o);
        o += r.length;
      }
      return out;
    });
  }

  /** fstat. */
  stat(): Stat {
    return this.vfs.statOf(this.path);
  }

  /** ftruncate(2). */
  async truncate(size: number): Promise<void> {
    return guard(async () => {
      if (!this.writable) throw err(Errno.EINVAL);
      const a = this.node.attr();
      if (!isReg(a.mode)) throw err(Errno.EINVAL);
      if (this.path.mnt.readonly) throw err(Errno.EROFS);
      await this.vfs._truncate(this.path, size);
    });
  }

  /**
   * fallocate(2), after the syscall checked the mode's combination and the range: EBADF unless
   * open for writing, ESPIPE for a FIFO, EISDIR for a directory, ENODEV for anything else that
   * is not a regular file, EOPNOTSUPP when the file's filesystem has no fallocate (procfs).
   */
  async allocate(mode: number, pos: number, len: number): Promise<void> {
    return guard(async () => {
      if (!this.writable) throw err(Errno.EBADF);
      const node = this.node;
      const type = node.attr().mode & S_IFMT;
      if (type === S_IFIFO) throw err(Errno.ESPIPE);
      if (type === S_IFDIR) throw err(Errno.EISDIR);
      if (type !== S_IFREG) throw err(Errno.ENODEV);
      if (this.path.mnt.readonly) throw err(Errno.EROFS);
      if (this.ops || !node.allocate) throw err(Errno.EOPNOTSUPP);
      await node.allocate(mode, pos, len);
      if (this.vfs.watches !== 0) this.vfs._notify(this.path.dentry, IN_MODIFY, true);
    });
  }

  /** fsync/fdatasync. */
  async fsync(): Promise<void> {
    return guard(async () => {
      const n = this.node;
      if (n.fsync) await n.fsync();
    });
  }

  /** ioctl: device hook; ENOTTY for everything else. */
  async ioctl(cmd: number, arg: number): Promise<number> {
    return guard(async () => {
      if (this.ops?.ioctl) return this.ops.ioctl(this, cmd, arg);
      throw err(Errno.ENOTTY);
    });
  }

  /** Readiness mask for poll/epoll (regular files are always ready). */
  poll(events: number): number {
    if (this.ops?.poll) return this.ops.poll(this, events);
    return events & (1 | 4);
  }

  /**
   * Page-granular read for file-backed mmap: PAGE_SIZE bytes of page `index`, zero-filled
   * past the end of the file. Independent of the file position and access mode checks
   * beyond readability.
   */
  async readPage(index: number): Promise<Uint8Array> {
    return guard(async () => {
      const page = new Uint8Array(PAGE_SIZE);
      const node = this.node;
      if (this.ops || !node.read) throw err(Errno.ENODEV);
      const size = node.attr().size;
      const start = index * PAGE_SIZE;
      if (start >= size) return page;
      let got = 0;
      const want = Math.min(PAGE_SIZE, size - start);
      while (got < want) {
        const n = await node.read(start + got, page.subarray(got, want));
        if (n <= 0) break;
        got += n;
      }
      return page;
    });
  }

  /** Write-back of a MAP_SHARED page: never extends the file (bytes past EOF are dropped). */
  async writePage(index: number, data: Uint8Array): Promise<void> {
    return guard(async () => {
      const node = this.node;
      if (!node.write) throw err(Errno.ENODEV);
      if (this.path.mnt.readonly) throw err(Errno.EROFS);
      const size = node.attr().size;
      const start = index * PAGE_SIZE;
      if (start >= size) return;
      const len = Math.min(data.length, PAGE_SIZE, size - start);
      await node.write(start, data.subarray(0, len));
    });
  }

  /** A failed open: the description never existed (no close event, no open-file reference left). */
  _abandon(): void {
    if (this.released) return;
    this.released = true;
    this.path.dentry.opens--;
    this.path.dentry.node?.unhold?.();
  }

  /** Called by the kernel when the last reference goes. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const d = this.path.dentry;
    d.opens--;
    try {
      if (this.vfs.watches !== 0 && !this.isPathOnly) {
        this.vfs._notify(d, this.writable ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE, true);
        this.vfs._notifyGone(d);
      }
      d.node?.unhold?.();
      if (this.ops?.release) await this.ops.release(this);
    } catch {
      // release never fails
    }
  }
}
