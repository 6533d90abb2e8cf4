/** brk, mmap, munmap, mprotect, mremap, madvise, msync, mlock family. */
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, guestAddr } from '@lichen/machine';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyOut } from '../uaccess';
import { makedev } from '@lichen/vfs';
import { putFile, type KFile } from '../fs/file';
import { SharedPages, cachedPagesOf, pageCacheOf } from './shared';
import { ImagePages } from './image-pages';
import { immutableBytes } from '../process/exec';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  TASK_SIZE,
  pageUp,
  type Mm,
  type Vma,
} from './mm';

const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;

function sysBrk(_k: Kernel, t: Task, addr: number): number {
  const mm = t.mm;
  if (addr === 0 || addr < mm.brkStart) return mm.brk;
  const oldEnd = pageUp(mm.brk);
  const newEnd = pageUp(addr);
  if (newEnd > oldEnd) {
    if (newEnd - mm.brkStart > mm.quota) return mm.brk;
    if (mm.overlaps(oldEnd, newEnd)) return mm.brk;
    mm.mapAnon(oldEnd, newEnd - oldEnd, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, '[heap]');
  } else if (newEnd < oldEnd) {
    mm.unmap(newEnd, oldEnd - newEnd);
  }
  mm.brk = addr;
  return addr;
}

/** Picks the address for a new mapping (hint, MAP_FIXED, MAP_FIXED_NOREPLACE). */
function placeMapping(mm: Mm, addr: number, len: number, flags: number): number {
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (addr % PAGE_SIZE !== 0) throw new KernelError(Errno.EINVAL);
    if (addr + len > TASK_SIZE || addr < 4096) throw new KernelError(flags & MAP_FIXED ? Errno.EINVAL : Errno.ENOMEM);
    if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED) && mm.overlaps(addr, addr + len))
      throw new KernelError(Errno.EEXIST);
    return addr;
  }
  if (addr !== 0) {
    const a = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    if (a >= 0x10000 && a + len <= mm.mmapBase && !mm.overlaps(a, a + len)) return a;
  }
  return mm.findFree(len);
}

async function sysMmap(
  k: Kernel,
  t: Task,
  addr: number,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset: number,
): Promise<number> {
  const mm = t.mm;
  if (length === 0 || length > TASK_SIZE) return -Errno.EINVAL;
  if (offset % PAGE_SIZE !== 0 || offset < 0) return -Errno.EINVAL;
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return -Errno.EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return -Errno.EINVAL;
  const len = pageUp(length);
  if (len > mm.quota) return -Errno.ENOMEM;
  const start = placeMapping(mm, addr, len, flags);
  const keep = flags & (MAP_TYPE | MAP_ANONYMOUS | MAP_GROWSDOWN);
  if (flags & MAP_ANONYMOUS) {
    if (type === MAP_PRIVATE) mm.mapAnon(start, len, prot, keep, '');
    else mapSharedAnon(k, mm, start, len, prot, keep);
    return start;
  }
  const f = t.files.get(fd);
  const vf = f.vfsFile;
  if (!vf) return -Errno.ENODEV;
  if (!f.readable) return -Errno.EACCES;
  if (type !== MAP_PRIVATE && prot & PROT_WRITE && !f.writable) return -Errno.EACCES;
  const st = vf.stat();
  if ((st.mode & S_IFMT) === S_IFCHR && st.rdev === DEV_ZERO) {
    // /dev/zero: private is plain anonymous memory, shared is a new shared zero object (Linux shmem_zero_setup)
    if (type === MAP_PRIVATE) mm.mapAnon(start, len, prot, keep | MAP_ANONYMOUS, '');
    else mapSharedAnon(k, mm, start, len, prot, keep);
    return start;
  }
  if (type !== MAP_PRIVATE) return mapSharedFile(k, t, f, start, len, prot, flags, offset);
  // MAP_PRIVATE: a snapshot of the file (through the page cache when the file is mapped shared)
  const cached = vf.ops ? undefined : cachedPagesOf(k.memory, vf.node);
  const bytes = vf.ops || cached !== undefined ? null : await immutableBytes(k, vf);
  if (bytes !== null) {
    // a file that never changes (of the image): each page is copied from it on first touch
    if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED) && mm.overlaps(start, start + len)) return -Errno.EEXIST;
    const bias = start - offset;
    const pages = ImagePages.of(bytes, 'file', bias, () => [{ start: bias, end: bias + bytes.length, offset: 0 }]);
    const file = { ino: st.ino, dev: st.dev, offset };
    mm.mapAnon(start, len, prot, flags & (MAP_TYPE | MAP_GROWSDOWN), vf.vfs.pathOf(vf.path), file, pages);
    mm.fillFrom(start, Math.min(start + len, pageUp(bias + bytes.length)));
    return start;
  }
  const pages: Uint8Array[] = [];
  const npages = len / PAGE_SIZE;
  const fileEndPage = Math.ceil(Math.max(0, st.size - offset) / PAGE_SIZE);
  for (let i = 0; i < npages && i < fileEndPage; i++) {
    const page = await k.hostIo(vf.readPage(offset / PAGE_SIZE + i));
    cached?.overlay(offset + i * PAGE_SIZE, page);
    pages.push(page);
  }
  if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED) && mm.overlaps(start, start + len)) return -Errno.EEXIST;
  const name = vf.vfs.pathOf(vf.path);
  mm.mapAnon(start, len, prot, flags & (MAP_TYPE | MAP_GROWSDOWN), name, { ino: st.ino, dev: st.dev, offset });
  for (let i = 0; i < pages.length; i++) {
    if (mm.as.write(guestAddr(start + i * PAGE_SIZE), pages[i]) !== null) {
      mm.unmap(start, len);
      return -Errno.ENOMEM;
    }
  }
  return start;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFREG = 0o100000;
const DEV_ZERO = makedev(1, 5);

/** MAP_SHARED|MAP_ANONYMOUS (or /dev/zero): a new object, shared with children after fork. */
function mapSharedAnon(k: Kernel, mm: Mm, start: number, len: number, prot: number, flags: number): void {
  const obj = SharedPages.anonymous(k.memory, pageUp(len));
  mm.mapShared(start, len, prot, (flags & ~MAP_TYPE) | MAP_SHARED | MAP_ANONYMOUS, '/dev/zero (deleted)', obj, 0);
}

/**
 * MAP_SHARED of a regular file: the pages of the inode's page-cache object (created and
 * filled from the file on first use), so every shared mapping and read/write see one copy.
 */
async function mapSharedFile(
  k: Kernel,
  t: Task,
  f: KFile,
  start: number,
  len: number,
  prot: number,
  flags: number,
  offset: number,
): Promise<number> {
  const vf = f.vfsFile;
  if (vf === null || vf.ops) return -Errno.ENODEV;
  const st = vf.stat();
  if ((st.mode & S_IFMT) !== S_IFREG) return -Errno.ENODEV;
  const obj = pageCacheOf(k.memory).obtain(vf.node, () => {
    f.refs++;
    return { file: vf, drop: () => putFile(f) };
  });
  // Keep the object alive while its pages load (another process may unmap it meanwhile).
  const pin = { refault: (): void => {} };
  obj.attach(pin);
  try {
    // pages inside the file are read now (page-ins must not wait); the rest fault as zero or SIGBUS
    const first = offset / PAGE_SIZE;
    const end = Math.min(first + len / PAGE_SIZE, Math.ceil(st.size / PAGE_SIZE));
    for (let i = first; i < end; i++) {
      if (!obj.has(i) && !(await k.hostIo(obj.load(i)))) return -Errno.ENOMEM;
    }
    const mm = t.mm;
    if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED) && mm.overlaps(start, start + len)) return -Errno.EEXIST;
    const name = vf.vfs.pathOf(vf.path);
    mm.mapShared(start, len, prot, (flags & MAP_GROWSDOWN) | MAP_SHARED, name, obj, offset, {
      ino: st.ino,
      dev: st.dev,
      noWrite: !f.writable,
    });
    return start;
  } finally {
    obj.detach(pin);
  }
}

function sysMunmap(t: Task, addr: number, len: number): number {
  if (addr % PAGE_SIZE !== 0 || len === 0 || addr + len > TASK_SIZE) return -Errno.EINVAL;
  t.mm.unmap(addr, len);
  return 0;
}

function sysMprotect(k: Kernel, t: Task, addr: number, len: number, prot: number): number {
  if (addr % PAGE_SIZE !== 0) return -Errno.EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x01000000 | 0x02000000)) return -Errno.EINVAL;
  if (len === 0) return 0;
  if (addr + len > TASK_SIZE) return -Errno.ENOMEM;
  t.mm.protect(addr, len, prot & 7);
  k.cpu.invalidateCode(guestAddr(addr), pageUp(len));
  return 0;
}

function sysMremap(
  k: Kernel,
  t: Task,
  old: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr: number,
): number {
  const mm = t.mm;
  if (old % PAGE_SIZE !== 0) return -Errno.EINVAL;
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return -Errno.EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -Errno.EINVAL;
  oldLen = pageUp(oldLen);
  newLen = pageUp(newLen);
  if (newLen === 0) return -Errno.EINVAL;
  const vma = mm.find(old);
  if (!vma || (oldLen > 0 && vma.end < old + oldLen)) return -Errno.EFAULT;
  if (newLen > mm.quota) return -Errno.ENOMEM;
  if (!(flags & MREMAP_FIXED)) {
    if (newLen <= oldLen) {
      if (newLen < oldLen) mm.unmap(old + newLen, oldLen - newLen);
      return old;
    }
    // grow in place when the following range is free
    if (!mm.overlaps(old + oldLen, old + newLen) && old + newLen <= TASK_SIZE) {
      if (vma.obj !== undefined) mapSharedLike(mm, vma, old + oldLen, newLen - oldLen, old + oldLen);
      else mm.mapAnon(old + oldLen, newLen - oldLen, vma.prot, vma.flags, vma.name, undefined, vma.image);
      return old;
    }
    if (!(flags & MREMAP_MAYMOVE)) return -Errno.ENOMEM;
  }
  const dest = flags & MREMAP_FIXED ? newAddr : mm.findFree(newLen);
  if (dest % PAGE_SIZE !== 0) return -Errno.EINVAL;
  if (flags & MREMAP_FIXED) mm.unmap(dest, newLen);
  if (vma.obj !== undefined) {
    // shared: the new range maps the same object pages (old_size 0 makes a second mapping of them)
    mapSharedLike(mm, vma, dest, newLen, old);
  } else {
    // move: copy the old contents page by page (frames are shared, then the old range is unmapped)
    const copyLen = Math.min(oldLen, newLen);
    if (vma.image !== undefined) mm.materialize(old, old + copyLen);
    mm.mapAnon(dest, newLen, vma.prot, vma.flags, vma.name);
    for (let off = 0; off < copyLen; off += PAGE_SIZE) {
      const q = mm.as.query(guestAddr(old + off));
      if (q && q.frame >= 0) mm.as.mapFrame(guestAddr(dest + off), q.frame, vma.prot);
    }
  }
  if (!(flags & MREMAP_DONTUNMAP)) mm.unmap(old, oldLen);
  k.cpu.invalidateCode(guestAddr(old), oldLen);
  return dest;
}

/** Maps [dest, dest+len) to the object of shared `vma` from the object offset of address `from`. */
function mapSharedLike(mm: Mm, vma: Vma, dest: number, len: number, from: number): void {
  const obj = vma.obj as SharedPages;
  mm.mapShared(dest, len, vma.prot, vma.flags, vma.name, obj, vma.offset + (from - vma.start), {
    ino: vma.ino,
    dev: vma.dev,
    noWrite: vma.noWrite ?? false,
  });
}

const MADV_DONTNEED = 4;
const MADV_FREE = 8;
const MADV_REMOVE = 9;

function sysMadvise(t: Task, addr: number, len: number, advice: number): number {
  if (addr % PAGE_SIZE !== 0) return -Errno.EINVAL;
  len = pageUp(len);
  if (advice === MADV_DONTNEED || advice === MADV_FREE || advice === MADV_REMOVE) {
    // private pages read back as zero, shared pages are taken from their object again
    t.mm.discard(addr, addr + len);
    return 0;
  }
  if (advice < 0 || advice > 100) return -Errno.EINVAL;
  return 0;
}

const MS_ASYNC = 1;
const MS_INVALIDATE = 2;
const MS_SYNC = 4;

/** msync: writes the shared file pages of the range back (MS_ASYNC too: the write-back is cheap here). */
function sysMsync(k: Kernel, t: Task, addr: number, len: number, flags: number): number | Promise<number> {
  if (addr % PAGE_SIZE !== 0 || flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return -Errno.EINVAL;
  if (flags & MS_ASYNC && flags & MS_SYNC) return -Errno.EINVAL;
  const end = addr + pageUp(len);
  if (end > TASK_SIZE) return -Errno.ENOMEM;
  if (!t.mm.covers(addr, end)) return -Errno.ENOMEM;
  const files = t.mm.objectsIn(addr, end).filter((o) => o.isFile);
  if (files.length === 0) return 0;
  return (async () => {
    let failed = false;
    for (const o of files) {
      await k.hostIo(o.sync());
      if (o.takeError()) failed = true;
    }
    return failed ? -Errno.EIO : 0;
  })();
}

export const mmapSyscalls: SyscallDefs = {
  brk: { handler: (k, t, a) => sysBrk(k, t, a.x(0)) },
  mmap: {
    handler: (k, t, a) => sysMmap(k, t, a.x(0), a.x(1), a.i(2), a.i(3), a.i(4), a.l(5)),
    status: 'partial',
    note: 'MAP_SHARED: one frame per page for every mapping, files written back on msync/munmap/exit/run end; MAP_PRIVATE of a file: a snapshot (image files filled page by page on first touch, others copied at map time)',
  },
  munmap: { handler: (_k, t, a) => sysMunmap(t, a.x(0), a.x(1)) },
  mprotect: { handler: (k, t, a) => sysMprotect(k, t, a.x(0), a.x(1), a.i(2)) },
  mremap: { handler: (k, t, a) => sysMremap(k, t, a.x(0), a.x(1), a.x(2), a.i(3), a.x(4)) },
  madvise: {
    handler: (_k, t, a) => sysMadvise(t, a.x(0), a.x(1), a.i(2)),
    status: 'partial',
    note: 'DONTNEED/FREE/REMOVE: private pages read back as zero (file ones too), shared pages re-read their object; other advice ignored',
  },
  msync: { handler: (k, t, a) => sysMsync(k, t, a.x(0), a.x(1), a.i(2)) },
  mlock: { handler: () => 0 },
  munlock: { handler: () => 0 },
  mlockall: { handler: () => 0 },
  munlockall: { handler: () => 0 },
  mlock2: { handler: () => 0 },
  mincore: {
    handler: (_k, t, a) => {
      const addr = a.x(0);
      const len = pageUp(a.x(1));
      const vec = a.p(2);
      if (addr % PAGE_SIZE !== 0) return -Errno.EINVAL;
      const n = len / PAGE_SIZE;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const q = t.mm.as.query(guestAddr(addr + i * PAGE_SIZE));
        if (!q) return -Errno.ENOMEM;
        out[i] = q.frame >= 0 || q.frame === -2 ? 1 : 0; // a filled page's bytes exist (page cache)
      }
      copyOut(t.mm.as, vec, out);
      return 0;
    },
  },
};
