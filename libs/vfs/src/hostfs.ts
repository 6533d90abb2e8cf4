/**
 * hostfs: a host directory mounted read-only or read-write, confined to it.
 *
 * Confinement: the VFS never hands '.', '..' or '/' to a filesystem, and every host access
 * is anchored at an open directory descriptor through /proc/self/fd/<fd>/<name> (an openat
 * emulation on Linux hosts): only the last component is resolved by the host, and it is
 * never followed when it is a symlink (lstat, O_NOFOLLOW, lchown, lutimes). Host symlinks are
 * shown as symlinks whose targets the VFS resolves inside the guest namespace, so neither
 * '..', symlinks, nor renames racing with an access can reach outside the directory.
 * Host special files (devices, fifos, sockets) are hidden and cannot be created.
 */
import { constants as C } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Errno, err, toVfsError } from './errno';
import type { DirContext, FileSystem, NewNode, VNode } from './fs';
import {
  type DirEntry,
  DT_DIR,
  DT_LNK,
  DT_REG,
  FALLOC_FL_KEEP_SIZE,
  type InodeAttr,
  isDir,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type SetAttr,
  type StatFs,
  type Timespec,
} from './types';

export interface HostFsOptions {
  readonly?: boolean;
}

function ts(ns: bigint): Timespec {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

function allowedType(mode: number): boolean {
  const t = mode & S_IFMT;
  return t === S_IFREG || t === S_IFDIR || t === S_IFLNK;
}

async function hostCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const v = toVfsError(e);
    // The host's ELOOP on O_NOFOLLOW means "is a symlink": report it as such.
    throw v;
  }
}

export class HostFs implements FileSystem {
  readonly type = 'hostfs';
  readonly source: string;
  readonly readonly: boolean;
  readonly volatile = true;
  dev = 0;
  private rootFd: fsp.FileHandle | null = null;
  private readonly byIno = new Map<string, HostNode>();
  private rootNode: HostNode | null = null;

  private constructor(
    readonly hostPath: string,
    opts: HostFsOptions,
  ) {
    this.source = hostPath;
    this.readonly = !!opts.readonly;
  }

  /** Opens the host directory (which must exist and be a directory). */
  static async open(hostPath: string, opts: HostFsOptions = {}): Promise<HostFs> {
    const fs = new HostFs(hostPath, opts);
    fs.rootFd = await fsp.open(hostPath, C.O_RDONLY | C.O_DIRECTORY);
    const st = await fs.rootFd.stat({ bigint: true });
    if (!st.isDirectory()) throw err(Errno.ENOTDIR, hostPath);
    fs.rootNode = new HostNode(fs, null, '', st);
    fs.rootNode.dirFd = fs.rootFd;
    return fs;
  }

  async root(): Promise<VNode> {
    return this.rootNode!;
  }

  options(): string {
    return `path=${this.hostPath}`;
  }

  async statfs(): Promise<StatFs> {
    const s = await fsp.statfs(this.hostPath);
    return {
      type: 0x68737466,
      bsize: s.bsize,
      blocks: s.blocks,
      bfree: s.bfree,
      bavail: s.bavail,
      files: s.files,
      ffree: s.ffree,
      fsid: [0, 0],
      namelen: 255,
      frsize: s.bsize,
      flags: this.readonly ? 1 : 0,
    };
  }

  /** One node object per host inode (identity for the kernel), location updated on lookup. */
  nodeFor(parent: HostNode, name: string, st: import('node:fs').BigIntStats): HostNode {
    const k = `${st.dev}:${st.ino}`;
    let n = this.byIno.get(k);
    if (n && (n.st.mode & BigInt(S_IFMT)) === (st.mode & BigInt(S_IFMT))) {
      n.parent = parent;
      n.name = name;
      n.st = st;
      return n;
    }
    n = new HostNode(this, parent, name, st);
    this.byIno.set(k, n);
    return n;
  }

  async close(): Promise<void> {
    for (const n of this.byIno.values()) await n.closeDir();
    await this.rootFd?.close();
  }
}

export class HostNode implements VNode {
  /** Open directory handle (directories), opened on demand through the parent's handle. */
  dirFd: fsp.FileHandle | null = null;

  constructor(
    readonly fs: HostFs,
    public parent: HostNode | null,
    public name: string,
    public st: import('node:fs').BigIntStats,
  ) {}

  attr(): InodeAttr {
    const s = this.st;
    return {
      ino: Number(s.ino),
      mode: Number(s.mode),
      nlink: Number(s.nlink),
      uid: Number(s.uid),
      gid: Number(s.gid),
      rdev: 0,
      size: Number(s.size),
      blocks: Number(s.blocks),
      atime: ts(s.atimeNs),
      mtime: ts(s.mtimeNs),
      ctime: ts(s.ctimeNs),
      btime: ts(s.birthtimeNs),
    };
  }

  /** The anchored host path of a child name inside this directory. */
  private async at(name: string): Promise<string> {
    const fd = await this.openDir();
    return `/proc/self/fd/${fd.fd}/${name}`;
  }

  /** Anchored host path of this node (through the parent's handle). */
  private async self(): Promise<string> {
    if (!this.parent) return `/proc/self/fd/${(await this.openDir()).fd}/.`;
    return this.parent.at(this.name);
  }

  private async openDir(): Promise<fsp.FileHandle> {
    if (this.dirFd) return this.dirFd;
    if (!this.parent) throw err(Errno.EIO);
    const p = await this.parent.at(this.name);
    const fh = await hostCall(() => fsp.open(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW));
    const st = await fh.stat({ bigint: true });
    if (st.ino !== this.st.ino || st.dev !== this.st.dev) {
      await fh.close();
      throw err(Errno.ENOENT, 'hostfs: directory replaced');
    }
    this.dirFd = fh;
    return fh;
  }

  async closeDir(): Promise<void> {
    if (this.dirFd && this.parent) await this.dirFd.close();
    this.dirFd = null;
  }

  private async refresh(): Promise<void> {
    const p = await this.self();
    const st = await hostCall(() => fsp.lstat(p, { bigint: true }));
    this.st = st;
  }

  private ro(): void {
    if (this.fs.readonly) throw err(Errno.EROFS);
  }

  // ---- directories ----

  async lookup(name: string): Promise<VNode | null> {
    if (!isDir(Number(this.st.mode))) throw err(Errno.ENOTDIR);
    const p = await this.at(name);
    let st: import('node:fs').BigIntStats;
    try {
      st = await fsp.lstat(p, { bigint: true });
    } catch (e) {
      const v = toVfsError(e);
      if (v.errno === Errno.ENOENT) return null;
      throw v;
    }
    if (!allowedType(Number(st.mode))) return null;
    return this.fs.nodeFor(this, name, st);
  }

  async readdir(cookie: number, dir: DirContext): Promise<DirEntry[]> {
    let names = dir.state as DirEntry[] | undefined;
    if (!names || cookie === 0) {
      const fd = await this.openDir();
      const list = await hostCall(() => fsp.readdir(`/proc/self/fd/${fd.fd}`, { withFileTypes: true }));
      names = [];
      for (const d of list) {
        const type = d.isDirectory() ? DT_DIR : d.isFile() ? DT_REG : d.isSymbolicLink() ? DT_LNK : -1;
        if (type < 0) continue;
        let ino = 0;
        try {
          ino = Number((await fsp.lstat(`/proc/self/fd/${fd.fd}/${d.name}`, { bigint: true })).ino);
        } catch {
          continue;
        }
        names.push({ name: d.name, ino, type, off: 0 });
      }
      dir.state = names;
    }
    const out: DirEntry[] = [];
    for (let i = cookie; i < names.length && out.length < 256; i++) out.push({ ...names[i], off: i + 1 });
    return out;
  }

  async create(name: string, init: NewNode): Promise<VNode> {
    this.ro();
    if ((init.mode & S_IFMT) !== S_IFREG) throw err(Errno.EPERM, 'hostfs: special files cannot be created');
    const p = await this.at(name);
    const fh = await hostCall(() => fsp.open(p, C.O_CREAT | C.O_EXCL | C.O_WRONLY | C.O_NOFOLLOW, init.mode & 0o7777));
    await fh.close();
    await this.own(p, init);
    return (await this.lookup(name))!;
  }
  async mkdir(name: string, init: NewNode): Promise<VNode> {
    this.ro();
    const p = await this.at(name);
    await hostCall(() => fsp.mkdir(p, init.mode & 0o7777));
    await this.own(p, init);
    return (await this.lookup(name))!;
  }
  async symlink(name: string, target: string, init: NewNode): Promise<VNode> {
    this.ro();
    const p = await this.at(name);
    await hostCall(() => fsp.symlink(Buffer.from(target, 'latin1').toString(), p));
    await this.own(p, init);
    return (await this.lookup(name))!;
  }

  /** Gives a new host file the guest owner when the host process may (runs as root). */
  private async own(p: string, init: NewNode): Promise<void> {
    if (process.getuid?.() !== 0) return;
    await fsp.lchown(p, init.uid, init.gid).catch(() => undefined);
  }
  async link(name: string, target: VNode): Promise<void> {
    this.ro();
    if (!(target instanceof HostNode) || target.fs !== this.fs) throw err(Errno.EXDEV);
    const from = await target.self();
    const to = await this.at(name);
    await hostCall(() => fsp.link(from, to));
  }
  async unlink(name: string): Promise<void> {
    this.ro();
    const p = await this.at(name);
    await hostCall(() => fsp.unlink(p));
  }
  async rmdir(name: string): Promise<void> {
    this.ro();
    const p = await this.at(name);
    await hostCall(() => fsp.rmdir(p));
  }
  async rename(oldName: string, newDir: VNode, newName: string, flags: number): Promise<void> {
    this.ro();
    if (!(newDir instanceof HostNode) || newDir.fs !== this.fs) throw err(Errno.EXDEV);
    const from = await this.at(oldName);
    const to = await newDir.at(newName);
    if (flags & RENAME_EXCHANGE) {
      // Node has no renameat2: exchange through a temporary name (not atomic on the host).
      const tmp = await this.at(`.lichen-xchg-${process.pid}-${Date.now()}`);
      await hostCall(() => fsp.rename(from, tmp));
      try {
        await hostCall(() => fsp.rename(to, from));
      } catch (e) {
        await fsp.rename(tmp, from);
        throw e;
      }
      await hostCall(() => fsp.rename(tmp, to));
      return;
    }
    if (flags & RENAME_NOREPLACE) {
      try {
        await fsp.lstat(to);
        throw err(Errno.EEXIST);
      } catch (e) {
        if (toVfsError(e).errno !== Errno.ENOENT) throw toVfsError(e);
      }
    }
    await hostCall(() => fsp.rename(from, to));
  }

  async readlink(): Promise<string> {
    const p = await this.self();
    const t = await hostCall(() => fsp.readlink(p, { encoding: 'buffer' }));
    return t.toString('latin1');
  }

  // ---- data ----

  private async openFile(flags: number): Promise<fsp.FileHandle> {
    const p = await this.self();
    const fh = await hostCall(() => fsp.open(p, flags | C.O_NOFOLLOW));
    const st = await fh.stat({ bigint: true });
    if (st.ino !== this.st.ino || st.dev !== this.st.dev || !st.isFile()) {
      await fh.close();
      throw err(Errno.ESTALE, 'hostfs: file replaced');
    }
    return fh;
  }

  async read(pos: number, buf: Uint8Array): Promise<number> {
    if (!isDir(Number(this.st.mode)) && (Number(this.st.mode) & S_IFMT) !== S_IFREG) throw err(Errno.EINVAL);
    if (isDir(Number(this.st.mode))) throw err(Errno.EISDIR);
    const fh = await this.openFile(C.O_RDONLY);
    try {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      return bytesRead;
    } finally {
      await fh.close();
    }
  }

  async write(pos: number, data: Uint8Array): Promise<number> {
    this.ro();
    const fh = await this.openFile(C.O_WRONLY);
    try {
      const { bytesWritten } = await fh.write(data, 0, data.length, pos);
      this.st = await fh.stat({ bigint: true });
      return bytesWritten;
    } finally {
      await fh.close();
    }
  }

  async setattr(ch: SetAttr): Promise<void> {
    this.ro();
    const p = await this.self();
    const lnk = (Number(this.st.mode) & S_IFMT) === S_IFLNK;
    if (ch.size !== undefined || ch.mode !== undefined) {
      if (lnk) throw err(Errno.EOPNOTSUPP);
      const fh = isDir(Number(this.st.mode))
        ? await this.openDir()
        : await this.openFile(ch.size !== undefined ? C.O_WRONLY : C.O_RDONLY);
      try {
        if (ch.size !== undefined) await fh.truncate(ch.size);
        if (ch.mode !== undefined) await fh.chmod(ch.mode & 0o7777);
      } finally {
        if (fh !== this.dirFd) await fh.close();
      }
    }
    if (ch.uid !== undefined || ch.gid !== undefined) {
      await hostCall(() => fsp.lchown(p, ch.uid ?? Number(this.st.uid), ch.gid ?? Number(this.st.gid)));
    }
    if (ch.atime || ch.mtime) {
      const a = ch.atime ?? ts(this.st.atimeNs);
      const m = ch.mtime ?? ts(this.st.mtimeNs);
      await hostCall(() => fsp.lutimes(p, a.sec + a.nsec / 1e9, m.sec + m.nsec / 1e9));
    }
    await this.refresh();
  }

  /**
   * fallocate(2) modes 0 and KEEP_SIZE: mode 0 extends the file to the range's end (Node has
   * no fallocate, so the host file may stay sparse: a later write can still meet a full host
   * disk); KEEP_SIZE changes nothing visible. PUNCH_HOLE and the rest: EOPNOTSUPP.
   */
  async allocate(mode: number, pos: number, len: number): Promise<void> {
    this.ro();
    if (mode & ~FALLOC_FL_KEEP_SIZE) throw err(Errno.EOPNOTSUPP);
    const fh = await this.openFile(C.O_WRONLY);
    try {
      const st = await fh.stat({ bigint: true });
      if (!(mode & FALLOC_FL_KEEP_SIZE) && pos + len > Number(st.size)) await fh.truncate(pos + len);
    } finally {
      await fh.close();
    }
    await this.refresh();
  }

  async fsync(): Promise<void> {}
}
