/**
 * System V message queues (ipc/msg.c): msgget, msgsnd, msgrcv, msgctl. A sender blocks while
 * the queue is full, a receiver while no message matches; a message sent while receivers wait
 * goes straight to the first matching one (pipelined_send). Waits end with EIDRM when the
 * queue is removed and with EINTR on a handled signal (ERESTARTNOHAND, as Linux).
 */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import type { Task } from '../task';
import { copyIn, copyOut, readU64Big, writeU64Big, userAddr, type UserAddr } from '../uaccess';
import { WaitQueue } from '../wait';
import {
  IPC_INFO,
  IPC_NOWAIT,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  IpcIds,
  IpcObject,
  S_IRUGO,
  S_IWUGO,
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

/** Limits (include/uapi/linux/msg.h; /proc/sys/kernel/msgmax, msgmnb, msgmni). */
export const MSGMAX = 8192;
export const MSGMNB = 16384;
export const MSGMNI = 32000;
const MSGSSZ = 16;
const MSGPOOL = (MSGMNI * MSGMNB) / 1024;
const MSGSEG = 0xffff;

const MSG_STAT = 11;
const MSG_INFO = 12;
const MSG_STAT_ANY = 13;
const MSG_NOERROR = 0o10000;
const MSG_EXCEPT = 0o20000;
const MSG_COPY = 0o40000;

const MSQID64_DS_SIZE = 120;
const MSGINFO_SIZE = 32;

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

type Mode = 'any' | 'equal' | 'notequal' | 'lessequal' | 'number';

interface Message {
  type: bigint;
  data: Uint8Array;
}

/** A receiver asleep in msgrcv (struct msg_receiver). */
interface Receiver {
  type: bigint;
  mode: Mode;
  maxSize: number;
  pid: number;
  /** Set by a sender (the message) or by RMID/E2BIG (an errno). */
  got: Message | Errno | null;
  wq: WaitQueue;
}

class MsgQueue extends IpcObject {
  readonly messages: Message[] = [];
  cbytes = 0;
  qbytes = MSGMNB;
  stime = 0;
  rtime = 0;
  lspid = 0;
  lrpid = 0;
  readonly receivers: Receiver[] = [];
  /** Senders waiting for room (and receivers re-checking after IPC_SET). */
  readonly senders = new WaitQueue();
}

class MsgNamespace {
  readonly ids = new IpcIds<MsgQueue>(() => MSGMNI);
  /** Messages and bytes queued in all queues (MSG_INFO). */
  hdrs = 0;
  bytes = 0;
}

const ns = perVm(() => new MsgNamespace());

function sysMsgget(k: Kernel, t: Task, key: number, flags: number): number {
  const n = ns(k);
  return ipcGet(n.ids, t, key, flags, () => new MsgQueue(key, t, flags, nowSec(k)));
}

function testMsg(m: Message, type: bigint, mode: Mode): boolean {
  switch (mode) {
    case 'any':
    case 'number':
      return true;
    case 'lessequal':
      return m.type <= type;
    case 'equal':
      return m.type === type;
    case 'notequal':
      return m.type !== type;
  }
}

/** find_msg: the first match (the lowest type first for a negative msgtyp; the n-th for MSG_COPY). */
function findMsg(q: MsgQueue, type: bigint, mode: Mode): number {
  let found = -1;
  let count = 0n;
  for (let i = 0; i < q.messages.length; i++) {
    const m = q.messages[i];
    if (!testMsg(m, type, mode)) continue;
    if (mode === 'lessequal' && m.type !== 1n) {
      type = m.type - 1n;
      found = i;
    } else if (mode === 'number') {
      if (type === count) return i;
    } else return i;
    count++;
  }
  return found;
}

/** pipelined_send: hands `m` to the first waiting receiver it matches (others too small get E2BIG). */
function pipelinedSend(q: MsgQueue, m: Message): boolean {
  for (const r of [...q.receivers]) {
    if (!testMsg(m, r.type, r.mode)) continue;
    q.receivers.splice(q.receivers.indexOf(r), 1);
    if (r.maxSize < m.data.length) {
      r.got = Errno.E2BIG;
      r.wq.wakeAll();
      continue;
    }
    q.lrpid = r.pid;
    q.rtime = q.stime;
    r.got = m;
    r.wq.wakeAll();
    return true;
  }
  return false;
}

function fits(q: MsgQueue, size: number): boolean {
  return size + q.cbytes <= q.qbytes && 1 + q.messages.length <= q.qbytes;
}

/** Turns an interrupted sleep into ERESTARTNOHAND (EINTR after a handler, restarted otherwise). */
function noHandRestart(e: unknown): never {
  if (e instanceof KernelError && e.errno === Errno.ERESTARTSYS) throw new KernelError(Errno.ERESTARTNOHAND);
  throw e;
}

async function sysMsgsnd(k: Kernel, t: Task, id: number, msgp: UserAddr, size: number, flags: number): Promise<number> {
  const as = t.mm.as;
  const type = BigInt.asIntN(64, readU64Big(as, msgp));
  if (size > MSGMAX || id < 0) return -Errno.EINVAL;
  if (type < 1n) return -Errno.EINVAL;
  const data = copyIn(as, userAddr(msgp + 8), size);
  const n = ns(k);
  const q = n.ids.obtain(id);
  for (;;) {
    if (!ipcPerms(t, q, S_IWUGO)) return -Errno.EACCES;
    if (q.deleted) return -Errno.EIDRM;
    if (fits(q, size)) break;
    if (flags & IPC_NOWAIT) return -Errno.EAGAIN;
    await t.sleep([q.senders]).catch(noHandRestart);
  }
  q.lspid = t.pid;
  q.stime = nowSec(k);
  const m: Message = { type, data };
  if (!pipelinedSend(q, m)) {
    q.messages.push(m);
    q.cbytes += size;
    n.hdrs++;
    n.bytes += size;
  }
  return 0;
}

function convertMode(type: bigint, flags: number): { type: bigint; mode: Mode } {
  if (flags & MSG_COPY) return { type, mode: 'number' };
  if (type === 0n) return { type, mode: 'any' };
  if (type < 0n) return { type: type === LONG_MIN ? LONG_MAX : -type, mode: 'lessequal' };
  return { type, mode: flags & MSG_EXCEPT ? 'notequal' : 'equal' };
}

async function sysMsgrcv(
  k: Kernel,
  t: Task,
  id: number,
  msgp: UserAddr,
  bufsz: number,
  msgtyp: bigint,
  flags: number,
): Promise<number> {
  if (id < 0 || bufsz >= 2 ** 63) return -Errno.EINVAL;
  if (flags & MSG_COPY && (flags & MSG_EXCEPT || !(flags & IPC_NOWAIT))) return -Errno.EINVAL;
  const { type, mode } = convertMode(msgtyp, flags);
  const n = ns(k);
  const q = n.ids.obtain(id);
  let m: Message;
  for (;;) {
    if (!ipcPerms(t, q, S_IRUGO)) return -Errno.EACCES;
    if (q.deleted) return -Errno.EIDRM;
    const i = findMsg(q, type, mode);
    if (i >= 0) {
      m = q.messages[i];
      if (bufsz < m.data.length && !(flags & MSG_NOERROR)) return -Errno.E2BIG;
      if (flags & MSG_COPY) break;
      q.messages.splice(i, 1);
      q.cbytes -= m.data.length;
      n.hdrs--;
      n.bytes -= m.data.length;
      q.rtime = nowSec(k);
      q.lrpid = t.pid;
      q.senders.wakeAll();
      break;
    }
    if (mode === 'number' || flags & IPC_NOWAIT) return -Errno.ENOMSG;
    const r: Receiver = {
      type,
      mode,
      maxSize: flags & MSG_NOERROR ? 0x7fffffff : bufsz,
      pid: t.pid,
      got: null,
      wq: new WaitQueue(),
    };
    q.receivers.push(r);
    try {
      await t.sleep([r.wq]);
    } catch (e) {
      if (r.got === null) noHandRestart(e);
    } finally {
      const at = q.receivers.indexOf(r);
      if (at >= 0) q.receivers.splice(at, 1);
    }
    if (r.got === null) continue; // woken to re-check (IPC_SET)
    if (typeof r.got === 'number') return -r.got;
    m = r.got;
    break;
  }
  const len = Math.min(bufsz, m.data.length);
  writeU64Big(t.mm.as, msgp, m.type);
  copyOut(t.mm.as, userAddr(msgp + 8), m.data.subarray(0, len));
  return len;
}

function statQueue(q: MsgQueue): Uint8Array {
  const b = new Uint8Array(MSQID64_DS_SIZE);
  const v = new DataView(b.buffer);
  putPerm(v, 0, q);
  putLong(v, 48, q.stime);
  putLong(v, 56, q.rtime);
  putLong(v, 64, q.ctime);
  putLong(v, 72, q.cbytes);
  putLong(v, 80, q.messages.length);
  putLong(v, 88, q.qbytes);
  v.setInt32(96, q.lspid, true);
  v.setInt32(100, q.lrpid, true);
  return b;
}

function removeQueue(n: MsgNamespace, q: MsgQueue): void {
  n.ids.remove(q);
  for (const r of q.receivers.splice(0)) {
    r.got = Errno.EIDRM;
    r.wq.wakeAll();
  }
  q.senders.wakeAll();
  n.hdrs -= q.messages.length;
  n.bytes -= q.cbytes;
  q.messages.length = 0;
  q.cbytes = 0;
}

function sysMsgctl(k: Kernel, t: Task, id: number, cmd: number, buf: UserAddr): number {
  if (id < 0 || cmd < 0) return -Errno.EINVAL;
  const n = ns(k);
  const as = t.mm.as;
  switch (cmd) {
    case IPC_INFO:
    case MSG_INFO: {
      const b = new Uint8Array(MSGINFO_SIZE);
      const v = new DataView(b.buffer);
      const info = cmd === MSG_INFO;
      v.setInt32(0, info ? n.ids.inUse : MSGPOOL, true);
      v.setInt32(4, info ? n.hdrs : MSGMNB, true);
      v.setInt32(8, MSGMAX, true);
      v.setInt32(12, MSGMNB, true);
      v.setInt32(16, MSGMNI, true);
      v.setInt32(20, MSGSSZ, true);
      v.setInt32(24, info ? n.bytes : MSGMNB, true);
      v.setUint16(28, MSGSEG, true);
      copyOut(as, buf, b);
      return Math.max(n.ids.maxIdx, 0);
    }
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY: {
      const q = statTarget(n.ids, t, id, cmd, MSG_STAT_ANY);
      copyOut(as, buf, statQueue(q));
      return cmd === IPC_STAT ? 0 : q.id;
    }
    case IPC_SET: {
      const v = new DataView(copyIn(as, buf, MSQID64_DS_SIZE).buffer);
      const q = ctlTarget(n.ids, t, id);
      const qbytes = Number(v.getBigUint64(88, true));
      if (qbytes > MSGMNB && !capable(t)) return -Errno.EPERM;
      setPerm(q, v, nowSec(k));
      q.qbytes = qbytes;
      // senders may fit now; receivers re-check their permission (expunge_all(-EAGAIN))
      q.senders.wakeAll();
      for (const r of q.receivers.splice(0)) r.wq.wakeAll();
      return 0;
    }
    case IPC_RMID: {
      removeQueue(n, ctlTarget(n.ids, t, id));
      return 0;
    }
    default:
      return -Errno.EINVAL;
  }
}

export const msgSyscalls: SyscallDefs = {
  msgget: { handler: (k, t, a) => sysMsgget(k, t, a.i(0), a.i(1)) },
  msgsnd: {
    handler: (k, t, a) => sysMsgsnd(k, t, a.i(0), a.p(1), a.x(2), a.i(3)),
    note: 'blocks while the queue is full (IPC_NOWAIT: EAGAIN); a waiting receiver gets the message directly',
  },
  msgrcv: {
    handler: (k, t, a) => sysMsgrcv(k, t, a.i(0), a.p(1), a.x(2), BigInt.asIntN(64, a.big(3)), a.i(4)),
    note: 'msgtyp 0, >0, <0, MSG_EXCEPT, MSG_NOERROR, MSG_COPY; EIDRM when the queue is removed, EINTR after a handler',
  },
  msgctl: {
    handler: (k, t, a) => sysMsgctl(k, t, a.i(0), a.i(1), a.p(2)),
    note: 'IPC_STAT/SET/RMID/INFO, MSG_INFO/STAT/STAT_ANY; limits are the fixed Linux defaults (msgmax 8192, msgmnb 16384, msgmni 32000)',
  },
};
