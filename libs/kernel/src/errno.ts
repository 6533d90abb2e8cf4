import { Errno as VfsErrno } from '@lichen/vfs';

/**
 * Lichen's one errno enum lives in @lichen/vfs; the kernel re-exports it as an alias, which
 * compiles to a plain property (a re-export `export { Errno }` compiles to a getter that
 * makes this module's exports object a dictionary-mode one, read on every errno returned).
 */
export import Errno = VfsErrno;

/** An error a syscall handler throws; `dispatch` turns it into `-errno` in one place. */
export class KernelError extends Error {
  constructor(
    readonly errno: Errno,
    message?: string,
  ) {
    super(message ?? Errno[errno] ?? `errno ${errno}`);
    this.name = 'KernelError';
  }
}

/** Throws `KernelError(errno)`; typed `never` so it can be used in expressions. */
export function fail(errno: Errno, message?: string): never {
  throw new KernelError(errno, message);
}

/**
 * The one place an error becomes a syscall return value. Anything that is not a KernelError
 * or an object carrying a numeric `errno` (the VFS's errors) is a kernel bug: it is rethrown.
 */
export function errnoOf(err: unknown): Errno {
  if (err instanceof KernelError) return err.errno;
  if (typeof err === 'object' && err !== null) {
    const e = (err as { errno?: unknown; code?: unknown }).errno;
    if (typeof e === 'number' && e > 0 && e < 4096) return e as Errno;
  }
  throw err;
}

export function errnoName(e: number): string {
  return Errno[e] ?? `E${e}`;
}
