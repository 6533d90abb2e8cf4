import { isDir, type PathRef } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Task } from '../task';

export const AT_FDCWD = -100;

/** The PathRef a dirfd stands for (undefined = the cwd). EBADF / ENOTDIR as Linux. */
export function dirfdRef(t: Task, dirfd: number, mustBeDir = true): PathRef | undefined {
  if (dirfd === AT_FDCWD) return undefined;
  const f = t.files.get(dirfd).vfsFile;
  if (!f) throw new KernelError(mustBeDir ? Errno.ENOTDIR : Errno.EBADF);
  if (mustBeDir && !isDir(f.stat().mode)) throw new KernelError(Errno.ENOTDIR);
  return f.path;
}

/** dirfd for calls that allow AT_EMPTY_PATH on any file. */
export function atRef(t: Task, dirfd: number, path: string, emptyPath: boolean): PathRef | undefined {
  if (dirfd === AT_FDCWD) return undefined;
  if (path === '' && emptyPath) {
    const f = t.files.get(dirfd).vfsFile;
    if (!f) throw new KernelError(Errno.EBADF);
    return f.path;
  }
  if (path.startsWith('/')) return undefined;
  return dirfdRef(t, dirfd);
}
