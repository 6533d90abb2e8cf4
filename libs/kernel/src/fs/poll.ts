/** ppoll, pselect6, eventfd2. */
import type { Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { readTimespec, writeTimespec, nsToTimespec } from '../time/timespec';
import { copyIn, copyOut, readU64Big, type UserAddr } from '../uaccess';
import {
  KFile,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLERR,
  POLLHUP,
  anonStat,
  newAnonIno,
} from './file';
import { UNBLOCKABLE } from '../signal/signals';

interface PollReq {
  fd: number;
  events: number;
}

function pollOnce(t: Task, reqs: PollReq[]): number[] {
  return reqs.map((r) => {
    if (r.fd < 0) return 0;
    const e = t.files.entry(r.fd);
    if (!e) return POLLNVAL;
    return e.file.poll(r.events | POLLERR | POLLHUP) & (r.events | POLLERR | POLLHUP);
  });
}

/** Waits until some request is ready, the deadline passes or a signal arrives. */
async function pollWait(k: Kernel, t: Task, reqs: PollReq[], deadline: number | null): Promise<number[] | 'timeout'> {
  for (;;) {
    const res = pollOnce(t, reqs);
    if (res.some((x) => x !== 0)) return res;
    if (deadline !== null && deadline <= k.clock.monotonicNs()) return 'timeout';
    const queues = reqs.filter((r) => r.fd >= 0 && t.files.entry(r.fd)).map((r) => t.files.get(r.fd).pollWq);
    const r = await t.sleep(queues, deadline === null ? undefined : (fire) => k.addTimer(deadline, fire), (x) =>
      k.cancelTimer(x),
    );
    if (r === 'timeout') {
      const last = pollOnce(t, reqs);
      return last.some((x) => x !== 0) ? last : 'timeout';
    }
  }
}

function withSigmask(t: Task, maskPtr: UserAddr, size: number): void {
  if (maskPtr === 0) return;
  if (size !== 8) throw new KernelError(Errno.EINVAL);
  const m = readU64Big(t.mm.as, maskPtr);
  t.savedSigmask = t.sigmask;
  t.sigmask = m & ~UNBLOCKABLE;
}

function restoreMask(t: Task): void {
  if (t.savedSigmask !== null) {
    t.sigmask = t.savedSigmask;
    t.savedSigmask = null;
  }
}

async function ppoll(
  k: Kernel,
  t: Task,
  fdsPtr: UserAddr,
  nfds: number,
  tsPtr: UserAddr,
  maskPtr: UserAddr,
  size: number,
): Promise<number> {
  if (nfds > t.files.limit || nfds < 0) return -Errno.EINVAL;
  const raw = copyIn(t.mm.as, fdsPtr, nfds * 8);
  const v = new DataView(raw.buffer);
  const reqs: PollReq[] = [];
  for (let i = 0; i < nfds; i++)
    reqs.push({ fd: v.getInt32(i * 8, true), events: v.getInt16(i * 8 + 4, true) & 0xffff });
  let deadline: number | null = null;
  if (tsPtr !== 0) {
    const ts = readTimespec(t.mm.as, tsPtr);
    deadline = k.clock.monotonicNs() + ts.sec * 1e9 + ts.nsec;
  }
  withSigmask(t, maskPtr, size);
  let res: number[] | 'timeout';
  try {
    res = await pollWait(k, t, reqs, deadline);
  } catch (e) {
    // keep the temporary mask for the handler; it is restored by the frame (savedSigmask)
    if (tsPtr !== 0 && deadline !== null)
      writeTimespec(t.mm.as, tsPtr, nsToTimespec(Math.max(0, deadline - k.clock.monotonicNs())));
    throw e instanceof KernelError && e.errno === Errno.ERESTARTSYS ? new KernelError(Errno.ERESTARTNOHAND) : e;
  }
  restoreMask(t);
  if (res === 'timeout') {
    for (let i = 0; i < nfds; i++) v.setInt16(i * 8 + 6, 0, true);
    copyOut(t.mm.as, fdsPtr, raw);
    return 0;
  }
  let n = 0;
  res.forEach((r, i) => {
    v.setInt16(i * 8 + 6, r, true);
    if (r) n++;
  });
  copyOut(t.mm.as, fdsPtr, raw);
  return n;
}

async function pselect6(
  k: Kernel,
  t: Task,
  nfds: number,
  rPtr: UserAddr,
  wPtr: UserAddr,
  ePtr: UserAddr,
  tsPtr: UserAddr,
  sigPtr: UserAddr,
): Promise<number> {
  if (nfds < 0 || nfds > 65536) return -Errno.EINVAL;
  const bytes = Math.ceil(nfds / 64) * 8;
  const load = (p: UserAddr): Uint8Array | null => (p === 0 ? null : copyIn(t.mm.as, p, bytes));
  const rs = load(rPtr);
  const ws = load(wPtr);
  const es = load(ePtr);
  const isSet = (s: Uint8Array | null, fd: number): boolean => s !== null && (s[fd >> 3] & (1 << (fd & 7))) !== 0;
  const reqs: PollReq[] = [];
  for (let fd = 0; fd < nfds; fd++) {
    let ev = 0;
    if (isSet(rs, fd)) ev |= POLLIN;
    if (isSet(ws, fd)) ev |= POLLOUT;
    if (isSet(es, fd)) ev |= 2;
    if (ev) {
      if (!t.files.entry(fd)) return -Errno.EBADF;
      reqs.push({ fd, events: ev });
    }
  }
  let deadline: number | null = null;
  if (tsPtr !== 0) {
    const ts = readTimespec(t.mm.as, tsPtr);
    deadline = k.clock.monotonicNs() + ts.sec * 1e9 + ts.nsec;
  }
  if (sigPtr !== 0) {
    const sv = new DataView(copyIn(t.mm.as, sigPtr, 16).buffer);
    const mp = Number(sv.getBigUint64(0, true));
    withSigmask(t, mp as UserAddr, Number(sv.getBigUint64(8, true)));
  }
  let res: number[] | 'timeout';
  try {
    res = await pollWait(k, t, reqs, deadline);
  } catch (e) {
    throw e instanceof KernelError && e.errno === Errno.ERESTARTSYS ? new KernelError(Errno.ERESTARTNOHAND) : e;
  }
  restoreMask(t);
  const outR = rs ? new Uint8Array(bytes) : null;
  const outW = ws ? new Uint8Array(bytes) : null;
  const outE = es ? new Uint8Array(bytes) : null;
  let n = 0;
  if (res !== 'timeout') {
    res.forEach((r, i) => {
      const fd = reqs[i].fd;
      const set = (s: Uint8Array | null): void => {
        if (s) {
          s[fd >> 3] |= 1 << (fd & 7);
          n++;
        }
      };
      if (reqs[i].events & POLLIN && r & (POLLIN | POLLHUP | POLLERR)) set(outR);
      if (reqs[i].events & POLLOUT && r & (POLLOUT | POLLERR)) set(outW);
      if (reqs[i].events & 2 && r & 2) set(outE);
    });
  }
  if (outR) copyOut(t.mm.as, rPtr, outR);
  if (outW) copyOut(t.mm.as, wPtr, outW);
  if (outE) copyOut(t.mm.as, ePtr, outE);
  if (tsPtr !== 0 && deadline !== null)
    writeTimespec(t.mm.as, tsPtr, nsToTimespec(Math.max(0, deadline - k.clock.monotonicNs())));
  return n;
}

/** eventfd: a 64-bit counter (EFD_SEMAPHORE supported). */
export class EventFd extends KFile {
  private count: bigint;
  private readonly ino = newAnonIno();
  constructor(
    initial: number,
    flags: number,
    private readonly semaphore: boolean,
  ) {
    super(O_RDWR | (flags & O_NONBLOCK));
    this.count = BigInt(initial);
  }
  describe(): string {
    return 'anon_inode:[eventfd]';
  }
  stat(): Stat {
    return anonStat(0o600, this.ino);
  }
  override read(t: Task, len: number): Uint8Array | Promise<Uint8Array> {
    if (len < 8) throw new KernelError(Errno.EINVAL);
    if (this.count === 0n) {
      if (this.nonblock) throw new KernelError(Errno.EAGAIN);
      return (async () => {
        while (this.count === 0n) await t.sleep([this.pollWq]);
        return this.take();
      })();
    }
    return this.take();
  }
  private take(): Uint8Array {
    const v = this.semaphore ? 1n : this.count;
    this.count -= v;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    this.pollWq.wakeAll();
    return b;
  }
  override write(t: Task, data: Uint8Array): number | Promise<number> {
    if (data.length < 8) throw new KernelError(Errno.EINVAL);
    const v = new DataView(data.buffer, data.byteOffset).getBigUint64(0, true);
    if (v === 0xffffffffffffffffn) throw new KernelError(Errno.EINVAL);
    const max = 0xfffffffffffffffen;
    if (this.count + v > max) {
      if (this.nonblock) throw new KernelError(Errno.EAGAIN);
      return (async () => {
        while (this.count + v > max) await t.sleep([this.pollWq]);
        this.count += v;
        this.pollWq.wakeAll();
        return 8;
      })();
    }
    this.count += v;
    this.pollWq.wakeAll();
    return 8;
  }
  override poll(events: number): number {
    let r = 0;
    if (this.count > 0n) r |= POLLIN;
    if (this.count < 0xfffffffffffffffen) r |= POLLOUT;
    return r & events;
  }
}

export const pollSyscalls: SyscallDefs = {
  ppoll: { handler: (k, t, a) => ppoll(k, t, a.p(0), a.i(1), a.p(2), a.p(3), a.x(4)) },
  pselect6: { handler: (k, t, a) => pselect6(k, t, a.i(0), a.p(1), a.p(2), a.p(3), a.p(4), a.p(5)) },
  eventfd2: {
    handler: (k, t, a) => {
      const init = a.u(0);
      const flags = a.i(1);
      if (flags & ~(O_CLOEXEC | O_NONBLOCK | 1)) return -Errno.EINVAL;
      return k.allocFd(t, new EventFd(init, flags, (flags & 1) !== 0), (flags & O_CLOEXEC) !== 0);
    },
  },
};
