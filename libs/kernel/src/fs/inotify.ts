/**
 * inotify: inotify_init1, inotify_add_watch, inotify_rm_watch and the instance fd (read of
 * struct inotify_event records, FIONREAD, poll/epoll). Events come from the VFS's one
 * notification hook (Vfs.notifier, active while Vfs.watches > 0), so every process of the VM
 * is seen. Delivery follows fs/notify: a watched directory gets its children's events with
 * the name before the child's own watch; identical consecutive queued events merge; a full
 * queue (16384 events) ends with one IN_Q_OVERFLOW; removed watches queue IN_IGNORED.
 */
import {
  type FsNotifyListener,
  IN_ALL_EVENTS,
  IN_CHILD_EVENTS,
  IN_DELETE_SELF,
  IN_IGNORED,
  IN_ISDIR,
  IN_Q_OVERFLOW,
  IN_UNMOUNT,
  isDir,
  R_OK,
  type Stat,
  type Vfs,
  type VNode,
} from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { readPath, userAddr, writeI32 } from '../uaccess';
import { anonStat, KFile, newAnonIno, O_CLOEXEC, O_NONBLOCK, O_RDONLY, POLLIN, POLLRDNORM } from './file';

const IN_ONLYDIR = 0x1000000;
const IN_DONT_FOLLOW = 0x2000000;
const IN_EXCL_UNLINK = 0x4000000;
const IN_MASK_CREATE = 0x10000000;
const IN_MASK_ADD = 0x20000000;
const IN_ONESHOT = 0x80000000;
const ALL_INOTIFY_BITS =
  (IN_ALL_EVENTS |
    IN_UNMOUNT |
    IN_Q_OVERFLOW |
    IN_IGNORED |
    IN_ONLYDIR |
    IN_DONT_FOLLOW |
    IN_EXCL_UNLINK |
    IN_MASK_CREATE |
    IN_MASK_ADD |
    IN_ISDIR |
    IN_ONESHOT) >>>
  0;
/** The bits a watch keeps (events and IN_EXCL_UNLINK / IN_ONESHOT). */
const WATCH_BITS = (IN_ALL_EVENTS | IN_EXCL_UNLINK | IN_ONESHOT) >>> 0;
const FIONREAD = 0x541b;
/** /proc/sys/fs/inotify defaults. */
const MAX_QUEUED_EVENTS = 16384;
const MAX_USER_INSTANCES = 128;
const MAX_USER_WATCHES = 8192;
const EVENT_SIZE = 16;
/** Bookkeeping bytes charged per queued event besides its record (the VM's memory quota). */
const EVENT_COST = 64;

interface Watch {
  readonly inst: InotifyFile;
  readonly wd: number;
  readonly node: VNode;
  mask: number;
}

interface QueuedEvent {
  wd: number;
  mask: number;
  cookie: number;
  name: string;
}

/** Bytes of one record: the header and the name NUL-padded to a multiple of 16 (round_event_name_len). */
function recordSize(e: QueuedEvent): number {
  return EVENT_SIZE + (e.name.length === 0 ? 0 : (e.name.length + 1 + 15) & ~15);
}

/** All watches of one VM (one per Vfs), indexed by inode. */
export class InotifyHub implements FsNotifyListener {
  readonly byNode = new Map<VNode, Watch[]>();
  /** Instances per uid (max_user_instances) and watches per uid (max_user_watches). */
  readonly instances = new Map<number, number>();
  readonly watchCount = new Map<number, number>();

  constructor(readonly vfs: Vfs) {
    vfs.notifier = this;
  }

  add(w: Watch): void {
    const list = this.byNode.get(w.node);
    if (list) list.push(w);
    else this.byNode.set(w.node, [w]);
    this.vfs.watches++;
  }
  remove(w: Watch): void {
    const list = this.byNode.get(w.node);
    if (!list) return;
    const i = list.indexOf(w);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byNode.delete(w.node);
    this.vfs.watches--;
  }

  nodeEvent(node: VNode, mask: number, parent: VNode | null, name: string, unlinked: boolean): void {
    if (parent && mask & IN_CHILD_EVENTS) {
      const pw = this.byNode.get(parent);
      if (pw) for (const w of [...pw]) this.deliver(w, mask, name, 0, unlinked);
    }
    const own = this.byNode.get(node);
    if (own) for (const w of [...own]) this.deliver(w, mask, '', 0, unlinked);
    if (mask & IN_DELETE_SELF) {
      // The inode is gone: its watches end (IN_IGNORED).
      for (const w of this.byNode.get(node) ?? []) w.inst.dropWatch(w);
    }
  }

  dirEvent(dir: VNode, mask: number, name: string, cookie: number): void {
    const list = this.byNode.get(dir);
    if (list) for (const w of [...list]) this.deliver(w, mask, name, cookie, false);
  }

  private deliver(w: Watch, mask: number, name: string, cookie: number, unlinked: boolean): void {
    if ((w.mask & mask & IN_ALL_EVENTS) === 0) return;
    if (unlinked && w.mask & IN_EXCL_UNLINK) return;
    w.inst.queue({ wd: w.wd, mask: mask & (IN_ALL_EVENTS | IN_ISDIR), cookie, name });
    if (w.mask & IN_ONESHOT) w.inst.dropWatch(w);
  }
}

const hubs = new WeakMap<Vfs, InotifyHub>();
/** The watches of one VM (created on the first inotify_init1; exported for tests). */
export function hubOf(vfs: Vfs): InotifyHub {
  let h = hubs.get(vfs);
  if (!h) {
    h = new InotifyHub(vfs);
    hubs.set(vfs, h);
  }
  return h;
}

/** An inotify instance (anon_inode:inotify). */
export class InotifyFile extends KFile {
  private readonly events: QueuedEvent[] = [];
  private head = 0;
  private bytes = 0;
  private overflowQueued = false;
  private readonly watches = new Map<number, Watch>();
  private readonly byNode = new Map<VNode, Watch>();
  private nextWd = 1;
  private readonly ino = newAnonIno();

  /** Bytes charged to the VM's memory quota for the queued events. */
  private charged = 0;

  constructor(
    private readonly hub: InotifyHub,
    private readonly uid: number,
    flags: number,
    /** Charges (positive) or returns (negative) kernel memory; false when the quota is exhausted. */
    private readonly charge: (bytes: number) => boolean,
  ) {
    super(O_RDONLY | (flags & O_NONBLOCK));
  }

  describe(): string {
    return 'anon_inode:inotify';
  }
  stat(): Stat {
    return anonStat(0o600, this.ino);
  }

  private get length(): number {
    return this.events.length - this.head;
  }

  /**
   * fsnotify_insert_event: overflow first, then a merge with the tail, else append. Queued
   * events are charged to the VM's memory quota; an event the quota cannot hold is an overflow.
   */
  queue(e: QueuedEvent): void {
    let overflow = this.length >= MAX_QUEUED_EVENTS;
    if (!overflow) {
      const last = this.length > 0 ? this.events[this.events.length - 1] : null;
      if (last && !(last.mask & IN_IGNORED) && last.mask === e.mask && last.wd === e.wd && last.name === e.name) return;
      const cost = recordSize(e) + EVENT_COST;
      if (this.charge(cost)) this.charged += cost;
      else overflow = true;
    }
    if (overflow) {
      if (this.overflowQueued) return;
      this.overflowQueued = true;
      e = { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: '' };
    }
    this.events.push(e);
    this.bytes += recordSize(e);
    this.pollWq.wakeAll();
  }

  /** inotify_add_watch on a resolved node. Returns the wd. */
  addWatch(node: VNode, mask: number): number {
    const bits = mask & WATCH_BITS;
    const old = this.byNode.get(node);
    if (old) {
      if (mask & IN_MASK_CREATE) throw new KernelError(Errno.EEXIST);
      old.mask = mask & IN_MASK_ADD ? old.mask | bits : bits;
      return old.wd;
    }
    const used = this.hub.watchCount.get(this.uid) ?? 0;
    if (used >= MAX_USER_WATCHES) throw new KernelError(Errno.ENOSPC);
    this.hub.watchCount.set(this.uid, used + 1);
    const w: Watch = { inst: this, wd: this.nextWd++, node, mask: bits };
    this.watches.set(w.wd, w);
    this.byNode.set(node, w);
    this.hub.add(w);
    return w.wd;
  }

  rmWatch(wd: number): void {
    const w = this.watches.get(wd);
    if (!w) throw new KernelError(Errno.EINVAL);
    this.dropWatch(w);
  }

  /** Ends a watch (rm_watch, IN_ONESHOT, deleted inode): IN_IGNORED is queued. */
  dropWatch(w: Watch): void {
    if (this.watches.get(w.wd) !== w) return;
    this.forget(w);
    this.queue({ wd: w.wd, mask: IN_IGNORED, cookie: 0, name: '' });
  }
  private forget(w: Watch): void {
    this.watches.delete(w.wd);
    this.byNode.delete(w.node);
    this.hub.remove(w);
    this.hub.watchCount.set(this.uid, (this.hub.watchCount.get(this.uid) ?? 1) - 1);
  }

  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (this.length === 0) {
      if (this.nonblock) throw new KernelError(Errno.EAGAIN);
      return (async () => {
        while (this.length === 0) await t.sleep([this.pollWq]);
        return this.take(len);
      })();
    }
    return this.take(len);
  }

  /** Whole records that fit in `len` bytes; EINVAL when not even the first one does. */
  private take(len: number): Uint8Array {
    let size = 0;
    let n = 0;
    while (this.head + n < this.events.length) {
      const r = recordSize(this.events[this.head + n]);
      if (size + r > len) break;
      size += r;
      n++;
    }
    if (n === 0) throw new KernelError(Errno.EINVAL);
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    let o = 0;
    for (let i = 0; i < n; i++) {
      const e = this.events[this.head + i];
      const r = recordSize(e);
      dv.setInt32(o, e.wd, true);
      dv.setUint32(o + 4, e.mask >>> 0, true);
      dv.setUint32(o + 8, e.cookie >>> 0, true);
      dv.setUint32(o + 12, r - EVENT_SIZE, true);
      for (let j = 0; j < e.name.length; j++) out[o + EVENT_SIZE + j] = e.name.charCodeAt(j);
      if (e.mask === IN_Q_OVERFLOW && e.wd === -1) this.overflowQueued = false;
      else this.uncharge(r + EVENT_COST);
      o += r;
    }
    this.head += n;
    this.bytes -= size;
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
    return out;
  }

  override ioctl(t: Task, cmd: number, arg: number): number {
    if (cmd === FIONREAD) {
      writeI32(t.mm.as, userAddr(arg), this.bytes);
      return 0;
    }
    throw new KernelError(Errno.ENOTTY);
  }

  override poll(events: number): number {
    return this.length > 0 ? events & (POLLIN | POLLRDNORM) : 0;
  }

  private uncharge(bytes: number): void {
    this.charged -= bytes;
    this.charge(-bytes);
  }

  override release(): void {
    for (const w of [...this.watches.values()]) this.forget(w);
    this.events.length = 0;
    this.head = 0;
    this.bytes = 0;
    if (this.charged > 0) this.uncharge(this.charged);
    this.hub.instances.set(this.uid, (this.hub.instances.get(this.uid) ?? 1) - 1);
  }
}

function inotifyOf(t: Task, fd: number): InotifyFile {
  const f = t.files.get(fd);
  if (!(f instanceof InotifyFile)) throw new KernelError(Errno.EINVAL);
  return f;
}

export const inotifySyscalls: SyscallDefs = {
  inotify_init1: {
    handler: (k, t, a) => {
      const flags = a.i(0);
      if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -Errno.EINVAL;
      const hub = hubOf(k.vfs);
      const uid = t.process.creds.uid;
      const n = hub.instances.get(uid) ?? 0;
      if (n >= MAX_USER_INSTANCES) return -Errno.EMFILE;
      hub.instances.set(uid, n + 1);
      const file = new InotifyFile(hub, uid, flags, (bytes) => k.chargeExtra(bytes));
      return k.allocFd(t, file, (flags & O_CLOEXEC) !== 0);
    },
    status: 'partial',
    note: 'events of every process from the VFS; no IN_UNMOUNT; mmap and exec reads report no IN_ACCESS',
  },
  inotify_add_watch: {
    handler: async (k: Kernel, t: Task, a) => {
      const fd = a.i(0);
      const pathPtr = a.p(1);
      const mask = a.u(2);
      if (mask & IN_MASK_ADD && mask & IN_MASK_CREATE) return -Errno.EINVAL;
      if ((mask & ALL_INOTIFY_BITS) === 0) return -Errno.EINVAL;
      const inst = inotifyOf(t, fd);
      const path = readPath(t.mm.as, pathPtr);
      const ctx = t.process.fs.ctx;
      const p = await k.hostIo(
        k.vfs.resolve(ctx, undefined, path, {
          follow: (mask & IN_DONT_FOLLOW) === 0,
          directory: (mask & IN_ONLYDIR) !== 0,
        }),
      );
      k.vfs.permission(ctx, p, R_OK);
      const node = p.dentry.node;
      if (!node) return -Errno.ENOENT;
      if (mask & IN_ONLYDIR && !isDir(node.attr().mode)) return -Errno.ENOTDIR;
      return inst.addWatch(node, mask);
    },
  },
  inotify_rm_watch: {
    handler: (_k, t, a) => {
      inotifyOf(t, a.i(0)).rmWatch(a.i(1));
      return 0;
    },
  },
};
