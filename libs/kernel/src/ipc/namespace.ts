/**
 * The System V IPC namespace of a VM (one per Kernel): the id tables of message queues,
 * semaphore arrays and shared memory segments, keys, Linux's id arithmetic and struct
 * ipc64_perm with its permission rules (ipc/util.c).
 */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { Task } from '../task';

export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const IPC_NOWAIT = 0o4000;

export const IPC_RMID = 0;
export const IPC_SET = 1;
export const IPC_STAT = 2;
export const IPC_INFO = 3;

/** Mode bits a user may set (S_IRWXUGO). */
const S_IRWXUGO = 0o777;
export const S_IRUGO = 0o444;
export const S_IWUGO = 0o222;
export const S_IXUGO = 0o111;

/** IPCMNI: an id is index + seq * 32768 (ipc_mni without ipcmni_extend). */
const IPCMNI_SHIFT = 15;
const IPCMNI = 1 << IPCMNI_SHIFT;
/** ipcid_seq_max(): INT_MAX >> IPCMNI_SHIFT. */
const SEQ_MAX = 0x7fffffff >> IPCMNI_SHIFT;
/** ipc_min_cycle: indexes are handed out cyclically below max(in_use * 3/2, 64). */
const MIN_CYCLE = 64;

/** Size of struct ipc64_perm on arm64 (asm-generic/ipcbuf.h). */
export const IPC64_PERM_SIZE = 48;

/** struct kern_ipc_perm: what every IPC object carries. */
export class IpcObject {
  id = -1;
  seq = 0;
  /** Set once removed (IPC_RMID): sleepers wake with EIDRM. */
  deleted = false;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  mode: number;
  ctime: number;

  constructor(
    public key: number,
    t: Task,
    flags: number,
    now: number,
  ) {
    const c = t.process.creds;
    this.uid = this.cuid = c.euid;
    this.gid = this.cgid = c.egid;
    this.mode = flags & S_IRWXUGO;
    this.ctime = now;
  }
}

/** One family's id table (struct ipc_ids): idr-style cyclic indexes and a sequence number. */
export class IpcIds<T extends IpcObject> {
  private readonly byIdx = new Map<number, T>();
  private seq = 0;
  private lastIdx = -1;
  /** idr_alloc_cyclic's cursor. */
  private next = 0;

  constructor(private readonly mni: () => number) {}

  get inUse(): number {
    return this.byIdx.size;
  }

  /** Highest index in use, -1 when empty (ipc_get_maxidx). */
  get maxIdx(): number {
    let m = -1;
    for (const i of this.byIdx.keys()) if (i > m) m = i;
    return m;
  }

  values(): IterableIterator<T> {
    return this.byIdx.values();
  }

  /** ipc_addid: ENOSPC when the family's limit of objects is reached. */
  add(obj: T): number {
    if (this.byIdx.size >= this.mni()) throw new KernelError(Errno.ENOSPC);
    const max = Math.min(Math.max(Math.floor((this.byIdx.size * 3) / 2), MIN_CYCLE), this.mni(), IPCMNI);
    let idx = -1;
    const start = this.next < max ? this.next : 0;
    for (let i = start; i < max; i++)
      if (!this.byIdx.has(i)) {
        idx = i;
        break;
      }
    if (idx < 0)
      for (let i = 0; i < start; i++)
        if (!this.byIdx.has(i)) {
          idx = i;
          break;
        }
    if (idx < 0) throw new KernelError(Errno.ENOSPC);
    this.next = idx + 1;
    if (idx <= this.lastIdx) {
      this.seq++;
      if (this.seq >= SEQ_MAX) this.seq = 0;
    }
    this.lastIdx = idx;
    obj.seq = this.seq;
    obj.id = this.seq * IPCMNI + idx;
    this.byIdx.set(idx, obj);
    return obj.id;
  }

  remove(obj: T): void {
    const idx = obj.id % IPCMNI;
    if (this.byIdx.get(idx) === obj) this.byIdx.delete(idx);
    obj.deleted = true;
  }

  findKey(key: number): T | undefined {
    for (const o of this.byIdx.values()) if (o.key === key) return o;
    return undefined;
  }

  /** ipc_obtain_object_idr: by the index part only (the *_STAT commands). */
  byIndex(id: number): T {
    if (id < 0) throw new KernelError(Errno.EINVAL);
    const o = this.byIdx.get(id % IPCMNI);
    if (o === undefined) throw new KernelError(Errno.EINVAL);
    return o;
  }

  /** ipc_obtain_object_check: the index and the sequence number must match (stale ids: EINVAL). */
  obtain(id: number): T {
    const o = this.byIndex(id);
    if (Math.floor(id / IPCMNI) !== o.seq) throw new KernelError(Errno.EINVAL);
    return o;
  }
}

/** ipcget: IPC_PRIVATE always creates; a key is looked up, created with IPC_CREAT, EEXIST with IPC_EXCL. */
export function ipcGet<T extends IpcObject>(
  ids: IpcIds<T>,
  t: Task,
  key: number,
  flags: number,
  create: () => T,
  moreChecks?: (o: T) => void,
): number {
  if (key !== IPC_PRIVATE) {
    const o = ids.findKey(key);
    if (o !== undefined) {
      if (flags & IPC_CREAT && flags & IPC_EXCL) throw new KernelError(Errno.EEXIST);
      moreChecks?.(o);
      if (!ipcPerms(t, o, flags)) throw new KernelError(Errno.EACCES);
      return o.id;
    }
    if (!(flags & IPC_CREAT)) throw new KernelError(Errno.ENOENT);
  }
  const o = create();
  return ids.add(o);
}

/** CAP_IPC_OWNER, CAP_SYS_ADMIN, CAP_IPC_LOCK, CAP_SYS_RESOURCE: Lichen gives capabilities to euid 0. */
export function capable(t: Task): boolean {
  return t.process.creds.euid === 0;
}

/** ipcperms: may `t` access `o` for the rwx bits in `flag` (any of the three triplets)? */
export function ipcPerms(t: Task, o: IpcObject, flag: number): boolean {
  const c = t.process.creds;
  const requested = ((flag >> 6) | (flag >> 3) | flag) & 7;
  let granted = o.mode;
  if (c.euid === o.cuid || c.euid === o.uid) granted >>= 6;
  else if (inGroup(t, o.cgid) || inGroup(t, o.gid)) granted >>= 3;
  return (requested & ~granted & 7) === 0 || capable(t);
}

function inGroup(t: Task, gid: number): boolean {
  const c = t.process.creds;
  return c.egid === gid || c.groups.includes(gid);
}

/** ipcctl_obtain_check's rule for IPC_SET/IPC_RMID: the owner, the creator or a capable task. */
export function checkOwner(t: Task, o: IpcObject): void {
  const euid = t.process.creds.euid;
  if (euid !== o.uid && euid !== o.cuid && !capable(t)) throw new KernelError(Errno.EPERM);
}

/** ipcctl_obtain_check: the object IPC_SET or IPC_RMID acts on (owner, creator or capable only). */
export function ctlTarget<T extends IpcObject>(ids: IpcIds<T>, t: Task, id: number): T {
  const o = ids.obtain(id);
  checkOwner(t, o);
  return o;
}

/**
 * The object IPC_STAT (by id) or *_STAT / *_STAT_ANY (by index) reports, after the read
 * permission check (*_STAT_ANY skips it).
 */
export function statTarget<T extends IpcObject>(ids: IpcIds<T>, t: Task, id: number, cmd: number, anyCmd: number): T {
  const o = cmd === IPC_STAT ? ids.obtain(id) : ids.byIndex(id);
  if (cmd !== anyCmd && !ipcPerms(t, o, S_IRUGO)) throw new KernelError(Errno.EACCES);
  return o;
}

/** The fields of a user ipc64_perm IPC_SET applies (uid, gid, the low 9 mode bits). */
export function setPerm(o: IpcObject, v: DataView, now: number): void {
  const uid = v.getUint32(4, true);
  const gid = v.getUint32(8, true);
  if (uid === 0xffffffff || gid === 0xffffffff) throw new KernelError(Errno.EINVAL);
  o.uid = uid;
  o.gid = gid;
  o.mode = (o.mode & ~S_IRWXUGO) | (v.getUint32(20, true) & S_IRWXUGO);
  o.ctime = now;
}

/** Writes struct ipc64_perm at `off`. */
export function putPerm(v: DataView, off: number, o: IpcObject): void {
  v.setInt32(off, o.key, true);
  v.setUint32(off + 4, o.uid, true);
  v.setUint32(off + 8, o.gid, true);
  v.setUint32(off + 12, o.cuid, true);
  v.setUint32(off + 16, o.cgid, true);
  v.setUint32(off + 20, o.mode, true);
  v.setUint16(off + 24, o.seq & 0xffff, true);
}

/** Writes a (non-negative) 64-bit long at `off`. */
export function putLong(v: DataView, off: number, n: number): void {
  v.setBigInt64(off, BigInt(Math.trunc(n)), true);
}

/** Seconds of CLOCK_REALTIME (the *_time fields). */
export function nowSec(k: Kernel): number {
  return k.clock.realtime().sec;
}

/** One `T` per VM (the family's part of the IPC namespace), made on first use; `peek` never makes it. */
export function perVm<T>(make: () => T): ((k: Kernel) => T) & { peek(k: Kernel): T | undefined } {
  const all = new WeakMap<Kernel, T>();
  const get = (k: Kernel): T => {
    let v = all.get(k);
    if (v === undefined) {
      v = make();
      all.set(k, v);
    }
    return v;
  };
  return Object.assign(get, { peek: (k: Kernel): T | undefined => all.get(k) });
}
