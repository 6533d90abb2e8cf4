/**
 * POSIX message queues (ipc/mqueue.c): mq_open, mq_unlink, mq_timedsend, mq_timedreceive,
 * mq_notify, mq_getsetattr. Queues live in the VM's IPC namespace by name (Linux keeps them
 * in the namespace's internal mqueue mount); a queue descriptor is a file descriptor (always
 * close-on-exec, as Linux) whose description is shared by dup and fork, is pollable, and
 * reads as Linux's "QSIZE:… NOTIFY:…" status line.
 *
 * Messages come out highest priority first, FIFO within a priority. A sender finding a
 * receiver asleep hands its message over directly, and a receiver that makes room moves the
 * first sleeping sender's message into the queue (pipelined_send/pipelined_receive). Sleeps
 * end at an absolute CLOCK_REALTIME deadline (ETIMEDOUT) and on signals with ERESTARTSYS
 * (restarted under SA_RESTART, EINTR otherwise, as Linux). Limits are the defaults of
 * /proc/sys/fs/mqueue (msg_max 10, msgsize_max 8192, queues_max 256), which a capable task
 * (euid 0 here) may exceed up to Linux's hard maxima; RLIMIT_MSGQUEUE is charged per real uid
 * with Linux's formula. Queued messages and the queues themselves are charged to the VM's
 * memory quota.
 */
import { S_IFMT, S_IFREG, S_IFSOCK, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET, type Stat } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import {
  KFile,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOCTTY,
  O_TRUNC,
  O_NONBLOCK,
  O_RDWR,
  O_WRONLY,
  POLLIN,
  POLLOUT,
  POLLRDNORM,
  POLLWRNORM,
  anonStat,
  newAnonIno,
} from '../fs/file';
import type { Kernel } from '../kernel';
import type { Mm } from '../mm/mm';
import { sendSignalToProcess } from '../signal/deliver';
import { NSIG } from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import type { Process, Task } from '../task';
import { readTimespec } from '../time/timespec';
import { SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD } from '../time/process-timers';
import { copyIn, copyOut, readCStringBytes, userAddr, writeU32, type UserAddr } from '../uaccess';
import { WaitQueue } from '../wait';
import { capable, perVm } from './namespace';

export const MQ_PRIO_MAX = 32768;
/** /proc/sys/fs/mqueue/msg_max and msg_default. */
export const MSG_MAX = 10;
/** /proc/sys/fs/mqueue/msgsize_max and msgsize_default. */
export const MSGSIZE_MAX = 8192;
/** /proc/sys/fs/mqueue/queues_max. */
export const QUEUES_MAX = 256;
/** What a capable task may ask for (HARD_MSGMAX, HARD_MSGSIZEMAX). */
export const HARD_MSGMAX = 65536;
export const HARD_MSGSIZEMAX = 16 * 1024 * 1024;
const NAME_MAX = 255;
const PATH_MAX = 4096;

/** sizeof(struct mq_attr), struct sigevent, the SIGEV_THREAD cookie. */
const MQ_ATTR_SIZE = 64;
const SIGEVENT_SIZE = 64;
const NOTIFY_COOKIE_LEN = 32;
/** sizeof(struct msg_msg) and struct posix_msg_tree_node on 64-bit Linux (RLIMIT_MSGQUEUE). */
const MSG_MSG_SIZE = 48;
const TREE_NODE_SIZE = 48;
/** i_size of a queue's inode. */
const FILENT_SIZE = 80;
/** Memory charged for a queue's own bookkeeping (besides its name and messages). */
const QUEUE_COST = 512;
const RLIMIT_MSGQUEUE = 12;
const SI_MESGQ = -3;

interface Message {
  prio: number;
  data: Uint8Array;
}

/** A task asleep in mq_timedsend (with its message) or mq_timedreceive (struct ext_wait_queue). */
interface Waiter {
  msg: Message | null;
  ready: boolean;
  wq: WaitQueue;
}

/** A registration made by mq_notify (the notify_owner of the queue). */
interface Notification {
  owner: Process;
  /** The owner's address space at registration: an exec since then means no signal (self_exec_id). */
  mm: Mm;
  how: number;
  signo: number;
  value: bigint;
}

/** A queue (Linux's mqueue inode): its attributes, messages, sleepers and notification. */
export class MessageQueue {
  readonly ino = newAnonIno();
  /** Sorted by priority ascending, newest first within a priority: the next message is the last. */
  private readonly msgs: Message[] = [];
  /** Bytes of message text queued (QSIZE). */
  qsize = 0;
  readonly senders: Waiter[] = [];
  readonly receivers: Waiter[] = [];
  notify: Notification | null = null;
  /** Open descriptions (poll wake-ups; the queue goes once unlinked and none is left). */
  readonly files = new Set<MqFile>();
  linked = true;
  /** atime = mtime = ctime (seconds, nanoseconds). */
  time: { sec: number; nsec: number };

  constructor(
    readonly name: string,
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    readonly maxmsg: number,
    readonly msgsize: number,
    /** Real uid and bytes charged to RLIMIT_MSGQUEUE, and bytes charged to the memory quota. */
    readonly rlimitUid: number,
    readonly rlimitBytes: number,
    readonly cost: number,
    now: { sec: number; nsec: number },
  ) {
    this.time = now;
  }

  get curmsgs(): number {
    return this.msgs.length;
  }

  /** msg_insert. */
  insert(m: Message): void {
    let lo = 0;
    let hi = this.msgs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.msgs[mid].prio < m.prio) lo = mid + 1;
      else hi = mid;
    }
    this.msgs.splice(lo, 0, m);
    this.qsize += m.data.length;
  }

  /** msg_get: the oldest message of the highest priority (the queue is not empty). */
  take(): Message {
    const m = this.msgs.pop() as Message;
    this.qsize -= m.data.length;
    return m;
  }

  /** Drops every queued message (the queue is going); returns their charge. */
  drain(): number {
    let bytes = 0;
    for (const m of this.msgs.splice(0)) bytes += msgCost(m);
    this.qsize = 0;
    return bytes;
  }

  /** The registration, forgotten once its owner is gone (Linux drops it when the owner's files close). */
  liveNotify(): Notification | null {
    const n = this.notify;
    if (n !== null && (n.owner.zombie || n.owner.liveThreads === 0)) this.notify = null;
    return this.notify;
  }

  pollWake(): void {
    for (const f of this.files) f.pollWq.wakeAll();
  }

  touch(k: Kernel): void {
    this.time = k.clock.realtime();
  }
}

/** The VM's queues (its IPC namespace's mqueue mount) and the RLIMIT_MSGQUEUE usage per real uid. */
class MqNamespace {
  readonly byName = new Map<string, MessageQueue>();
  /** Queues alive, unlinked ones still open included (mq_queues_count). */
  count = 0;
  readonly usage = new Map<number, number>();
}

const ns = perVm(() => new MqNamespace());

const msgCost = (m: Message): number => m.data.length + MSG_MSG_SIZE;

/** A queue descriptor's open file description. */
export class MqFile extends KFile {
  private pos = 0;

  constructor(
    private readonly k: Kernel,
    readonly queue: MessageQueue,
    flags: number,
  ) {
    super(flags);
    queue.files.add(this);
  }

  describe(): string {
    return `/${this.queue.name}${this.queue.linked ? '' : ' (deleted)'}`;
  }

  stat(): Stat {
    const q = this.queue;
    return {
      ...anonStat(S_IFREG | q.mode, q.ino, q.uid, q.gid),
      nlink: q.linked ? 1 : 0,
      size: FILENT_SIZE,
      atime: q.time,
      mtime: q.time,
      ctime: q.time,
    };
  }

  /** mqueue_read_file: the queue's status line. */
  private status(): Uint8Array {
    const q = this.queue;
    const n = q.liveNotify();
    const line =
      `QSIZE:${String(q.qsize).padEnd(10)} NOTIFY:${String(n?.how ?? 0).padEnd(5)} ` +
      `SIGNO:${String(n?.how === SIGEV_SIGNAL ? n.signo : 0).padEnd(5)} ` +
      `NOTIFY_PID:${String(n?.owner.pid ?? 0).padEnd(6)}\n`;
    return Buffer.from(line, 'latin1');
  }

  override read(_t: Task, len: number): Uint8Array {
    const out = this.readAt(len, this.pos);
    this.pos += out.length;
    return out;
  }

  override pread(_t: Task, len: number, pos: number): Uint8Array {
    return this.readAt(len, pos);
  }

  private readAt(len: number, pos: number): Uint8Array {
    const s = this.status();
    if (pos >= s.length || len === 0) return new Uint8Array(0);
    this.queue.touch(this.k);
    return s.slice(pos, pos + Math.min(len, s.length - pos));
  }

  /** default_llseek over the inode's size. */
  override seek(offset: number, whence: number): number {
    let to: number;
    if (whence === SEEK_SET) to = offset;
    else if (whence === SEEK_CUR) to = this.pos + offset;
    else if (whence === SEEK_END) to = FILENT_SIZE + offset;
    else if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      if (offset >= FILENT_SIZE) throw new KernelError(Errno.ENXIO);
      to = whence === SEEK_DATA ? offset : FILENT_SIZE;
    } else throw new KernelError(Errno.EINVAL);
    if (to < 0) throw new KernelError(Errno.EINVAL);
    this.pos = to;
    return to;
  }

  /** mqueue_poll_file: POLLIN with a message queued, POLLOUT with room (whatever the access mode). */
  override poll(events: number): number {
    const q = this.queue;
    let r = 0;
    if (q.curmsgs > 0) r |= POLLIN | POLLRDNORM;
    if (q.curmsgs < q.maxmsg) r |= POLLOUT | POLLWRNORM;
    return r & events;
  }

  /** mqueue_flush_file: the registering process closing any descriptor of the queue unregisters it. */
  override flush(p: Process): void {
    if (this.queue.notify?.owner === p) this.queue.notify = null;
  }

  override release(): void {
    const q = this.queue;
    q.files.delete(this);
    // The last close may come without a flush (the exit of the fd table's last user).
    const cur = this.k.current;
    if (cur !== null && q.notify?.owner === cur.process) q.notify = null;
    destroyIfUnused(this.k, q);
  }
}

/** mqueue_evict_inode: an unlinked queue with no descriptor left is freed. */
function destroyIfUnused(k: Kernel, q: MessageQueue): void {
  if (q.linked || q.files.size > 0) return;
  const n = ns(k);
  n.count--;
  n.usage.set(q.rlimitUid, (n.usage.get(q.rlimitUid) ?? q.rlimitBytes) - q.rlimitBytes);
  q.notify = null;
  k.chargeExtra(-(q.drain() + q.cost));
}

/** getname: at most PATH_MAX-1 bytes (ENAMETOOLONG, EFAULT), not empty (ENOENT). */
function getName(t: Task, addr: UserAddr): Uint8Array {
  const b = readCStringBytes(t.mm.as, addr, PATH_MAX - 1);
  if (b.length === 0) throw new KernelError(Errno.ENOENT);
  return b;
}

/** lookup_one_len in the mqueue root: no '/' and not "." or ".." (EACCES), at most NAME_MAX bytes. */
function lookupName(b: Uint8Array): string {
  const name = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  if (name === '.' || name === '..' || name.includes('/')) throw new KernelError(Errno.EACCES);
  if (b.length > NAME_MAX) throw new KernelError(Errno.ENAMETOOLONG);
  return name;
}

/** generic_permission with the caller's fs credentials (CAP_DAC_OVERRIDE: fsuid 0). */
function mayAccess(t: Task, q: MessageQueue, want: number): boolean {
  const c = t.process.creds;
  if (c.fsuid === 0) return true;
  let bits = q.mode & 7;
  if (c.fsuid === q.uid) bits = (q.mode >> 6) & 7;
  else if (c.fsgid === q.gid || c.groups.includes(q.gid)) bits = (q.mode >> 3) & 7;
  return (bits & want) === want;
}

/** get_unused_fd_flags comes before the name is looked up: EMFILE wins over ENOENT. */
function checkFreeFd(t: Task): void {
  let used = 0;
  for (const fd of t.files.list()) if (fd < t.files.limit) used++;
  if (used >= t.files.limit) throw new KernelError(Errno.EMFILE);
}

interface Attr {
  maxmsg: bigint;
  msgsize: bigint;
}

/** mqueue_create_attr + mqueue_get_inode: limits, RLIMIT_MSGQUEUE and the memory quota. */
function createQueue(k: Kernel, t: Task, name: string, mode: number, attr: Attr | null): MessageQueue {
  const n = ns(k);
  const cap = capable(t);
  if (n.count >= QUEUES_MAX && !cap) throw new KernelError(Errno.ENOSPC);
  const maxmsg = attr?.maxmsg ?? BigInt(MSG_MAX);
  const msgsize = attr?.msgsize ?? BigInt(MSGSIZE_MAX);
  if (maxmsg <= 0n || msgsize <= 0n) throw new KernelError(Errno.EINVAL);
  const [maxM, maxS] = cap ? [HARD_MSGMAX, HARD_MSGSIZEMAX] : [MSG_MAX, MSGSIZE_MAX];
  if (maxmsg > BigInt(maxM) || msgsize > BigInt(maxS)) throw new KernelError(Errno.EINVAL);
  const mm = Number(maxmsg);
  const bytes = mm * Number(msgsize) + mm * MSG_MSG_SIZE + Math.min(mm, MQ_PRIO_MAX) * TREE_NODE_SIZE;
  const c = t.process.creds;
  const used = n.usage.get(c.uid) ?? 0;
  if (used + bytes > t.process.rlimits[RLIMIT_MSGQUEUE].cur) throw new KernelError(Errno.EMFILE);
  const cost = QUEUE_COST + name.length;
  if (!k.chargeExtra(cost)) throw new KernelError(Errno.ENOMEM);
  n.usage.set(c.uid, used + bytes);
  n.count++;
  const umask = t.process.fs.ctx.umask;
  const q = new MessageQueue(
    name,
    mode & ~umask & 0o7777,
    c.fsuid,
    c.fsgid,
    mm,
    Number(msgsize),
    c.uid,
    bytes,
    cost,
    k.clock.realtime(),
  );
  n.byName.set(name, q);
  return q;
}

function sysMqOpen(k: Kernel, t: Task, nameAddr: UserAddr, oflag: number, mode: number, attrAddr: UserAddr): number {
  let attr: Attr | null = null;
  if (attrAddr !== 0) {
    const v = new DataView(copyIn(t.mm.as, attrAddr, MQ_ATTR_SIZE).buffer);
    attr = { maxmsg: v.getBigInt64(8, true), msgsize: v.getBigInt64(16, true) };
  }
  const raw = getName(t, nameAddr);
  checkFreeFd(t);
  const name = lookupName(raw);
  const n = ns(k);
  let q = n.byName.get(name);
  if (q === undefined) {
    if (!(oflag & O_CREAT)) return -Errno.ENOENT;
    q = createQueue(k, t, name, mode, attr);
  } else {
    if ((oflag & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return -Errno.EEXIST;
    const acc = oflag & O_ACCMODE;
    if (acc === (O_RDWR | O_WRONLY)) return -Errno.EINVAL;
    if (!mayAccess(t, q, acc === O_WRONLY ? 2 : acc === O_RDWR ? 6 : 4)) return -Errno.EACCES;
  }
  // dentry_open keeps the status flags but the creation ones; the descriptor is always O_CLOEXEC
  const f = new MqFile(k, q, oflag & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC));
  return k.allocFd(t, f, true);
}

function sysMqUnlink(k: Kernel, t: Task, nameAddr: UserAddr): number {
  const name = lookupName(getName(t, nameAddr));
  const n = ns(k);
  const q = n.byName.get(name);
  if (q === undefined) return -Errno.ENOENT;
  // may_delete in the sticky, root-owned mqueue directory
  const fsuid = t.process.creds.fsuid;
  if (fsuid !== q.uid && fsuid !== 0) return -Errno.EPERM;
  n.byName.delete(name);
  q.linked = false;
  destroyIfUnused(k, q);
  return 0;
}

/** The queue behind descriptor `fd` (EBADF for anything else). */
function queueFile(t: Task, fd: number): MqFile {
  const f = t.files.getOpen(fd);
  if (!(f instanceof MqFile)) throw new KernelError(Errno.EBADF);
  return f;
}

/** prepare_timeout: the absolute CLOCK_REALTIME deadline on the monotonic scale (EINVAL if invalid). */
function readDeadline(k: Kernel, t: Task, addr: UserAddr): number | null {
  if (addr === 0) return null;
  const ts = readTimespec(t.mm.as, addr);
  return k.clock.realtimeToMonotonic(ts.sec, ts.nsec);
}

/**
 * wq_sleep: sleeps on `list` until a partner makes `w` ready (success even if a signal or the
 * deadline came too), the deadline passes (ETIMEDOUT) or a signal arrives (ERESTARTSYS).
 */
async function sleepReady(k: Kernel, t: Task, list: Waiter[], w: Waiter, deadline: number | null): Promise<void> {
  list.push(w);
  const setTimer = deadline === null ? undefined : (fire: () => void) => k.addTimer(deadline, fire);
  try {
    for (;;) {
      let r: 'woken' | 'timeout';
      try {
        r = await t.sleep([w.wq], setTimer, (x) => k.cancelTimer(x));
      } catch (e) {
        if (w.ready) return;
        throw e;
      }
      if (w.ready) return;
      if (r === 'timeout') throw new KernelError(Errno.ETIMEDOUT);
    }
  } finally {
    const at = list.indexOf(w);
    if (at >= 0) list.splice(at, 1);
  }
}

/** Serves the first sleeper of `list` and wakes it (__pipelined_op); a receiver is given `msg`. */
function serveFirst(list: Waiter[], msg: Message | null): Waiter | null {
  const w = list.shift();
  if (w === undefined) return null;
  if (msg !== null) w.msg = msg;
  w.ready = true;
  w.wq.wakeAll();
  return w;
}

/** __do_notify: a message arrived in an empty queue with nobody receiving. */
function doNotify(k: Kernel, t: Task, q: MessageQueue): void {
  const n = q.liveNotify();
  if (n !== null && q.curmsgs === 1) {
    q.notify = null;
    const execd = ![...n.owner.threads].some((th) => th.mm === n.mm);
    if (n.how === SIGEV_SIGNAL && n.signo !== 0 && !execd)
      sendSignalToProcess(k, n.owner, {
        signo: n.signo,
        code: SI_MESGQ,
        pid: t.pid,
        uid: t.process.creds.uid,
        value: n.value,
      });
  }
  q.pollWake();
}

async function sysMqTimedsend(
  k: Kernel,
  t: Task,
  fd: number,
  msgAddr: UserAddr,
  len: number,
  prio: number,
  tsAddr: UserAddr,
): Promise<number> {
  const deadline = readDeadline(k, t, tsAddr);
  if (prio >= MQ_PRIO_MAX) return -Errno.EINVAL;
  const f = queueFile(t, fd);
  if (!f.writable) return -Errno.EBADF;
  const q = f.queue;
  if (len > q.msgsize) return -Errno.EMSGSIZE;
  // load_msg copies nothing for an empty message, whatever the pointer
  const msg: Message = { prio, data: len === 0 ? new Uint8Array(0) : copyIn(t.mm.as, msgAddr, len) };
  if (!k.chargeExtra(msgCost(msg))) return -Errno.ENOMEM;
  if (q.curmsgs >= q.maxmsg) {
    if (f.nonblock) {
      k.chargeExtra(-msgCost(msg));
      return -Errno.EAGAIN;
    }
    const w: Waiter = { msg, ready: false, wq: new WaitQueue() };
    try {
      await sleepReady(k, t, q.senders, w, deadline);
    } catch (e) {
      k.chargeExtra(-msgCost(msg));
      throw e;
    }
    return 0;
  }
  q.touch(k);
  if (serveFirst(q.receivers, msg) === null) {
    q.insert(msg);
    doNotify(k, t, q);
  }
  return 0;
}

async function sysMqTimedreceive(
  k: Kernel,
  t: Task,
  fd: number,
  msgAddr: UserAddr,
  len: number,
  prioAddr: UserAddr,
  tsAddr: UserAddr,
): Promise<number> {
  const deadline = readDeadline(k, t, tsAddr);
  const f = queueFile(t, fd);
  if (!f.readable) return -Errno.EBADF;
  const q = f.queue;
  if (len < q.msgsize) return -Errno.EMSGSIZE;
  let msg: Message;
  if (q.curmsgs === 0) {
    if (f.nonblock) return -Errno.EAGAIN;
    const w: Waiter = { msg: null, ready: false, wq: new WaitQueue() };
    await sleepReady(k, t, q.receivers, w, deadline);
    msg = w.msg as Message;
  } else {
    msg = q.take();
    q.touch(k);
    // pipelined_receive: the first sleeping sender's message takes the freed place
    const sender = serveFirst(q.senders, null);
    if (sender !== null) q.insert(sender.msg as Message);
    else q.pollWake();
  }
  k.chargeExtra(-msgCost(msg));
  if (prioAddr !== 0) writeU32(t.mm.as, prioAddr, msg.prio);
  if (msg.data.length > 0) copyOut(t.mm.as, msgAddr, msg.data);
  return msg.data.length;
}

/**
 * do_mq_notify. SIGEV_THREAD needs the NETLINK socket glibc passes in sigev_signo; this kernel
 * has no AF_NETLINK, so it fails like Linux given another kind of file (glibc's mq_notify then
 * reports ENOSYS before calling here, because its socket() fails).
 */
function sysMqNotify(k: Kernel, t: Task, fd: number, sevAddr: UserAddr): number {
  let sev: { how: number; signo: number; value: bigint } | null = null;
  if (sevAddr !== 0) {
    const v = new DataView(copyIn(t.mm.as, sevAddr, SIGEVENT_SIZE).buffer);
    sev = { value: v.getBigInt64(0, true), signo: v.getInt32(8, true), how: v.getInt32(12, true) };
    if (sev.how !== SIGEV_NONE && sev.how !== SIGEV_SIGNAL && sev.how !== SIGEV_THREAD) return -Errno.EINVAL;
    if (sev.how === SIGEV_SIGNAL && (sev.signo < 0 || sev.signo > NSIG)) return -Errno.EINVAL;
    if (sev.how === SIGEV_THREAD) {
      copyIn(t.mm.as, userAddr(Number(BigInt.asUintN(64, sev.value))), NOTIFY_COOKIE_LEN);
      const sock = t.files.get(sev.signo);
      return (sock.stat().mode & S_IFMT) === S_IFSOCK ? -Errno.EINVAL : -Errno.ENOTSOCK;
    }
  }
  const q = queueFile(t, fd).queue;
  const cur = q.liveNotify();
  if (sev === null) {
    if (cur?.owner === t.process) q.notify = null;
  } else if (cur !== null) return -Errno.EBUSY;
  else q.notify = { owner: t.process, mm: t.mm, how: sev.how, signo: sev.signo, value: sev.value };
  q.touch(k);
  return 0;
}

function sysMqGetsetattr(k: Kernel, t: Task, fd: number, newAddr: UserAddr, oldAddr: UserAddr): number {
  let flags: bigint | null = null;
  if (newAddr !== 0) {
    flags = new DataView(copyIn(t.mm.as, newAddr, MQ_ATTR_SIZE).buffer).getBigInt64(0, true);
    if (flags & ~BigInt(O_NONBLOCK)) return -Errno.EINVAL;
  }
  const f = queueFile(t, fd);
  const q = f.queue;
  const old = new Uint8Array(MQ_ATTR_SIZE);
  const v = new DataView(old.buffer);
  v.setBigInt64(0, BigInt(f.flags & O_NONBLOCK), true);
  v.setBigInt64(8, BigInt(q.maxmsg), true);
  v.setBigInt64(16, BigInt(q.msgsize), true);
  v.setBigInt64(24, BigInt(q.curmsgs), true);
  if (flags !== null) {
    f.flags = (f.flags & ~O_NONBLOCK) | Number(flags);
    q.touch(k);
  }
  if (oldAddr !== 0) copyOut(t.mm.as, oldAddr, old);
  return 0;
}

export const mqueueSyscalls: SyscallDefs = {
  mq_open: {
    handler: (k, t, a) => sysMqOpen(k, t, a.p(0), a.i(1), a.u(2) & 0xffff, a.p(3)),
    note: 'names in a per-VM table (no /dev/mqueue filesystem); limits fixed at the /proc/sys/fs/mqueue defaults (msg_max 10, msgsize_max 8192, queues_max 256), euid 0 up to 65536 messages of 16 MiB; RLIMIT_MSGQUEUE per real uid',
  },
  mq_unlink: { handler: (k, t, a) => sysMqUnlink(k, t, a.p(0)) },
  mq_timedsend: {
    handler: (k, t, a) => sysMqTimedsend(k, t, a.i(0), a.p(1), a.x(2), a.u(3), a.p(4)),
    note: 'blocks while full until an absolute CLOCK_REALTIME deadline; a sleeping receiver gets the message directly; messages charged to the memory quota (ENOMEM)',
  },
  mq_timedreceive: {
    handler: (k, t, a) => sysMqTimedreceive(k, t, a.i(0), a.p(1), a.x(2), a.p(3), a.p(4)),
    note: 'highest priority first, FIFO within a priority; sleepers are woken in arrival order (Linux orders them by nice value first)',
  },
  mq_notify: {
    handler: (k, t, a) => sysMqNotify(k, t, a.i(0), a.p(1)),
    status: 'partial',
    note: 'SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD needs a NETLINK socket, which this kernel lacks (glibc reports ENOSYS)',
  },
  mq_getsetattr: { handler: (k, t, a) => sysMqGetsetattr(k, t, a.i(0), a.p(1), a.p(2)) },
};
