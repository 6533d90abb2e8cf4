/**
 * memfd_create: an anonymous regular file on a kernel-private tmpfs (its bytes count against
 * the VM's memory quota like any tmpfs file). It reads, writes, truncates, stats and maps like
 * a tmpfs file; MAP_SHARED mappings of it go through the page cache (mm/shared.ts), so forked
 * children and other mappings share its pages. /proc/self/fd shows "/memfd:NAME (deleted)".
 */
import { Dentry, Mount, O_LARGEFILE, O_RDWR, OpenFile, S_IFREG, TmpFs, VfsError } from '@lichen/vfs';
import { Errno } from '../errno';
import { VfsFile } from '../fs/vfs-file';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { readCString, type UserAddr } from '../uaccess';

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_HUGETLB = 0x4;
const MFD_NOEXEC_SEAL = 0x8;
const MFD_EXEC = 0x10;
/** Linux: the name (without the "memfd:" prefix) is at most 249 bytes. */
const MFD_NAME_MAX = 249;

/** The private tmpfs of each kernel, mounted nowhere (its files are reachable only by fd). */
const memfdMounts = new WeakMap<Kernel, { fs: TmpFs; mnt: Mount }>();

function memfdMount(k: Kernel): { fs: TmpFs; mnt: Mount } {
  let m = memfdMounts.get(k);
  if (m === undefined) {
    const fs = new TmpFs({
      source: 'memfd',
      account: {
        charge: (n: number): void => {
          if (!k.chargeExtra(n)) throw new VfsError(Errno.ENOSPC, 'memory quota exhausted');
        },
        uncharge: (n: number): void => void k.chargeExtra(-n),
      },
    });
    // Hung below the namespace root without being in its mount list: path walks never reach it,
    // while pathOf() names a memfd "/memfd:NAME (deleted)" as Linux does.
    const root = k.vfs.rootRef();
    const mnt = new Mount(-1, fs, new Dentry('/', null, fs.rootSync()), root.mnt, root.dentry, 0);
    m = { fs, mnt };
    memfdMounts.set(k, m);
  }
  return m;
}

function sysMemfdCreate(k: Kernel, t: Task, namePtr: UserAddr, flags: number): number {
  if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)) return -Errno.EINVAL;
  if (flags & MFD_EXEC && flags & MFD_NOEXEC_SEAL) return -Errno.EINVAL;
  const name = readCString(t.mm.as, namePtr, MFD_NAME_MAX, Errno.EINVAL);
  const { fs, mnt } = memfdMount(k);
  const c = t.process.creds;
  const node = fs.newNode({ mode: S_IFREG | 0o777, uid: c.euid, gid: c.egid, rdev: 0 });
  const dentry = new Dentry(`memfd:${name}`, mnt.root, node);
  dentry.deleted = true;
  const file = new VfsFile(k, new OpenFile(k.vfs, { mnt, dentry }, O_RDWR | O_LARGEFILE, undefined));
  try {
    return t.files.alloc(file, (flags & MFD_CLOEXEC) !== 0);
  } catch (e) {
    void file.release();
    throw e;
  }
}

export const memfdSyscalls: SyscallDefs = {
  memfd_create: {
    handler: (k, t, a) => sysMemfdCreate(k, t, a.p(0), a.u(1)),
    status: 'partial',
    note: 'a file on a private, quota-charged tmpfs; no file seals (F_ADD_SEALS is EINVAL); MFD_HUGETLB gives normal pages',
  },
};
