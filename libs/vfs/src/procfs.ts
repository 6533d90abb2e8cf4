/**
 * procfs: the tree and its rules; the data comes from the kernel's ProcProvider.
 * /proc/self, /proc/thread-self, /proc/[pid]/{files..., exe, cwd, root, fd/, fdinfo/, task/},
 * /proc/mounts (→ self/mounts, generated from the mount table when the provider has none)
 * and the provider's global files. Files are snapshots taken at open (seekable, st_size 0).
 */
import { Errno, err, ObjectLink } from './errno';
import type { DirContext, FileOps, FileSystem, VNode } from './fs';
import type { ProcContent, ProcProvider } from './procfs-provider';
import {
  type DirEntry,
  DT_DIR,
  DT_LNK,
  DT_REG,
  type InodeAttr,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  type StatFs,
  type Timespec,
} from './types';
import type { FsContext, OpenFile, PathRef, Vfs } from './vfs';

export const PROC_SUPER_MAGIC = 0x9fa0;

type Kind =
  | { k: 'root' }
  | { k: 'self' }
  | { k: 'thread-self' }
  | { k: 'global'; name: string }
  | { k: 'mounts-link' }
  | { k: 'pid'; pid: number; tid?: number }
  | { k: 'pidfile'; pid: number; tid?: number; name: string }
  | { k: 'pidlink'; pid: number; tid?: number; name: 'exe' | 'cwd' | 'root' }
  | { k: 'fddir'; pid: number; info: boolean }
  | { k: 'fd'; pid: number; fd: number }
  | { k: 'fdinfo'; pid: number; fd: number }
  | { k: 'taskdir'; pid: number };

/** The identity of a node for its inode number: equal kinds (fields undefined or absent alike) give equal keys. */
function key(kind: Kind): string {
  switch (kind.k) {
    case 'root':
    case 'self':
    case 'thread-self':
    case 'mounts-link':
      return kind.k;
    case 'global':
      return `global/${kind.name}`;
    case 'pid':
      return `pid/${kind.pid}/${kind.tid ?? ''}`;
    case 'pidfile':
    case 'pidlink':
      return `${kind.k}/${kind.pid}/${kind.tid ?? ''}/${kind.name}`;
    case 'fddir':
      return `fddir/${kind.pid}/${kind.info ? 1 : 0}`;
    case 'fd':
    case 'fdinfo':
      return `${kind.k}/${kind.pid}/${kind.fd}`;
    case 'taskdir':
      return `taskdir/${kind.pid}`;
  }
}

const PRIVATE_FILES = new Set(['environ', 'auxv', 'mem', 'pagemap']);

export class ProcFs implements FileSystem {
  readonly type = 'proc';
  readonly source = 'proc';
  readonly readonly = false;
  readonly volatile = true;
  dev = 0;
  private readonly inos = new Map<string, number>();
  private nextIno = 2;
  readonly bootTime: Timespec;

  constructor(
    readonly vfs: Vfs,
    readonly provider: ProcProvider,
  ) {
    this.bootTime = vfs.clock();
  }

  inoOf(kind: Kind): number {
    if (kind.k === 'root') return 1;
    const k = key(kind);
    let n = this.inos.get(k);
    if (n === undefined) {
      n = this.nextIno++;
      this.inos.set(k, n);
    }
    return n;
  }

  node(kind: Kind): ProcNode {
    return new ProcNode(this, kind);
  }

  async root(): Promise<VNode> {
    return this.node({ k: 'root' });
  }

  async statfs(): Promise<StatFs> {
    return {
      type: PROC_SUPER_MAGIC,
      bsize: 4096,
      blocks: 0,
      bfree: 0,
      bavail: 0,
      files: 0,
      ffree: 0,
      fsid: [0, 0],
      namelen: 255,
      frsize: 4096,
      flags: 0,
    };
  }

  /** /proc/[pid]/mounts when the provider has none: the mount table. */
  mountsText(ctx: FsContext | undefined): string {
    return this.vfs
      .mounts(ctx?.root)
      .map((m) => `${m.source} ${m.target} ${m.fstype} ${m.options} 0 0\n`)
      .join('');
  }
}

function toBytes(c: ProcContent): Uint8Array {
  return typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
}

export class ProcNode implements VNode {
  constructor(
    readonly fs: ProcFs,
    readonly kind: Kind,
  ) {}

  private get p(): ProcProvider {
    return this.fs.provider;
  }

  private exists(pid: number): boolean {
    return this.p.owner(pid) !== null;
  }

  attr(): InodeAttr {
    const k = this.kind;
    const t = this.fs.bootTime;
    let mode = S_IFREG | 0o444;
    let uid = 0;
    let gid = 0;
    let nlink = 1;
    switch (k.k) {
      case 'root':
      case 'pid':
      case 'fddir':
      case 'taskdir':
        mode = S_IFDIR | 0o555;
        nlink = 2;
        break;
      case 'self':
      case 'thread-self':
      case 'mounts-link':
        mode = S_IFLNK | 0o777;
        break;
      case 'pidlink':
      case 'fd':
        mode = S_IFLNK | (k.k === 'fd' ? 0o700 : 0o777);
        break;
      case 'pidfile':
        mode = S_IFREG | (PRIVATE_FILES.has(k.name) ? 0o400 : k.name === 'oom_score_adj' ? 0o644 : 0o444);
        break;
      case 'fdinfo':
        mode = S_IFREG | 0o400;
        break;
      case 'global':
        break;
    }
    if ('pid' in k) {
      const o = this.p.owner(k.pid);
      if (o) {
        uid = o.uid;
        gid = o.gid;
      }
      if (k.k === 'fddir') mode = S_IFDIR | 0o500;
    }
    return {
      ino: this.fs.inoOf(k),
      mode,
      nlink,
      uid,
      gid,
      rdev: 0,
      size: 0,
      blocks: 0,
      atime: t,
      mtime: t,
      ctime: t,
    };
  }

  // ---- directories ----

  private entries(ctx: FsContext | undefined): { name: string; kind: Kind; type: number }[] {
    const k = this.kind;
    const out: { name: string; kind: Kind; type: number }[] = [];
    switch (k.k) {
      case 'root': {
        out.push({ name: 'self', kind: { k: 'self' }, type: DT_LNK });
        out.push({ name: 'thread-self', kind: { k: 'thread-self' }, type: DT_LNK });
        out.push({ name: 'mounts', kind: { k: 'mounts-link' }, type: DT_LNK });
        for (const g of this.p.globalFileNames()) out.push({ name: g, kind: { k: 'global', name: g }, type: DT_REG });
        for (const pid of this.p.pids()) out.push({ name: String(pid), kind: { k: 'pid', pid }, type: DT_DIR });
        break;
      }
      case 'pid': {
        const base = { pid: k.pid, tid: k.tid };
        const names = new Set(this.p.pidFileNames());
        names.add('mounts');
        for (const n of names) out.push({ name: n, kind: { k: 'pidfile', ...base, name: n }, type: DT_REG });
        for (const n of ['exe', 'cwd', 'root'] as const) {
          out.push({ name: n, kind: { k: 'pidlink', ...base, name: n }, type: DT_LNK });
        }
        out.push({ name: 'fd', kind: { k: 'fddir', pid: k.pid, info: false }, type: DT_DIR });
        out.push({ name: 'fdinfo', kind: { k: 'fddir', pid: k.pid, info: true }, type: DT_DIR });
        if (k.tid === undefined) out.push({ name: 'task', kind: { k: 'taskdir', pid: k.pid }, type: DT_DIR });
        break;
      }
      case 'fddir':
        for (const fd of this.p.fds(k.pid)) {
          out.push({
            name: String(fd),
            kind: k.info ? { k: 'fdinfo', pid: k.pid, fd } : { k: 'fd', pid: k.pid, fd },
            type: k.info ? DT_REG : DT_LNK,
          });
        }
        break;
      case 'taskdir':
        for (const tid of this.p.tids(k.pid))
          out.push({ name: String(tid), kind: { k: 'pid', pid: k.pid, tid }, type: DT_DIR });
        break;
      default:
        throw err(Errno.ENOTDIR);
    }
    void ctx;
    return out;
  }

  private isDirKind(): boolean {
    const k = this.kind.k;
    return k === 'root' || k === 'pid' || k === 'fddir' || k === 'taskdir';
  }

  async lookup(name: string, ctx: FsContext): Promise<VNode | null> {
    if (!this.isDirKind()) throw err(Errno.ENOTDIR);
    const k = this.kind;
    if ('pid' in k && !this.exists(k.pid)) return null;
    if (k.k === 'root' && /^[1-9][0-9]*$/.test(name)) {
      const pid = Number(name);
      return this.exists(pid) ? this.fs.node({ k: 'pid', pid }) : null;
    }
    if (k.k === 'taskdir' && /^[1-9][0-9]*$/.test(name)) {
      const tid = Number(name);
      return this.p.tids(k.pid).includes(tid) ? this.fs.node({ k: 'pid', pid: k.pid, tid }) : null;
    }
    if (k.k === 'fddir' && /^(0|[1-9][0-9]*)$/.test(name)) {
      const fd = Number(name);
      if (!this.p.fds(k.pid).includes(fd)) return null;
      return this.fs.node(k.info ? { k: 'fdinfo', pid: k.pid, fd } : { k: 'fd', pid: k.pid, fd });
    }
    // the names every program looks up (/proc/self/exe), without listing the directory
    if (k.k === 'root' && name === 'self') return this.fs.node({ k: 'self' });
    if (k.k === 'pid' && (name === 'exe' || name === 'cwd' || name === 'root'))
      return this.fs.node({ k: 'pidlink', pid: k.pid, tid: k.tid, name });
    const e = this.entries(ctx).find((x) => x.name === name);
    return e ? this.fs.node(e.kind) : null;
  }

  async readdir(cookie: number, _dir: DirContext): Promise<DirEntry[]> {
    const all = this.entries(undefined);
    const out: DirEntry[] = [];
    for (let i = cookie; i < all.length && out.length < 256; i++) {
      out.push({ name: all[i].name, ino: this.fs.inoOf(all[i].kind), type: all[i].type, off: i + 1 });
    }
    return out;
  }

  // ---- links ----

  async getLink(ctx: FsContext): Promise<PathRef | string | ObjectLink> {
    const k = this.kind;
    switch (k.k) {
      case 'self':
        if (ctx.pid === undefined) throw err(Errno.ENOENT);
        return String(ctx.pid);
      case 'thread-self':
        if (ctx.pid === undefined) throw err(Errno.ENOENT);
        return `${ctx.pid}/task/${ctx.tid ?? ctx.pid}`;
      case 'mounts-link':
        return 'self/mounts';
      case 'pidlink': {
        const r = this.p.pidLink(k.pid, k.name);
        if (r === null) throw err(Errno.ENOENT);
        return r;
      }
      case 'fd': {
        const r = this.p.fdLink(k.pid, k.fd);
        if (r === null) throw err(Errno.ENOENT);
        return r;
      }
      default:
        throw err(Errno.EINVAL);
    }
  }

  async readlink(ctx: FsContext): Promise<string> {
    return this.fs.vfs.linkText(await this.getLink(ctx), ctx.root);
  }

  permission(ctx: FsContext, want: number): boolean {
    const a = this.attr();
    const c = ctx.cred;
    if (c.uid === 0) return !(want & 1) || (a.mode & 0o111) !== 0 || (a.mode & 0o170000) === S_IFDIR;
    const bits =
      c.uid === a.uid
        ? (a.mode >> 6) & 7
        : c.gid === a.gid || c.groups.includes(a.gid)
          ? (a.mode >> 3) & 7
          : a.mode & 7;
    return (bits & want) === want;
  }

  // ---- files ----

  private async content(ctx: FsContext): Promise<Uint8Array> {
    const k = this.kind;
    let c: ProcContent | null = null;
    if (k.k === 'global') c = await this.p.globalFile(k.name);
    else if (k.k === 'pidfile') {
      c = await this.p.pidFile(k.pid, k.name, k.tid);
      if (c === null && k.name === 'mounts') c = this.fs.mountsText(ctx);
    } else if (k.k === 'fdinfo') c = this.p.fdInfo ? this.p.fdInfo(k.pid, k.fd) : null;
    if (c === null) throw err(Errno.ENOENT);
    return toBytes(c);
  }

  async open(file: OpenFile, ctx: FsContext): Promise<FileOps | undefined> {
    if (this.isDirKind()) return undefined;
    const data = await this.content(ctx);
    const k = this.kind;
    const provider = this.p;
    const pid = 'pid' in k ? k.pid : null;
    const name = k.k === 'global' || k.k === 'pidfile' ? k.name : '';
    void file;
    return {
      seekable: true,
      size: () => data.length,
      read: (_f, buf, pos) => {
        if (pos >= data.length) return 0;
        const n = Math.min(buf.length, data.length - pos);
        buf.set(data.subarray(pos, pos + n));
        return n;
      },
      write: (_f, d) => {
        if (!provider.write) throw err(Errno.EACCES);
        return provider.write(pid, name, d, ctx);
      },
    };
  }

  async setattr(): Promise<void> {
    throw err(Errno.EPERM);
  }
}
