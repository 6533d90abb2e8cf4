/**
 * fadvise64 and readahead: page-cache advice. Lichen's files have no page cache to steer, so
 * both check their arguments as Linux does and otherwise succeed with no effect.
 */
import { S_IFBLK, S_IFIFO, S_IFMT, S_IFREG } from '@lichen/vfs';
import { Errno } from '../errno';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';

/** POSIX_FADV_NORMAL (0) … POSIX_FADV_NOREUSE (5): the advice values of arm64 (and x86). */
const POSIX_FADV_NOREUSE = 5;
const POSIX_FADV_WILLNEED = 3;

/** generic_fadvise: ESPIPE for pipes and FIFOs, EINVAL for a negative length or unknown advice. */
function fadvise(t: Task, fd: number, len: number, advice: number): number {
  const f = t.files.getOpen(fd);
  if ((f.stat().mode & S_IFMT) === S_IFIFO) return -Errno.ESPIPE;
  if (len < 0 || advice < 0 || advice > POSIX_FADV_NOREUSE) return -Errno.EINVAL;
  return 0;
}

export const adviceSyscalls: SyscallDefs = {
  fadvise64: {
    handler: (_k, t, a) => fadvise(t, a.i(0), a.l(2), a.i(3)),
    note: 'validated, no effect (no page cache)',
  },
  readahead: {
    handler: (_k, t, a) => {
      const f = t.files.getOpen(a.i(0));
      if (!f.readable) return -Errno.EBADF;
      const type = f.stat().mode & S_IFMT;
      if (type !== S_IFREG && type !== S_IFBLK) return -Errno.EINVAL;
      // the count goes to fadvise as a loff_t length
      return fadvise(t, a.i(0), a.l(2), POSIX_FADV_WILLNEED);
    },
    note: 'validated, no effect (no page cache)',
  },
};
