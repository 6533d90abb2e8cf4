/**
 * System V shared memory (ipc/shm.c): shmget, shmat, shmdt, shmctl. A segment is an anonymous
 * shared object (`SharedPages`, as MAP_SHARED|MAP_ANONYMOUS): its frames are allocated on first
 * touch, counted once against the VM's memory, and handed to every attachment by the pager.
 * Attachments are MAP_SHARED VMAs on the object, so fork inherits them and exec/exit drop them;
 * shm_nattch is the number of such VMAs. The segment holds the object itself until IPC_RMID;
 * a removed segment that is still attached lives on (SHM_DEST, key IPC_PRIVATE) until the last
 * attachment goes.
 */
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '@lichen/machine';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import { MAP_SHARED, Mm, TASK_SIZE, pageUp } from '../mm/mm';
import { SharedPages, type SharedUser } from '../mm/shared';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, type UserAddr } from '../uaccess';
import {
  IPC_INFO,
  IPC_PRIVATE,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  IpcIds,
  IpcObject,
  S_IRUGO,
  S_IWUGO,
  S_IXUGO,
  capable,
  ctlTarget,
  statTarget,
  ipcGet,
  ipcPerms,
  nowSec,
  perVm,
  putLong,
  putPerm,
  setPerm,
} from './namespace';

/** Limits (/proc/sys/kernel/shmmax, shmall, shmmni): ULONG_MAX - 2^24 bytes/pages, 4096 ids. */
export const SHMMAX = (1n << 64n) - (1n << 24n) - 1n;
export const SHMALL = SHMMAX;
export const SHMMNI = 4096;
const SHMMIN = 1;
const SHMSEG = SHMMNI;
/** SHMLBA on arm64 (native tasks): one page. */
const SHMLBA = PAGE_SIZE;

const SHM_DEST = 0o1000;
const SHM_LOCKED = 0o2000;
const SHM_RDONLY = 0o10000;
const SHM_RND = 0o20000;
const SHM_REMAP = 0o40000;
const SHM_EXEC = 0o100000;

const SHM_LOCK = 11;
const SHM_UNLOCK = 12;
const SHM_STAT = 13;
const SHM_INFO = 14;
const SHM_STAT_ANY = 15;

const SHMID64_DS_SIZE = 112;
const SHMINFO64_SIZE = 72;
const SHM_INFO_SIZE = 48;

const RLIMIT_MEMLOCK = 8;

class ShmSegment extends IpcObject implements SharedUser {
  readonly obj: SharedPages;
  atime = 0;
  dtime = 0;
  lpid = 0;
  readonly cpid: number;

  constructor(
    k: Kernel,
    key: number,
    t: Task,
    flags: number,
    readonly size: number,
  ) {
    super(key, t, flags, nowSec(k));
    this.cpid = t.pid;
    this.obj = SharedPages.anonymous(k.memory, size);
    this.obj.attach(this); // the segment keeps its pages while it exists, attached or not
  }

  get pages(): number {
    return Math.ceil(this.size / PAGE_SIZE);
  }

  /** shm_nattch: VMAs of any address space on the segment. */
  get nattch(): number {
    let n = 0;
    for (const u of this.obj.users) if (u instanceof Mm) for (const v of u.vmas) if (v.obj === this.obj) n++;
    return n;
  }

  refault(): void {
    // anonymous objects are never truncated
  }
}

class ShmNamespace {
  readonly ids = new IpcIds<ShmSegment>(() => SHMMNI);
  readonly byObj = new WeakMap<SharedPages, ShmSegment>();
  /** Pages of all segments (shm_tot). */
  totPages = 0;

  /** Forgets removed segments whose last attachment went (the pages are already free). */
  reap(): void {
    for (const s of [...this.ids.values()]) if (s.mode & SHM_DEST && s.nattch === 0) this.destroy(s);
  }

  destroy(s: ShmSegment): void {
    this.ids.remove(s);
    this.totPages -= s.pages;
    s.obj.detach(s);
  }
}

const ns = perVm(() => new ShmNamespace());

function sysShmget(k: Kernel, t: Task, key: number, size: bigint, flags: number): number {
  const n = ns(k);
  n.reap();
  return ipcGet(
    n.ids,
    t,
    key,
    flags,
    () => {
      if (size < SHMMIN || size > SHMMAX) throw new KernelError(Errno.EINVAL);
      const pages = (size + BigInt(PAGE_SIZE - 1)) / BigInt(PAGE_SIZE);
      if (BigInt(n.totPages) + pages > SHMALL) throw new KernelError(Errno.ENOSPC);
      // the overcommit heuristic: one segment larger than the VM's memory cannot be backed
      if (size > BigInt(t.mm.quota)) throw new KernelError(Errno.ENOMEM);
      if (n.ids.inUse >= SHMMNI) throw new KernelError(Errno.ENOSPC);
      const s = new ShmSegment(k, key, t, flags, Number(size));
      n.byObj.set(s.obj, s);
      n.totPages += s.pages;
      return s;
    },
    (s) => {
      if (BigInt(s.size) < size) throw new KernelError(Errno.EINVAL);
    },
  );
}

function sysShmat(k: Kernel, t: Task, id: number, addr: number, flags: number): number {
  if (id < 0) return -Errno.EINVAL;
  const fixed = addr !== 0;
  if (fixed) {
    if (addr % SHMLBA !== 0) {
      if (!(flags & SHM_RND)) return -Errno.EINVAL;
      addr -= addr % SHMLBA;
      if (addr === 0 && flags & SHM_REMAP) return -Errno.EINVAL;
    }
  } else if (flags & SHM_REMAP) return -Errno.EINVAL;
  let prot = PROT_READ;
  let acc = S_IRUGO;
  if (!(flags & SHM_RDONLY)) {
    prot |= PROT_WRITE;
    acc |= S_IWUGO;
  }
  if (flags & SHM_EXEC) {
    prot |= PROT_EXEC;
    acc |= S_IXUGO;
  }
  const n = ns(k);
  n.reap();
  const s = n.ids.obtain(id);
  if (!ipcPerms(t, s, acc)) return -Errno.EACCES;
  const mm = t.mm;
  const len = pageUp(s.size);
  if (addr !== 0 && !(flags & SHM_REMAP) && mm.overlaps(addr, addr + s.size)) return -Errno.EINVAL;
  if (len > mm.quota) return -Errno.ENOMEM;
  let start: number;
  if (fixed) {
    if (addr + len > TASK_SIZE) return -Errno.ENOMEM;
    if (addr < PAGE_SIZE) return -Errno.EPERM; // below mmap_min_addr
    start = addr;
  } else start = mm.findFree(len);
  const name = `/SYSV${(s.key >>> 0).toString(16).padStart(8, '0')}`;
  mm.mapShared(start, len, prot, MAP_SHARED, name, s.obj, 0, { ino: s.id, dev: 0, noWrite: !(prot & PROT_WRITE) });
  s.atime = nowSec(k);
  s.lpid = t.pid;
  return start;
}

function sysShmdt(k: Kernel, t: Task, addr: number): number {
  if (addr % PAGE_SIZE !== 0) return -Errno.EINVAL;
  const n = ns(k);
  const mm = t.mm;
  const vmas = mm.vmas.filter((v) => v.end > addr);
  // the first attachment whose start lies at its own offset from addr (fragments included)
  const matches = (v: (typeof vmas)[number]): boolean => v.start >= addr && v.start - addr === v.offset;
  let i = 0;
  let seg: ShmSegment | undefined;
  for (; i < vmas.length; i++) {
    const v = vmas[i];
    const s = v.obj && n.byObj.get(v.obj);
    if (s !== undefined && matches(v)) {
      seg = s;
      mm.unmap(v.start, v.end - v.start);
      i++;
      break;
    }
  }
  if (seg === undefined) return -Errno.EINVAL;
  const size = pageUp(seg.size);
  for (; i < vmas.length && vmas[i].end - addr <= size; i++) {
    const v = vmas[i];
    if (v.obj === seg.obj && matches(v)) mm.unmap(v.start, v.end - v.start);
  }
  seg.dtime = nowSec(k);
  seg.lpid = t.pid;
  n.reap();
  return 0;
}

function statSegment(s: ShmSegment): Uint8Array {
  const b = new Uint8Array(SHMID64_DS_SIZE);
  const v = new DataView(b.buffer);
  putPerm(v, 0, s);
  putLong(v, 48, s.size);
  putLong(v, 56, s.atime);
  putLong(v, 64, s.dtime);
  putLong(v, 72, s.ctime);
  v.setInt32(80, s.cpid, true);
  v.setInt32(84, s.lpid, true);
  putLong(v, 88, s.nattch);
  return b;
}

function sysShmctl(k: Kernel, t: Task, id: number, cmd: number, buf: UserAddr): number {
  if (cmd < 0 || id < 0) return -Errno.EINVAL;
  const n = ns(k);
  n.reap();
  const as = t.mm.as;
  switch (cmd) {
    case IPC_INFO: {
      const b = new Uint8Array(SHMINFO64_SIZE);
      const v = new DataView(b.buffer);
      v.setBigUint64(0, SHMMAX, true);
      putLong(v, 8, SHMMIN);
      putLong(v, 16, SHMMNI);
      putLong(v, 24, SHMSEG);
      v.setBigUint64(32, SHMALL, true);
      copyOut(as, buf, b);
      return Math.max(n.ids.maxIdx, 0);
    }
    case SHM_INFO: {
      const b = new Uint8Array(SHM_INFO_SIZE);
      const v = new DataView(b.buffer);
      let rss = 0;
      for (const s of n.ids.values()) for (let i = 0; i < s.pages; i++) if (s.obj.has(i)) rss++;
      v.setInt32(0, n.ids.inUse, true);
      putLong(v, 8, n.totPages);
      putLong(v, 16, rss);
      copyOut(as, buf, b);
      return Math.max(n.ids.maxIdx, 0);
    }
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY: {
      const s = statTarget(n.ids, t, id, cmd, SHM_STAT_ANY);
      copyOut(as, buf, statSegment(s));
      return cmd === IPC_STAT ? 0 : s.id;
    }
    case SHM_LOCK:
    case SHM_UNLOCK: {
      const s = n.ids.obtain(id);
      if (!capable(t)) {
        const euid = t.process.creds.euid;
        if (euid !== s.uid && euid !== s.cuid) return -Errno.EPERM;
        if (cmd === SHM_LOCK && t.process.rlimits[RLIMIT_MEMLOCK].cur === 0) return -Errno.EPERM;
      }
      if (cmd === SHM_LOCK) s.mode |= SHM_LOCKED;
      else s.mode &= ~SHM_LOCKED;
      return 0;
    }
    case IPC_SET: {
      const v = new DataView(copyIn(as, buf, SHMID64_DS_SIZE).buffer);
      setPerm(ctlTarget(n.ids, t, id), v, nowSec(k));
      return 0;
    }
    case IPC_RMID: {
      const s = ctlTarget(n.ids, t, id);
      if (s.nattch === 0) n.destroy(s);
      else if (!(s.mode & SHM_DEST)) {
        s.mode |= SHM_DEST;
        s.key = IPC_PRIVATE;
        s.obj.detach(s); // the pages go with the last attachment
      }
      return 0;
    }
    default:
      return -Errno.EINVAL;
  }
}

export const shmSyscalls: SyscallDefs = {
  shmget: { handler: (k, t, a) => sysShmget(k, t, a.i(0), a.big(1), a.i(2)) },
  shmat: {
    handler: (k, t, a) => sysShmat(k, t, a.i(0), a.x(1), a.i(2)),
    note: 'SHM_RDONLY/RND/REMAP/EXEC; attachments are shared VMAs (inherited by fork, dropped at exec/exit)',
  },
  shmdt: { handler: (k, t, a) => sysShmdt(k, t, a.x(0)) },
  shmctl: {
    handler: (k, t, a) => sysShmctl(k, t, a.i(0), a.i(1), a.p(2)),
    status: 'partial',
    note: 'IPC_STAT/SET/RMID/INFO, SHM_INFO/STAT/STAT_ANY/LOCK/UNLOCK (LOCK only sets SHM_LOCKED: nothing is swapped anyway); shm_atime/lpid are not updated by fork, nor shm_dtime/lpid by exit/exec',
  },
};
