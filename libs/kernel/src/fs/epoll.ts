/** epoll (level-triggered, EPOLLET, EPOLLONESHOT), timerfd, signalfd. */
import type { Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import { dequeueSignal } from '../signal/deliver';
import { UNBLOCKABLE, encodeSigInfo } from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import type { Timer } from '../time/clock';
import { nsToTimespec, readTimespec } from '../time/timespec';
import { copyIn, copyOut, readU64Big, type UserAddr } from '../uaccess';
import { WaitQueue } from '../wait';
import { KFile, O_CLOEXEC, O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN, anonStat, newAnonIno } from './file';

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLET = 1 << 31;
const EPOLLONESHOT = 1 << 30;
const EPOLLEXCLUSIVE = 1 << 28;

interface Interest {
  fd: number;
  file: KFile;
  events: number;
  data: bigint;
  /** Edge-triggered: the readiness last reported (reported again only after a change). */
  lastReady: number;
  lastSeq: number;
  disabled: boolean;
}

export class EpollFile extends KFile {
  readonly interests = new Map<KFile, Map<number, Interest>>();
  private readonly ino = newAnonIno();
  constructor(flags: number) {
    super(O_RDWR | flags);
  }
  describe(): string {
    return 'anon_inode:[eventpoll]';
  }
  stat(): Stat {
    return anonStat(0o600, this.ino);
  }
  all(): Interest[] {
    const out: Interest[] = [];
    for (const m of this.interests.values()) for (const i of m.values()) out.push(i);
    return out;
  }
  /** Ready events of every interest (level or edge rules applied when `consume`). */
  collect(max: number, consume: boolean): { events: number; data: bigint }[] {
    const out: { events: number; data: bigint }[] = [];
    for (const i of this.all()) {
      if (out.length >= max) break;
      if (i.disabled) continue;
      const ready = i.file.poll(i.events | POLLERR | POLLHUP) & (i.events | POLLERR | POLLHUP);
      if (i.events & EPOLLET) {
        const fresh = (ready & ~i.lastReady) !== 0 || (ready !== 0 && i.file.pollWq.seq !== i.lastSeq);
        if (consume) {
          i.lastReady = ready;
          i.lastSeq = i.file.pollWq.seq;
        }
        if (!fresh) continue;
      }
      if (!ready) continue;
      out.push({ events: ready, data: i.data });
      if (consume && i.events & EPOLLONESHOT) i.disabled = true;
    }
    return out;
  }
  override poll(events: number): number {
    return this.collect(1, false).length > 0 ? events & POLLIN : 0;
  }
  queues(): WaitQueue[] {
    return this.all().map((i) => i.file.pollWq);
  }
  override release(): void {
    this.interests.clear();
  }
}

function epollCtl(t: Task, epfd: number, op: number, fd: number, evPtr: UserAddr): number {
  const ep = t.files.get(epfd);
  if (!(ep instanceof EpollFile)) return -Errno.EINVAL;
  const file = t.files.get(fd);
  if (file === ep) return -Errno.EINVAL;
  if (file.vfsFile && (file.vfsFile.stat().mode & 0o170000) === 0o100000) return -Errno.EPERM;
  let map = ep.interests.get(file);
  const existing = map?.get(fd);
  let events = 0;
  let data = 0n;
  if (op !== EPOLL_CTL_DEL) {
    const b = copyIn(t.mm.as, evPtr, 16);
    const v = new DataView(b.buffer);
    events = v.getUint32(0, true) | 0;
    data = v.getBigUint64(8, true);
  }
  switch (op) {
    case EPOLL_CTL_ADD:
      if (existing) return -Errno.EEXIST;
      if (!map) ep.interests.set(file, (map = new Map()));
      map.set(fd, { fd, file, events: events & ~EPOLLEXCLUSIVE, data, lastReady: 0, lastSeq: -1, disabled: false });
      ep.pollWq.wakeAll();
      return 0;
    case EPOLL_CTL_MOD:
      if (!existing) return -Errno.ENOENT;
      existing.events = events;
      existing.data = data;
      existing.lastReady = 0;
      existing.lastSeq = -1;
      existing.disabled = false;
      return 0;
    case EPOLL_CTL_DEL:
      if (!existing || !map) return -Errno.ENOENT;
      map.delete(fd);
      if (map.size === 0) ep.interests.delete(file);
      return 0;
    default:
      return -Errno.EINVAL;
  }
}

async function epollWait(
  k: Kernel,
  t: Task,
  epfd: number,
  evPtr: UserAddr,
  max: number,
  timeoutMs: number,
  maskPtr: UserAddr,
  size: number,
): Promise<number> {
  const ep = t.files.get(epfd);
  if (!(ep instanceof EpollFile)) return -Errno.EINVAL;
  if (max <= 0 || max > 1 << 20) return -Errno.EINVAL;
  let saved: bigint | null = null;
  if (maskPtr !== 0) {
    if (size !== 8) return -Errno.EINVAL;
    saved = t.sigmask;
    t.savedSigmask = saved;
    t.sigmask = readU64Big(t.mm.as, maskPtr) & ~UNBLOCKABLE;
  }
  const deadline = timeoutMs < 0 ? null : k.clock.monotonicNs() + timeoutMs * 1e6;
  try {
    for (;;) {
      const got = ep.collect(max, true);
      if (got.length > 0 || (deadline !== null && deadline <= k.clock.monotonicNs())) {
        const b = new Uint8Array(got.length * 16);
        const v = new DataView(b.buffer);
        got.forEach((e, i) => {
          v.setUint32(i * 16, e.events >>> 0, true);
          v.setBigUint64(i * 16 + 8, e.data, true);
        });
        copyOut(t.mm.as, evPtr, b);
        if (saved !== null) {
          t.sigmask = saved;
          t.savedSigmask = null;
        }
        return got.length;
      }
      await t.sleep(
        [...ep.queues(), ep.pollWq],
        deadline === null ? undefined : (fire) => k.addTimer(deadline, fire),
        (x) => k.cancelTimer(x),
      );
    }
  } catch (e) {
    if (e instanceof KernelError && e.errno === Errno.ERESTARTSYS) throw new KernelError(Errno.EINTR);
    throw e;
  }
}

/** timerfd: expirations counted on the VM clock. */
export class TimerFd extends KFile {
  private readonly ino = newAnonIno();
  expirations = 0;
  intervalNs = 0;
  deadline = 0;
  timer: Timer | null = null;
  constructor(
    readonly k: Kernel,
    readonly clockId: number,
    flags: number,
  ) {
    super(O_RDWR | flags);
  }
  describe(): string {
    return 'anon_inode:[timerfd]';
  }
  stat(): Stat {
    return anonStat(0o600, this.ino);
  }
  arm(valueNs: number, intervalNs: number, absolute: boolean): void {
    if (this.timer) this.k.cancelTimer(this.timer);
    this.timer = null;
    this.intervalNs = intervalNs;
    this.expirations = 0;
    if (valueNs === 0) {
      this.deadline = 0;
      return;
    }
    let at = absolute ? valueNs : this.k.clock.monotonicNs() + valueNs;
    if (absolute && (this.clockId === 0 || this.clockId === 8))
      at = this.k.clock.realtimeToMonotonic(Math.floor(valueNs / 1e9), valueNs % 1e9);
    this.deadline = at;
    const fire = (): void => {
      this.timer = null;
      this.expirations++;
      if (this.intervalNs > 0) {
        this.deadline += this.intervalNs;
        this.timer = this.k.addTimer(this.deadline, fire);
      } else this.deadline = 0;
      this.pollWq.wakeAll();
    };
    this.timer = this.k.addTimer(at, fire);
  }
  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (len < 8) throw new KernelError(Errno.EINVAL);
    const take = (): Uint8Array => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(this.expirations), true);
      this.expirations = 0;
      return b;
    };
    if (this.expirations > 0) return take();
    if (this.nonblock) throw new KernelError(Errno.EAGAIN);
    return (async () => {
      while (this.expirations === 0) await t.sleep([this.pollWq]);
      return take();
    })();
  }
  override poll(events: number): number {
    return this.expirations > 0 ? events & POLLIN : 0;
  }
  override release(): void {
    if (this.timer) this.k.cancelTimer(this.timer);
  }
}

function itimerspec(valueNs: number, intervalNs: number): Uint8Array {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  const i = nsToTimespec(intervalNs);
  const val = nsToTimespec(valueNs);
  v.setBigInt64(0, BigInt(i.sec), true);
  v.setBigInt64(8, BigInt(i.nsec), true);
  v.setBigInt64(16, BigInt(val.sec), true);
  v.setBigInt64(24, BigInt(val.nsec), true);
  return b;
}

/** signalfd: reads dequeue pending signals in the mask as signalfd_siginfo (128 bytes). */
export class SignalFd extends KFile {
  private readonly ino = newAnonIno();
  constructor(
    readonly k: Kernel,
    public mask: bigint,
    flags: number,
    readonly owner: Task,
  ) {
    super(O_RDWR | flags);
    k.signalFds.add(this);
  }
  override release(): void {
    this.k.signalFds.delete(this);
  }
  describe(): string {
    return 'anon_inode:[signalfd]';
  }
  stat(): Stat {
    return anonStat(0o600, this.ino);
  }
  private encode(t: Task, max: number): Uint8Array | null {
    const parts: Uint8Array[] = [];
    while (parts.length < max) {
      const info = dequeueSignal(t, this.mask);
      if (!info) break;
      const raw = encodeSigInfo(info);
      const rv = new DataView(raw.buffer);
      const b = new Uint8Array(128);
      const v = new DataView(b.buffer);
      v.setUint32(0, info.signo, true);
      v.setInt32(4, info.errno ?? 0, true);
      v.setInt32(8, info.code, true);
      v.setUint32(12, info.pid ?? 0, true);
      v.setUint32(16, info.uid ?? 0, true);
      v.setInt32(20, info.fd ?? 0, true);
      v.setInt32(44, info.status ?? 0, true);
      v.setBigUint64(72, BigInt.asUintN(64, BigInt(info.addr ?? 0)), true);
      void rv;
      parts.push(b);
    }
    return parts.length ? Buffer.concat(parts) : null;
  }
  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (len < 128) throw new KernelError(Errno.EINVAL);
    const got = this.encode(t, Math.floor(len / 128));
    if (got) return got;
    if (this.nonblock) throw new KernelError(Errno.EAGAIN);
    return (async () => {
      for (;;) {
        const saved = t.sigmask;
        try {
          await t.sleep([this.pollWq]);
        } catch (e) {
          t.sigmask = saved;
          const g = this.encode(t, Math.floor(len / 128));
          if (g) return g;
          throw e;
        }
        const g = this.encode(t, Math.floor(len / 128));
        if (g) return g;
      }
    })();
  }
  override poll(events: number): number {
    const t = this.owner;
    return ((t.pending | t.process.sharedPending) & this.mask) !== 0n ? events & POLLIN : 0;
  }
}

export const epollSyscalls: SyscallDefs = {
  epoll_create1: {
    handler: (k, t, a) => {
      const flags = a.i(0);
      if (flags & ~O_CLOEXEC) return -Errno.EINVAL;
      return k.allocFd(t, new EpollFile(0), (flags & O_CLOEXEC) !== 0);
    },
  },
  epoll_ctl: { handler: (_k, t, a) => epollCtl(t, a.i(0), a.i(1), a.i(2), a.p(3)) },
  epoll_pwait: { handler: (k, t, a) => epollWait(k, t, a.i(0), a.p(1), a.i(2), a.i(3), a.p(4), a.x(5)) },
  epoll_pwait2: {
    handler: (k, t, a) => {
      const epfd = a.i(0);
      const ev = a.p(1);
      const max = a.i(2);
      const tsPtr = a.p(3);
      const mask = a.p(4);
      const size = a.x(5);
      let ms = -1;
      if (tsPtr !== 0) {
        const ts = readTimespec(t.mm.as, tsPtr);
        ms = ts.sec * 1000 + ts.nsec / 1e6;
      }
      return epollWait(k, t, epfd, ev, max, ms, mask, size);
    },
  },
  timerfd_create: {
    handler: (k, t, a) => {
      const clock = a.i(0);
      const flags = a.i(1);
      if (![0, 1, 7, 8, 9].includes(clock)) return -Errno.EINVAL;
      if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -Errno.EINVAL;
      return k.allocFd(t, new TimerFd(k, clock, flags & O_NONBLOCK), (flags & O_CLOEXEC) !== 0);
    },
  },
  timerfd_settime: {
    handler: (k, t, a) => {
      const f = t.files.get(a.i(0));
      const flags = a.i(1);
      const newPtr = a.p(2);
      const oldPtr = a.p(3);
      if (!(f instanceof TimerFd)) return -Errno.EINVAL;
      const b = copyIn(t.mm.as, newPtr, 32);
      const v = new DataView(b.buffer);
      const g = (o: number): number => Number(v.getBigInt64(o, true));
      if (g(8) < 0 || g(8) >= 1e9 || g(24) < 0 || g(24) >= 1e9 || g(0) < 0 || g(16) < 0) return -Errno.EINVAL;
      if (oldPtr !== 0)
        copyOut(
          t.mm.as,
          oldPtr,
          itimerspec(f.deadline ? Math.max(0, f.deadline - k.clock.monotonicNs()) : 0, f.intervalNs),
        );
      f.arm(g(16) * 1e9 + g(24), g(0) * 1e9 + g(8), (flags & 1) !== 0);
      return 0;
    },
  },
  timerfd_gettime: {
    handler: (k, t, a) => {
      const f = t.files.get(a.i(0));
      if (!(f instanceof TimerFd)) return -Errno.EINVAL;
      copyOut(
        t.mm.as,
        a.p(1),
        itimerspec(f.deadline ? Math.max(0, f.deadline - k.clock.monotonicNs()) : 0, f.intervalNs),
      );
      return 0;
    },
  },
  signalfd4: {
    handler: (k, t, a) => {
      const fd = a.i(0);
      const mask = readU64Big(t.mm.as, a.p(1)) & ~UNBLOCKABLE;
      if (a.x(2) !== 8) return -Errno.EINVAL;
      const flags = a.i(3);
      if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -Errno.EINVAL;
      if (fd !== -1) {
        const f = t.files.get(fd);
        if (!(f instanceof SignalFd)) return -Errno.EINVAL;
        f.mask = mask;
        return fd;
      }
      return k.allocFd(t, new SignalFd(k, mask, flags & O_NONBLOCK, t), (flags & O_CLOEXEC) !== 0);
    },
    status: 'partial',
    note: 'readiness is tracked for the creating thread',
  },
};
