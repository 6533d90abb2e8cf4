/**
 * Constants (Linux aarch64 values) and plain data types shared by the VFS, the filesystems
 * and the kernel.
 */

// ---- file types and mode bits -------------------------------------------------------
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isLnk = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;

/** d_type values used by getdents64. */
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;
export const DT_WHT = 14;
/** File type bits → d_type. */
export const modeToDtype = (mode: number): number => (mode & S_IFMT) >>> 12;

// ---- open(2) flags (aarch64 / asm-generic) --------------------------------------------
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_ASYNC = 0o20000;
/** aarch64 values (differ from x86). */
export const O_DIRECTORY = 0o40000;
export const O_NOFOLLOW = 0o100000;
export const O_DIRECT = 0o200000;
export const O_LARGEFILE = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20000000 | O_DIRECTORY;

// ---- *at flags -------------------------------------------------------------------------
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EACCESS = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
export const AT_STATX_SYNC_TYPE = 0x6000;

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;

/** fallocate(2) modes. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;
export const FALLOC_FL_WRITE_ZEROES = 0x80;
/** The operation bits (at most one, besides KEEP_SIZE). */
export const FALLOC_FL_OPERATIONS =
  FALLOC_FL_PUNCH_HOLE |
  FALLOC_FL_COLLAPSE_RANGE |
  FALLOC_FL_ZERO_RANGE |
  FALLOC_FL_INSERT_RANGE |
  FALLOC_FL_UNSHARE_RANGE |
  FALLOC_FL_WRITE_ZEROES;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/** access(2) modes; also the `want` bits of permission checks. */
export const F_OK = 0;
export const X_OK = 1;
export const W_OK = 2;
export const R_OK = 4;

/** utimensat special nanosecond values. */
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

/** statx mask bits. */
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_NLINK = 0x4;
export const STATX_UID = 0x8;
export const STATX_GID = 0x10;
export const STATX_ATIME = 0x20;
export const STATX_MTIME = 0x40;
export const STATX_CTIME = 0x80;
export const STATX_INO = 0x100;
export const STATX_SIZE = 0x200;
export const STATX_BLOCKS = 0x400;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_MNT_ID = 0x1000;

/** statx attributes. */
export const STATX_ATTR_IMMUTABLE = 0x10;
export const STATX_ATTR_APPEND = 0x20;
export const STATX_ATTR_MOUNT_ROOT = 0x2000;

/** Mount flags (subset of MS_*). */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_NOATIME = 1024;

/** Page size used for file-backed mmap. */
export const PAGE_SIZE = 4096;
/** Limits. */
export const NAME_MAX = 255;
export const PATH_MAX = 4096;
export const MAXSYMLINKS = 40;

// ---- data ----------------------------------------------------------------------------
export interface Timespec {
  sec: number;
  nsec: number;
}

/** Device numbers are kept as (major, minor); `makedev` gives Linux's encoded dev_t. */
export function makedev(major: number, minor: number): number {
  // Linux new_encode_dev for 32-bit: (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}
export function major(dev: number): number {
  return (dev >>> 8) & 0xfff;
}
export function minor(dev: number): number {
  return (dev & 0xff) | ((dev >>> 12) & 0xfff00);
}

/**
 * Inode attributes as a filesystem keeps them. `ino` is unique within the filesystem.
 * `rdev` is an encoded dev_t (see makedev) for character and block nodes.
 */
export interface InodeAttr {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  /** 512-byte blocks allocated. */
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  /** Creation time when the filesystem records it. */
  btime?: Timespec;
  /** STATX_ATTR_* bits (immutable, append). */
  attributes?: number;
}

/** What stat/fstat/statx report (everything statx has). */
export interface Stat extends InodeAttr {
  /** Encoded dev_t of the filesystem. */
  dev: number;
  blksize: number;
  /** STATX_* fields that are valid. */
  mask: number;
  /** Mount id (STATX_MNT_ID). */
  mntId: number;
}

export interface StatFs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  fsid: [number, number];
  namelen: number;
  frsize: number;
  flags: number;
}

/** One directory entry as readdir yields it. `off` is the cookie of the NEXT entry. */
export interface DirEntry {
  name: string;
  ino: number;
  /** DT_* value. */
  type: number;
  off: number;
}

/**
 * The credentials permission checks use: the filesystem uid/gid (fsuid/fsgid) and the
 * supplementary groups. uid 0 has CAP_DAC_OVERRIDE/CAP_FOWNER/CAP_CHOWN (root override),
 * unless `capabilities` is given and says otherwise.
 */
export interface Credentials {
  uid: number;
  gid: number;
  groups: readonly number[];
  /** Optional finer control; default: all true for uid 0, false otherwise. */
  capabilities?: {
    dacOverride: boolean;
    fowner: boolean;
    chown: boolean;
    fsetid: boolean;
    mknod: boolean;
    /** CAP_SYS_ADMIN (trusted.* and security.* extended attributes); default: uid 0. */
    sysAdmin?: boolean;
  };
}

export const ROOT_CREDENTIALS: Credentials = Object.freeze({
  uid: 0,
  gid: 0,
  groups: Object.freeze([]) as readonly number[],
});

/** Attribute changes for setattr (chmod/chown/utimens/truncate). */
export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: Timespec;
  mtime?: Timespec;
  ctime?: Timespec;
}

/** A clock the VFS uses for timestamps (the kernel supplies its virtual clock). */
export type Clock = () => Timespec;

export const hostClock: Clock = () => {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
};
