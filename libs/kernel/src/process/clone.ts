/** clone, clone3 (fork, vfork, threads), set_tid_address. */
import { guestAddr } from '@lichen/machine';
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import { Process, Task, RLIMIT_NPROC } from '../task';
import { copyIn, writeU32, userAddr, type UserAddr } from '../uaccess';
import { WaitQueue } from '../wait';

export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_PIDFD = 0x00001000;
export const CLONE_PTRACE = 0x00002000;
export const CLONE_VFORK = 0x00004000;
export const CLONE_PARENT = 0x00008000;
export const CLONE_THREAD = 0x00010000;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_SYSVSEM = 0x00040000;
export const CLONE_SETTLS = 0x00080000;
export const CLONE_PARENT_SETTID = 0x00100000;
export const CLONE_CHILD_CLEARTID = 0x00200000;
export const CLONE_DETACHED = 0x00400000;
export const CLONE_UNTRACED = 0x00800000;
export const CLONE_CHILD_SETTID = 0x01000000;
const NAMESPACE_FLAGS = 0x7e020000 & ~CLONE_NEWNS;

export interface CloneArgs {
  flags: number;
  exitSignal: number;
  stack: number;
  tls: bigint;
  parentTid: UserAddr;
  childTid: UserAddr;
}

export function doClone(k: Kernel, t: Task, c: CloneArgs): number | Promise<number> {
  const f = c.flags;
  if (f & CLONE_THREAD && !(f & CLONE_SIGHAND)) return -Errno.EINVAL;
  if (f & CLONE_SIGHAND && !(f & CLONE_VM)) return -Errno.EINVAL;
  if (f & (NAMESPACE_FLAGS | CLONE_NEWNS)) return -Errno.EPERM;
  if (f & CLONE_PIDFD) return -Errno.EINVAL;
  const limit = Math.min(k.config.limits?.processes ?? 1024, t.process.rlimits[RLIMIT_NPROC].cur);
  if (k.tasks.size >= limit) return -Errno.EAGAIN;
  const parent = t.process;
  const tid = k.allocId();
  // resources
  let mm = t.mm;
  if (f & CLONE_VM) mm.users++;
  else mm = t.mm.fork();
  let files = t.files;
  if (f & CLONE_FILES) files.users++;
  else files = files.clone();
  let sighand = t.sighand;
  if (f & CLONE_SIGHAND) sighand.users++;
  else sighand = sighand.clone();
  let proc: Process;
  if (f & CLONE_THREAD) {
    proc = parent;
  } else {
    let fs = parent.fs;
    if (f & CLONE_FS) fs.users++;
    else fs = parent.fs.clone();
    proc = new Process(
      tid,
      { ...parent.creds, groups: [...parent.creds.groups] },
      fs,
      parent.rlimits,
      c.exitSignal,
      parent.comm,
    );
    proc.fs.ctx = { ...proc.fs.ctx, pid: tid, tid };
    proc.pgid = parent.pgid;
    proc.sid = parent.sid;
    proc.exePath = parent.exePath;
    proc.argv = parent.argv;
    proc.envp = parent.envp;
    proc.startNs = k.clock.monotonicNs();
    const realParent = f & CLONE_PARENT && parent.parent ? parent.parent : parent;
    proc.parent = realParent;
    realParent.children.add(proc);
    k.processes.set(tid, proc);
  }
  const child = new Task(tid, proc, mm, files, sighand);
  child.comm = t.comm;
  child.sigmask = t.sigmask;
  child.altstack = f & CLONE_VM && !(f & CLONE_VFORK) ? { sp: 0, size: 0, flags: 2 } : { ...t.altstack };
  proc.threads.add(child);
  k.tasks.set(tid, child);
  k.tasksCreated++;
  if (f & CLONE_CHILD_CLEARTID) child.clearChildTid = c.childTid;
  child.ctx = k.deriveContext(t, (cpu) => {
    cpu.setXNumber(0, 0);
    if (c.stack !== 0) cpu.sp = guestAddr(c.stack);
    if (f & CLONE_SETTLS) cpu.tpidrEl0 = c.tls;
  });
  try {
    if (f & CLONE_PARENT_SETTID) writeU32(t.mm.as, c.parentTid, tid);
    if (f & CLONE_CHILD_SETTID) writeU32(mm.as, c.childTid, tid);
  } catch {
    // Linux ignores faults here too (the child still runs)
  }
  k.makeRunnable(child);
  if (f & CLONE_VFORK) {
    const wq = (proc.vforkDone = new WaitQueue());
    // the parent waits (uninterruptibly, like Linux) until the child execs or exits
    return new Promise<number>((resolve) => {
      const w = (): void => {
        wq.remove(w);
        resolve(tid);
      };
      wq.add(w);
    });
  }
  return tid;
}

export const cloneSyscalls: SyscallDefs = {
  clone: {
    handler: (k, t, a) =>
      doClone(k, t, {
        flags: a.u(0) & ~0xff,
        exitSignal: a.u(0) & 0xff,
        stack: a.x(1),
        parentTid: a.p(2),
        tls: a.big(3),
        childTid: a.p(4),
      }),
    status: 'partial',
    note: 'namespaces (CLONE_NEW*) give EPERM; CLONE_PIDFD unsupported',
  },
  clone3: {
    handler: (k, t, a) => {
      const ptr = a.p(0);
      const size = a.x(1);
      if (size < 64 || size > 4096) return -Errno.EINVAL;
      const b = copyIn(t.mm.as, ptr, 64);
      const v = new DataView(b.buffer);
      const flags = Number(v.getBigUint64(0, true));
      const stack = Number(v.getBigUint64(40, true));
      const stackSize = Number(v.getBigUint64(48, true));
      if (flags > 0xffffffff) return -Errno.EINVAL;
      return doClone(k, t, {
        flags,
        exitSignal: Number(v.getBigUint64(32, true)),
        stack: stack ? stack + stackSize : 0,
        parentTid: userAddr(Number(v.getBigUint64(24, true))),
        childTid: userAddr(Number(v.getBigUint64(16, true))),
        tls: v.getBigUint64(56, true),
      });
    },
    status: 'partial',
    note: 'set_tid, cgroup and pidfd fields unsupported',
  },
  set_tid_address: {
    handler: (_k, t, a) => {
      t.clearChildTid = a.x(0);
      return t.tid;
    },
  },
};
