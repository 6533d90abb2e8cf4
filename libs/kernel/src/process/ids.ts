/** Identity, credentials, process groups/sessions, rlimits, uname, sysinfo, prctl, scheduling. */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import { RLIMIT_NLIMITS, RLIM_INFINITY, RLIMIT_NOFILE, RLIMIT_STACK, type Process, type Task } from '../task';
import { copyIn, copyOut, readCStringBytes, userAddr, writeU32, type UserAddr } from '../uaccess';
import { setU64 } from '../uaccess';
import { TICK_NS } from '../time/itimer';
import { nsToTimespec, writeTimespec } from '../time/timespec';

function findProcess(k: Kernel, t: Task, pid: number): Process {
  if (pid === 0) return t.process;
  const p = k.processes.get(pid);
  if (!p || p.reaped) throw new KernelError(Errno.ESRCH);
  return p;
}

export const UTS = {
  sysname: 'Linux',
  release: '6.1.0-lichen',
  version: '#1 SMP PREEMPT_DYNAMIC Lichen',
  machine: 'aarch64',
  domainname: '(none)',
};

function rlimitBytes(r: { cur: number; max: number }): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  const enc = (x: number): bigint => (x >= RLIM_INFINITY ? 0xffffffffffffffffn : BigInt(x));
  v.setBigUint64(0, enc(r.cur), true);
  v.setBigUint64(8, enc(r.max), true);
  return b;
}

function decodeRlimit(b: Uint8Array): { cur: number; max: number } {
  const v = new DataView(b.buffer, b.byteOffset);
  const dec = (x: bigint): number => (x >= BigInt(RLIM_INFINITY) ? RLIM_INFINITY : Number(x));
  return { cur: dec(v.getBigUint64(0, true)), max: dec(v.getBigUint64(8, true)) };
}

function prlimit(k: Kernel, t: Task, pid: number, res: number, newPtr: UserAddr, oldPtr: UserAddr): number {
  if (res < 0 || res >= RLIMIT_NLIMITS) return -Errno.EINVAL;
  const p = findProcess(k, t, pid);
  const lim = p.rlimits[res];
  let next: { cur: number; max: number } | null = null;
  if (newPtr !== 0) {
    next = decodeRlimit(copyIn(t.mm.as, newPtr, 16));
    if (next.cur > next.max) return -Errno.EINVAL;
    if (next.max > lim.max && p.creds.euid !== 0) return -Errno.EPERM;
    if (res === RLIMIT_NOFILE && next.max > 1024 * 1024) return -Errno.EPERM;
  }
  if (oldPtr !== 0) copyOut(t.mm.as, oldPtr, rlimitBytes(lim));
  if (next) {
    p.rlimits[res] = next;
    if (res === RLIMIT_NOFILE) {
      for (const th of p.threads) th.files.limit = Math.min(next.cur, k.config.limits?.openFiles ?? next.cur);
    }
    if (res === RLIMIT_STACK) for (const th of p.threads) th.mm.stackLimit = next.cur;
  }
  return 0;
}

/**
 * What sched_rr_get_interval reports for every task: one scheduler tick of the HZ=250 kernel
 * Lichen presents (4 ms), which is what Linux 6.1's CFS reports for a lone SCHED_OTHER task on
 * one CPU (its 6 ms slice rounded down to whole jiffies). Lichen has no SCHED_RR or SCHED_FIFO
 * to give the real-time 100 ms quantum to.
 */
export const RR_INTERVAL_NS = TICK_NS;

/** A task the sched_* calls may name: 0 is the caller, else any thread id in the task table. */
function schedTargetExists(k: Kernel, pid: number): boolean {
  return pid === 0 || k.tasks.has(pid);
}

function utsField(s: string): Uint8Array {
  const b = new Uint8Array(65);
  b.set(new TextEncoder().encode(s).subarray(0, 64));
  return b;
}

export const idSyscalls: SyscallDefs = {
  getpid: { handler: (_k, t) => t.process.pid },
  gettid: { handler: (_k, t) => t.tid },
  getppid: { handler: (_k, t) => t.process.parent?.pid ?? 0 },
  getuid: { handler: (_k, t) => t.process.creds.uid },
  geteuid: { handler: (_k, t) => t.process.creds.euid },
  getgid: { handler: (_k, t) => t.process.creds.gid },
  getegid: { handler: (_k, t) => t.process.creds.egid },
  getresuid: {
    handler: (_k, t, a) => {
      const [r, e, s] = [a.p(0), a.p(1), a.p(2)];
      const c = t.process.creds;
      writeU32(t.mm.as, r, c.uid);
      writeU32(t.mm.as, e, c.euid);
      writeU32(t.mm.as, s, c.suid);
      return 0;
    },
  },
  getresgid: {
    handler: (_k, t, a) => {
      const [r, e, s] = [a.p(0), a.p(1), a.p(2)];
      const c = t.process.creds;
      writeU32(t.mm.as, r, c.gid);
      writeU32(t.mm.as, e, c.egid);
      writeU32(t.mm.as, s, c.sgid);
      return 0;
    },
  },
  setuid: { handler: (_k, t, a) => setIds(t, 'u', a.i(0), a.i(0), a.i(0), true) },
  setgid: { handler: (_k, t, a) => setIds(t, 'g', a.i(0), a.i(0), a.i(0), true) },
  setreuid: { handler: (_k, t, a) => setIds(t, 'u', a.i(0), a.i(1), -1, false) },
  setregid: { handler: (_k, t, a) => setIds(t, 'g', a.i(0), a.i(1), -1, false) },
  setresuid: { handler: (_k, t, a) => setIds(t, 'u', a.i(0), a.i(1), a.i(2), false) },
  setresgid: { handler: (_k, t, a) => setIds(t, 'g', a.i(0), a.i(1), a.i(2), false) },
  setfsuid: { handler: (_k, t, a) => swapFs(t, 'u', a.i(0)) },
  setfsgid: { handler: (_k, t, a) => swapFs(t, 'g', a.i(0)) },
  getgroups: {
    handler: (_k, t, a) => {
      const n = a.i(0);
      const ptr = a.p(1);
      const g = t.process.creds.groups;
      if (n === 0) return g.length;
      if (n < g.length) return -Errno.EINVAL;
      const b = new Uint8Array(g.length * 4);
      const v = new DataView(b.buffer);
      g.forEach((x, i) => v.setUint32(i * 4, x, true));
      copyOut(t.mm.as, ptr, b);
      return g.length;
    },
  },
  setgroups: {
    handler: (_k, t, a) => {
      const n = a.i(0);
      const ptr = a.p(1);
      if (t.process.creds.euid !== 0) return -Errno.EPERM;
      if (n < 0 || n > 65536) return -Errno.EINVAL;
      const b = copyIn(t.mm.as, ptr, n * 4);
      const v = new DataView(b.buffer);
      t.process.creds.groups = Array.from({ length: n }, (_, i) => v.getUint32(i * 4, true));
      updateFsCred(t);
      return 0;
    },
  },
  getpgid: { handler: (k, t, a) => findProcess(k, t, a.i(0)).pgid },
  setpgid: {
    handler: (k, t, a) => {
      const pid = a.i(0);
      const pgid = a.i(1);
      if (pgid < 0) return -Errno.EINVAL;
      const p = findProcess(k, t, pid);
      if (p !== t.process && p.parent !== t.process) return -Errno.ESRCH;
      if (p.sid !== t.process.sid) return -Errno.EPERM;
      if (p.pid === p.sid) return -Errno.EPERM;
      const target = pgid === 0 ? p.pid : pgid;
      if (target !== p.pid) {
        const exists = [...k.processes.values()].some((q) => q.pgid === target && q.sid === p.sid && !q.zombie);
        if (!exists) return -Errno.EPERM;
      }
      p.pgid = target;
      return 0;
    },
  },
  getsid: { handler: (k, t, a) => findProcess(k, t, a.i(0)).sid },
  setsid: {
    handler: (k, t) => {
      const p = t.process;
      if ([...k.processes.values()].some((q) => q.pgid === p.pid && !q.zombie && q !== p)) return -Errno.EPERM;
      // A process group leader (a session leader too: a second setsid) may not (Linux).
      if (p.pgid === p.pid) return -Errno.EPERM;
      p.sid = p.pid;
      p.pgid = p.pid;
      return p.pid;
    },
  },
  uname: {
    handler: (k, t, a) => {
      const buf = new Uint8Array(65 * 6);
      const fields = [
        UTS.sysname,
        k.config.hostname ?? 'lichen',
        UTS.release,
        UTS.version,
        UTS.machine,
        UTS.domainname,
      ];
      fields.forEach((f, i) => buf.set(utsField(f), i * 65));
      copyOut(t.mm.as, a.p(0), buf);
      return 0;
    },
  },
  sethostname: {
    handler: (k, t, a) => {
      const len = a.i(1);
      if (len < 0 || len > 64) return -Errno.EINVAL;
      if (t.process.creds.euid !== 0) return -Errno.EPERM;
      k.config.hostname = new TextDecoder().decode(copyIn(t.mm.as, a.p(0), len));
      return 0;
    },
  },
  getrlimit: { handler: (k, t, a) => prlimit(k, t, 0, a.i(0), userAddr(0), a.p(1)) },
  setrlimit: { handler: (k, t, a) => prlimit(k, t, 0, a.i(0), a.p(1), userAddr(0)) },
  prlimit64: { handler: (k, t, a) => prlimit(k, t, a.i(0), a.i(1), a.p(2), a.p(3)) },
  umask: {
    handler: (_k, t, a) => {
      const old = t.process.fs.ctx.umask;
      t.process.fs.ctx.umask = a.i(0) & 0o777;
      return old;
    },
  },
  sysinfo: {
    handler: (k, t, a) => {
      const b = new Uint8Array(112);
      const v = new DataView(b.buffer);
      setU64(v, 0, Math.floor(k.clock.monotonicNs() / 1e9));
      const total = k.memoryLimit;
      const free = k.memory.freeFrames * 4096;
      setU64(v, 32, total);
      setU64(v, 40, free);
      v.setUint16(80, k.processes.size, true);
      v.setUint32(104, 1, true); // mem_unit
      copyOut(t.mm.as, a.p(0), b);
      return 0;
    },
  },
  prctl: {
    handler: (_k, t, a) => {
      const op = a.i(0);
      switch (op) {
        case 15: {
          // PR_SET_NAME
          const name = readCStringBytes(t.mm.as, a.p(1), 4096).subarray(0, 15);
          t.comm = Buffer.from(name).toString('latin1');
          if (t.tid === t.process.pid) t.process.comm = t.comm;
          return 0;
        }
        case 16: {
          // PR_GET_NAME
          const b = new Uint8Array(16);
          b.set(Buffer.from(t.comm, 'latin1').subarray(0, 15));
          copyOut(t.mm.as, a.p(1), b);
          return 0;
        }
        case 1: // PR_SET_PDEATHSIG
        case 4: // PR_SET_DUMPABLE
        case 38: // PR_SET_NO_NEW_PRIVS
        case 36: // PR_SET_CHILD_SUBREAPER
          return 0;
        case 3: // PR_GET_DUMPABLE
          return 1;
        case 2: // PR_GET_PDEATHSIG
          writeU32(t.mm.as, a.p(1), 0);
          return 0;
        case 39: // PR_GET_NO_NEW_PRIVS
          return 0;
        default:
          return -Errno.EINVAL;
      }
    },
    status: 'partial',
    note: 'PR_SET_NAME/GET_NAME, dumpable, no_new_privs, pdeathsig (accepted, not acted on); others EINVAL',
  },
  personality: {
    handler: (_k, _t, a) => (a.u(0) === 0xffffffff || a.u(0) === 0 ? 0 : -Errno.EINVAL),
    status: 'partial',
    note: 'only PER_LINUX',
  },
  sched_yield: {
    handler: (k, t) => {
      t.sliceLeft = 0;
      k.kick();
      return 0;
    },
  },
  sched_getaffinity: {
    handler: (k, t, a) => {
      const pid = a.i(0);
      const len = a.x(1);
      if (!schedTargetExists(k, pid)) return -Errno.ESRCH;
      if (len < 8 || len % 8 !== 0) return -Errno.EINVAL;
      const b = new Uint8Array(8);
      b[0] = 1;
      copyOut(t.mm.as, a.p(2), b);
      return 8;
    },
    note: 'one CPU',
  },
  sched_rr_get_interval: {
    handler: (k, t, a) => {
      const pid = a.i(0);
      const tp = a.p(1);
      if (pid < 0) return -Errno.EINVAL;
      if (!schedTargetExists(k, pid)) return -Errno.ESRCH;
      writeTimespec(t.mm.as, tp, nsToTimespec(RR_INTERVAL_NS));
      return 0;
    },
    note: 'one 4 ms tick (HZ=250) for every task',
  },
  sched_setaffinity: { handler: () => 0, status: 'partial', note: 'accepted; uniprocessor' },
  sched_getscheduler: { handler: () => 0 },
  sched_setscheduler: { handler: () => 0, status: 'partial', note: 'accepted, SCHED_OTHER only in effect' },
  sched_getparam: {
    handler: (_k, t, a) => {
      writeU32(t.mm.as, a.p(1), 0);
      return 0;
    },
  },
  sched_setparam: { handler: () => 0, status: 'partial', note: 'accepted, no effect' },
  sched_get_priority_max: { handler: (_k, _t, a) => (a.i(0) === 1 || a.i(0) === 2 ? 99 : 0) },
  sched_get_priority_min: { handler: (_k, _t, a) => (a.i(0) === 1 || a.i(0) === 2 ? 1 : 0) },
  getpriority: { handler: () => 20 },
  setpriority: { handler: () => 0, status: 'partial', note: 'accepted, no effect on the scheduler' },
  getcpu: {
    handler: (_k, t, a) => {
      const cpuPtr = a.p(0);
      const nodePtr = a.p(1);
      if (cpuPtr !== 0) writeU32(t.mm.as, cpuPtr, 0);
      if (nodePtr !== 0) writeU32(t.mm.as, nodePtr, 0);
      return 0;
    },
  },
  capget: {
    handler: (_k, t, a) => {
      const data = a.p(1);
      if (data !== 0) {
        const full = t.process.creds.euid === 0 ? 0xffffffff : 0;
        const b = new Uint8Array(24);
        const v = new DataView(b.buffer);
        for (let i = 0; i < 2; i++) {
          v.setUint32(i * 12, full, true);
          v.setUint32(i * 12 + 4, full, true);
        }
        copyOut(t.mm.as, data, b);
      }
      return 0;
    },
    status: 'partial',
    note: 'root has every capability, others none',
  },
  capset: { handler: () => 0, status: 'partial', note: 'accepted, capabilities follow uid 0' },
};

function updateFsCred(t: Task): void {
  const c = t.process.creds;
  t.process.fs.ctx = { ...t.process.fs.ctx, cred: { uid: c.fsuid, gid: c.fsgid, groups: c.groups } };
}

function setIds(t: Task, kind: 'u' | 'g', r: number, e: number, s: number, single: boolean): number {
  const c = t.process.creds;
  const priv = c.euid === 0;
  const cur = kind === 'u' ? [c.uid, c.euid, c.suid] : [c.gid, c.egid, c.sgid];
  const allowed = (x: number): boolean => x === -1 || priv || cur.includes(x >>> 0);
  if (single) {
    if (r < 0) return -Errno.EINVAL;
    if (priv) {
      cur[0] = cur[1] = cur[2] = r >>> 0;
    } else if (cur[0] === r >>> 0 || cur[2] === r >>> 0) {
      cur[1] = r >>> 0;
    } else return -Errno.EPERM;
  } else {
    if (!allowed(r) || !allowed(e) || !allowed(s)) return -Errno.EPERM;
    if (r !== -1) cur[0] = r >>> 0;
    if (e !== -1) cur[1] = e >>> 0;
    if (s !== -1) cur[2] = s >>> 0;
  }
  if (kind === 'u') {
    [c.uid, c.euid, c.suid] = cur;
    c.fsuid = c.euid;
  } else {
    [c.gid, c.egid, c.sgid] = cur;
    c.fsgid = c.egid;
  }
  updateFsCred(t);
  return 0;
}

function swapFs(t: Task, kind: 'u' | 'g', id: number): number {
  const c = t.process.creds;
  const old = kind === 'u' ? c.fsuid : c.fsgid;
  if (id !== -1 && (c.euid === 0 || id >>> 0 === (kind === 'u' ? c.uid : c.gid))) {
    if (kind === 'u') c.fsuid = id >>> 0;
    else c.fsgid = id >>> 0;
    updateFsCred(t);
  }
  return old;
}
