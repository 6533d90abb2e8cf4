/**
 * Extended attributes: setxattr, getxattr, listxattr, removexattr and their l* (no follow)
 * and f* (fd) forms. Argument checks in Linux's order (fs/xattr.c, 6.x): flags (EINVAL), the
 * name (EFAULT, ERANGE when empty or longer than 255 bytes), the value size (E2BIG above
 * 64 KiB), then the path or fd; the VFS does the namespace and permission rules.
 */
import {
  type PathRef,
  Vfs,
  XATTR_CREATE,
  XATTR_LIST_MAX,
  XATTR_NAME_MAX,
  XATTR_REPLACE,
  XATTR_SIZE_MAX,
  XATTR_USER_PREFIX,
} from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallArgs } from '../syscalls/args';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, readCStringBytes, readPath } from '../uaccess';

const AT_SYMLINK_NOFOLLOW = 0x100;

/** import_xattr_name: ERANGE for '' and for names of 256 bytes or more. */
function readName(t: Task, a: SyscallArgs, n: number): string {
  const bytes = readCStringBytes(t.mm.as, a.p(n), XATTR_NAME_MAX, Errno.ERANGE);
  if (bytes.length === 0) throw new KernelError(Errno.ERANGE);
  return Buffer.from(bytes).toString('latin1');
}

/** The file an f*xattr call names: a VFS file (O_PATH fds are EBADF, like fdget), or null for pipes, sockets, ... */
function fdTarget(t: Task, fd: number): PathRef | null {
  const f = t.files.get(fd);
  const v = f.vfsFile;
  if (v === null) return null;
  if (v.isPathOnly) throw new KernelError(Errno.EBADF);
  return v.path;
}

/**
 * Kernel objects without a VFS node (pipes, sockets, eventfds) have no xattr storage; user.*
 * is refused as on any non-regular file (ENODATA to read, EPERM to write), the rest is EOPNOTSUPP.
 */
function anonXattr(name: string, write: boolean): never {
  if (name.startsWith(XATTR_USER_PREFIX)) throw new KernelError(write ? Errno.EPERM : Errno.ENODATA);
  throw new KernelError(Errno.EOPNOTSUPP);
}

/** Copies `data` out as getxattr/listxattr do: size 0 asks for the length, ERANGE when it does not fit. */
function copyResult(t: Task, a: SyscallArgs, bufArg: number, sizeArg: number, data: Uint8Array, max: number): number {
  const size = Math.min(a.size(sizeArg), max);
  if (size === 0) return data.length;
  if (data.length > size) return size >= max ? -Errno.E2BIG : -Errno.ERANGE;
  copyOut(t.mm.as, a.p(bufArg), data);
  return data.length;
}

async function pathOf(k: Kernel, t: Task, a: SyscallArgs, follow: boolean): Promise<PathRef> {
  const path = readPath(t.mm.as, a.p(0));
  return k.hostIo(k.vfs.resolve(t.process.fs.ctx, undefined, path, { follow }));
}

function setxattr(kind: 'path' | 'link' | 'fd') {
  return async (k: Kernel, t: Task, a: SyscallArgs): Promise<number> => {
    const flags = a.i(4);
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return -Errno.EINVAL;
    const name = readName(t, a, 1);
    const size = a.size(3);
    if (size > XATTR_SIZE_MAX) return -Errno.E2BIG;
    const value = size === 0 ? new Uint8Array(0) : copyIn(t.mm.as, a.p(2), size);
    const ctx = t.process.fs.ctx;
    if (kind === 'fd') {
      const p = fdTarget(t, a.i(0));
      if (p === null) anonXattr(name, true);
      await k.hostIo(k.vfs.setxattrRef(ctx, p, name, value, flags));
      return 0;
    }
    const path = readPath(t.mm.as, a.p(0));
    const atFlags = kind === 'link' ? AT_SYMLINK_NOFOLLOW : 0;
    await k.hostIo(k.vfs.setxattr(ctx, undefined, path, name, value, flags, atFlags));
    return 0;
  };
}

function getxattr(kind: 'path' | 'link' | 'fd') {
  return async (k: Kernel, t: Task, a: SyscallArgs): Promise<number> => {
    const name = readName(t, a, 1);
    const ctx = t.process.fs.ctx;
    let p: PathRef;
    if (kind === 'fd') {
      const fp = fdTarget(t, a.i(0));
      if (fp === null) anonXattr(name, false);
      p = fp;
    } else p = await pathOf(k, t, a, kind === 'path');
    const value = await k.hostIo(k.vfs.getxattrRef(ctx, p, name));
    return copyResult(t, a, 2, 3, value, XATTR_SIZE_MAX);
  };
}

function listxattr(kind: 'path' | 'link' | 'fd') {
  return async (k: Kernel, t: Task, a: SyscallArgs): Promise<number> => {
    const ctx = t.process.fs.ctx;
    let names: string[];
    if (kind === 'fd') {
      const p = fdTarget(t, a.i(0));
      names = p === null ? [] : await k.hostIo(k.vfs.listxattrRef(ctx, p));
    } else names = await k.hostIo(k.vfs.listxattrRef(ctx, await pathOf(k, t, a, kind === 'path')));
    return copyResult(t, a, 1, 2, Vfs.encodeXattrList(names), XATTR_LIST_MAX);
  };
}

function removexattr(kind: 'path' | 'link' | 'fd') {
  return async (k: Kernel, t: Task, a: SyscallArgs): Promise<number> => {
    const name = readName(t, a, 1);
    const ctx = t.process.fs.ctx;
    if (kind === 'fd') {
      const p = fdTarget(t, a.i(0));
      if (p === null) anonXattr(name, true);
      await k.hostIo(k.vfs.removexattrRef(ctx, p, name));
      return 0;
    }
    await k.hostIo(k.vfs.removexattrRef(ctx, await pathOf(k, t, a, kind === 'path'), name));
    return 0;
  };
}

const NOTE =
  'tmpfs/devfs/overlay store user/trusted/security (quota-charged); ext4 read-only incl. block, ea_inode, ACLs; ' +
  'procfs/hostfs: none; no POSIX ACLs on tmpfs';

export const xattrSyscalls: SyscallDefs = {
  setxattr: { handler: setxattr('path'), status: 'partial', note: NOTE },
  lsetxattr: { handler: setxattr('link'), status: 'partial', note: NOTE },
  fsetxattr: { handler: setxattr('fd'), status: 'partial', note: NOTE },
  getxattr: { handler: getxattr('path'), status: 'partial', note: NOTE },
  lgetxattr: { handler: getxattr('link'), status: 'partial', note: NOTE },
  fgetxattr: { handler: getxattr('fd'), status: 'partial', note: NOTE },
  listxattr: { handler: listxattr('path'), status: 'partial', note: NOTE },
  llistxattr: { handler: listxattr('link'), status: 'partial', note: NOTE },
  flistxattr: { handler: listxattr('fd'), status: 'partial', note: NOTE },
  removexattr: { handler: removexattr('path'), status: 'partial', note: NOTE },
  lremovexattr: { handler: removexattr('link'), status: 'partial', note: NOTE },
  fremovexattr: { handler: removexattr('fd'), status: 'partial', note: NOTE },
};
