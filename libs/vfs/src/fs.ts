/**
 * The interface a filesystem implements (ext4, tmpfs, overlay, procfs, devfs, sysfs,
 * hostfs). The VFS core (vfs.ts) does path walk, permission checks, mounts and open-file
 * bookkeeping; a filesystem only answers per-node questions.
 */
import type { ObjectLink } from './errno';
import type { DirEntry, InodeAttr, SetAttr, StatFs } from './types';
import type { FsContext, OpenFile, PathRef } from './vfs';

export interface FileSystem {
  /** Type name as /proc/mounts shows it: 'ext4', 'tmpfs', 'overlay', 'proc', 'devtmpfs', 'sysfs', 'hostfs'. */
  readonly type: string;
  /** Source as /proc/mounts shows it. */
  readonly source: string;
  /** The filesystem cannot be written at all (the ext4 reader). Writes give EROFS. */
  readonly readonly: boolean;
  /**
   * The namespace can change behind the VFS's back (procfs, hostfs): the dentry cache keeps
   * no entries for it and every walk step asks `lookup`.
   */
  readonly volatile?: boolean;
  /** Device number assigned by the Vfs at mount time (st_dev of every node). */
  dev: number;
  root(): Promise<VNode>;
  statfs(): Promise<StatFs>;
  /** Mount options for /proc/mounts (without rw/ro, which the mount adds). */
  options?(): string;
}

/** New-node attributes the VFS computes (owner from credentials, setgid directories, umask). */
export interface NewNode {
  /** Full mode including the S_IFMT type bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Encoded dev_t for character/block nodes, 0 otherwise. */
  rdev: number;
}

/** Per-open-directory state a filesystem may keep between readdir calls (overlay merges). */
export interface DirContext {
  state?: unknown;
}

/**
 * One inode. Identity matters: the VFS, the kernel (fifos, sockets, locks, mmap) and the
 * dentry cache compare nodes by object identity, so a filesystem returns the same object
 * for the same inode while it is referenced (caches by inode number).
 */
export interface VNode {
  readonly fs: FileSystem;
  /** Current attributes (kept in memory; never does I/O). */
  attr(): InodeAttr;

  // ---- directories ----
  /** Looks up one component (never '.' or '..'); null when absent. */
  lookup?(name: string, ctx: FsContext): Promise<VNode | null>;
  /**
   * Entries starting at `cookie` (0 = first; '.' and '..' are added by the VFS, never
   * returned here). Returns a batch in order; each entry's `off` is the cookie of the entry
   * after it. An empty batch means the end. Cookies stay valid when entries are removed.
   */
  readdir?(cookie: number, dir: DirContext): Promise<DirEntry[]>;
  /** Regular files, fifos, sockets, device nodes. */
  create?(name: string, init: NewNode): Promise<VNode>;
  mkdir?(name: string, init: NewNode): Promise<VNode>;
  /**
   * open(O_TMPFILE) in this directory: a regular file with no name (nlink 0) that lives while
   * it is open, unless linkat gives it one. Absent: EOPNOTSUPP.
   */
  tmpfile?(init: NewNode): Promise<VNode>;
  symlink?(name: string, target: string, init: NewNode): Promise<VNode>;
  link?(name: string, target: VNode): Promise<void>;
  unlink?(name: string): Promise<void>;
  rmdir?(name: string): Promise<void>;
  /** Same filesystem only (the VFS checks). flags: RENAME_NOREPLACE / RENAME_EXCHANGE. */
  rename?(oldName: string, newDir: VNode, newName: string, flags: number): Promise<void>;

  // ---- symlinks ----
  readlink?(ctx: FsContext): Promise<string>;
  /** Magic links (/proc/self/exe, /proc/[pid]/fd/N): the walk jumps straight to the target. */
  getLink?(ctx: FsContext): Promise<PathRef | string | ObjectLink>;

  // ---- data ----
  read?(pos: number, buf: Uint8Array): Promise<number>;
  /**
   * An object that stands for this file's bytes when they can never change (a file of the
   * read-only image), so callers may cache what they read under it; null or absent otherwise.
   */
  contentKey?(): object | null;
  write?(pos: number, data: Uint8Array): Promise<number>;
  /**
   * fallocate(2) on a regular file, after the VFS's checks (access mode, file type, range). A
   * filesystem supports the modes it can and gives EOPNOTSUPP for the others; absent: none.
   */
  allocate?(mode: number, pos: number, len: number): Promise<void>;
  /** SEEK_DATA / SEEK_HOLE: next data (or hole) offset at or after pos; ENXIO past the end. */
  seekData?(pos: number, whence: number): Promise<number>;
  setattr?(changes: SetAttr): Promise<void>;
  fsync?(): Promise<void>;

  // ---- extended attributes ----
  // The VFS validates names (namespace, length), sizes and permissions first. A node without
  // these methods has no xattr support: get/set/remove give EOPNOTSUPP, list gives no names
  // (Linux's procfs). A filesystem may still refuse a namespace with EOPNOTSUPP.
  /** The value of a full name ("user.foo"); ENODATA when absent. */
  getxattr?(name: string): Promise<Uint8Array>;
  /** Every full name (the VFS hides trusted.* from unprivileged callers). */
  listxattr?(): Promise<string[]>;
  /** flags: XATTR_CREATE (EEXIST) / XATTR_REPLACE (ENODATA). */
  setxattr?(name: string, value: Uint8Array, flags: number): Promise<void>;
  /** ENODATA when absent. */
  removexattr?(name: string): Promise<void>;

  /**
   * Node-specific open: returns stream operations that replace the default positional
   * read/write (procfs snapshots, hostfs handles). Called after permission checks.
   */
  open?(file: OpenFile, ctx: FsContext): Promise<FileOps | undefined>;
  /** Open-file reference counting (OpenFile construction / release): tmpfs frees unlinked data at zero. */
  hold?(): void;
  unhold?(): void;
  /** Overrides the VFS's generic mode-bit permission check (hostfs, procfs). */
  permission?(ctx: FsContext, want: number): boolean;
}

/**
 * Stream operations of an open file that is not a plain positional file: devices, fifos,
 * procfs snapshots. `pos` is the file position (ignored by streams). A method may finish
 * synchronously (number) or wait (Promise). Errors are thrown VfsErrors.
 */
export interface FileOps {
  read?(file: OpenFile, buf: Uint8Array, pos: number): number | Promise<number>;
  write?(file: OpenFile, data: Uint8Array, pos: number): number | Promise<number>;
  /** ioctl with the raw guest argument; the implementation owns any guest-memory access. */
  ioctl?(file: OpenFile, cmd: number, arg: number): number | Promise<number>;
  /** Readiness (POLLIN=1, POLLOUT=4, POLLERR=8, POLLHUP=16) for poll/epoll. */
  poll?(file: OpenFile, events: number): number;
  /** Seekable streams keep positions (procfs snapshots); devices and fifos are not (ESPIPE). */
  seekable?: boolean;
  /** Size for SEEK_END on seekable streams. */
  size?(file: OpenFile): number;
  release?(file: OpenFile): void | Promise<void>;
}

/**
 * A character device the VFS routes opens of S_IFCHR nodes to, by (major, minor). devfs's
 * null/zero/full/random/urandom are built in; the kernel registers tty/console and others.
 */
export interface CharDevice extends FileOps {
  /** Called on each open; may reject (ENXIO, EBUSY, …) or set `file.private`. */
  open?(file: OpenFile, ctx: FsContext): void | Promise<void>;
}

/** The kernel's pipe implementation for named pipes; called on every open of a S_IFIFO node. */
export interface FifoHandler {
  openFifo(node: VNode, file: OpenFile, ctx: FsContext): Promise<FileOps>;
}
