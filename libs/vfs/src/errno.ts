/**
 * Linux errno numbers (asm-generic, identical on aarch64) and the error type every VFS
 * operation rejects with. This module is the single source of errno numbers for Lichen:
 * the kernel re-exports `Errno` and turns a thrown `VfsError` into `-errno`.
 */
export enum Errno {
  EPERM = 1,
  ENOENT = 2,
  ESRCH = 3,
  EINTR = 4,
  EIO = 5,
  ENXIO = 6,
  E2BIG = 7,
  ENOEXEC = 8,
  EBADF = 9,
  ECHILD = 10,
  EAGAIN = 11,
  ENOMEM = 12,
  EACCES = 13,
  EFAULT = 14,
  ENOTBLK = 15,
  EBUSY = 16,
  EEXIST = 17,
  EXDEV = 18,
  ENODEV = 19,
  ENOTDIR = 20,
  EISDIR = 21,
  EINVAL = 22,
  ENFILE = 23,
  EMFILE = 24,
  ENOTTY = 25,
  ETXTBSY = 26,
  EFBIG = 27,
  ENOSPC = 28,
  ESPIPE = 29,
  EROFS = 30,
  EMLINK = 31,
  EPIPE = 32,
  EDOM = 33,
  ERANGE = 34,
  EDEADLK = 35,
  ENAMETOOLONG = 36,
  ENOLCK = 37,
  ENOSYS = 38,
  ENOTEMPTY = 39,
  ELOOP = 40,
  ENOMSG = 42,
  EIDRM = 43,
  ENOSTR = 60,
  ENODATA = 61,
  ETIME = 62,
  ENOSR = 63,
  EOVERFLOW = 75,
  EBADFD = 77,
  EILSEQ = 84,
  ERESTART = 85,
  EUSERS = 87,
  ENOTSOCK = 88,
  EDESTADDRREQ = 89,
  EMSGSIZE = 90,
  EPROTOTYPE = 91,
  ENOPROTOOPT = 92,
  EPROTONOSUPPORT = 93,
  ESOCKTNOSUPPORT = 94,
  EOPNOTSUPP = 95,
  EPFNOSUPPORT = 96,
  EAFNOSUPPORT = 97,
  EADDRINUSE = 98,
  EADDRNOTAVAIL = 99,
  ENETDOWN = 100,
  ENETUNREACH = 101,
  ENETRESET = 102,
  ECONNABORTED = 103,
  ECONNRESET = 104,
  ENOBUFS = 105,
  EISCONN = 106,
  ENOTCONN = 107,
  ESHUTDOWN = 108,
  ETOOMANYREFS = 109,
  ETIMEDOUT = 110,
  ECONNREFUSED = 111,
  EHOSTDOWN = 112,
  EHOSTUNREACH = 113,
  EALREADY = 114,
  EINPROGRESS = 115,
  ESTALE = 116,
  /** Structure needs cleaning; the kernel's EFSCORRUPTED is this number. */
  EUCLEAN = 117,
  EDQUOT = 122,
  ECANCELED = 125,
  EOWNERDEAD = 130,
  ENOTRECOVERABLE = 131,
  /** Kernel-internal restart codes (never reach user space as such). */
  ERESTARTSYS = 512,
  ERESTARTNOINTR = 513,
  ERESTARTNOHAND = 514,
  ERESTART_RESTARTBLOCK = 516,
}

/** Linux aliases. */
export const EWOULDBLOCK = Errno.EAGAIN;
export const EFSCORRUPTED = Errno.EUCLEAN;
export const ENOTSUP = Errno.EOPNOTSUPP;

/**
 * The error every VFS operation rejects with. `errno` is a positive Linux errno number.
 * It is an answer, not a bug report: it carries no stack trace (capturing one made path
 * lookups that end in ENOENT, which programs do all the time, several times dearer).
 */
export class VfsError extends Error {
  readonly errno: Errno;
  constructor(errno: Errno, message?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ? `${Errno[errno] ?? errno}: ${message}` : (Errno[errno] ?? `errno ${errno}`));
    Error.stackTraceLimit = limit;
    this.name = 'VfsError';
    this.errno = errno;
  }
}

/**
 * The target of a magic link that has no path: the object behind /proc/PID/fd/N when that fd
 * is a pipe, a socket or an anonymous inode. readlink shows `name` (`pipe:[3]`).
 */
export class ObjectLink {
  constructor(
    readonly name: string,
    readonly object: object,
  ) {}
}

/**
 * A path walk that follows links ended at an ObjectLink. The VFS cannot open or stat such an
 * object (ENXIO, as Linux gives for a socket); the kernel, which owns it, catches this to reopen
 * a pipe through /proc/self/fd/N (`/dev/stdin`, bash's `<(...)`) or to stat it.
 */
export class ObjectLinkReached extends VfsError {
  constructor(readonly target: ObjectLink) {
    super(Errno.ENXIO, target.name);
  }
}

/** Shorthand: `throw err(Errno.ENOENT, 'no such file')`. */
export function err(errno: Errno, message?: string): VfsError {
  return new VfsError(errno, message);
}

/** True when `e` is a VfsError (optionally with a given errno). */
export function isVfsError(e: unknown, errno?: Errno): e is VfsError {
  return e instanceof VfsError && (errno === undefined || e.errno === errno);
}

/**
 * Maps any thrown value to an errno: a VfsError keeps its number, a Node.js system error
 * (from hostfs) maps by its code, anything else (a bug or corrupt data that slipped through)
 * becomes EIO. Used at the VFS boundary so nothing but VfsError escapes it.
 */
export function toErrno(e: unknown): Errno {
  if (e instanceof VfsError) return e.errno;
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    const code = (e as { code: string }).code;
    const n = (Errno as unknown as Record<string, number>)[code];
    if (typeof n === 'number') return n as Errno;
  }
  return Errno.EIO;
}

/** Converts any thrown value into a VfsError (see toErrno). */
export function toVfsError(e: unknown): VfsError {
  if (e instanceof VfsError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new VfsError(toErrno(e), msg);
}
