/** rt_sigaction, rt_sigprocmask, rt_sigreturn, sigaltstack, kill family, rt_sigpending, rt_sigsuspend, rt_sigtimedwait. */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { SyscallDefs } from '../syscalls/types';
import { RETURN_NONE } from '../syscalls/types';
import type { Process, Task } from '../task';
import { unparkTimers } from '../time/posix-timers';
import { readTimespec } from '../time/timespec';
import { copyIn, copyOut, readU64Big, writeU64Big, type UserAddr } from '../uaccess';
import { dequeueSignal, discardQueued, sendSignalToProcess, sendSignalToTask } from './deliver';
import { FRAME_UC, RT_SIGFRAME_SIZE, UC_SIGMASK, UC_STACK, restoreMachineContext } from './frame';
import {
  SA_RESTORER,
  SI_QUEUE,
  SI_TKILL,
  SI_USER,
  SIGKILL,
  SIGSEGV,
  SIGSTOP,
  SIG_DFL,
  UNBLOCKABLE,
  decodeSigInfo,
  encodeSigInfo,
  sigBit,
  type SigAction,
} from './signals';

const SIG_BLOCK = 0;
const SIG_UNBLOCK = 1;
const SIG_SETMASK = 2;
const SS_ONSTACK = 1;
const SS_DISABLE = 2;
const MINSIGSTKSZ = 5120;

function validSig(sig: number): boolean {
  return sig >= 1 && sig <= 64;
}

/** struct sigaction on aarch64: handler(8) flags(8) restorer(8) mask(8). */
function rtSigaction(k: Kernel, t: Task, sig: number, actPtr: UserAddr, oldPtr: UserAddr, size: number): number {
  if (size !== 8) return -Errno.EINVAL;
  if (!validSig(sig)) return -Errno.EINVAL;
  const as = t.mm.as;
  let next: SigAction | null = null;
  if (actPtr !== 0) {
    const b = copyIn(as, actPtr, 32);
    const v = new DataView(b.buffer);
    next = {
      handler: Number(v.getBigUint64(0, true)),
      flags: Number(v.getBigUint64(8, true) & 0xffffffffn),
      restorer: Number(v.getBigUint64(16, true)),
      mask: v.getBigUint64(24, true) & ~UNBLOCKABLE,
    };
    if (sig === SIGKILL || sig === SIGSTOP) return -Errno.EINVAL;
  }
  const cur = t.sighand.actions[sig];
  if (oldPtr !== 0) {
    const b = new Uint8Array(32);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, BigInt(cur.handler), true);
    v.setBigUint64(8, BigInt(cur.flags >>> 0), true);
    v.setBigUint64(16, BigInt(cur.flags & SA_RESTORER ? cur.restorer : 0), true);
    v.setBigUint64(24, BigInt.asUintN(64, cur.mask), true);
    copyOut(as, oldPtr, b);
  }
  if (next) {
    t.sighand.actions[sig] = next;
    // setting SIG_IGN (or SIG_DFL for default-ignore signals) discards pending instances
    if (next.handler === 1 || (next.handler === SIG_DFL && (sig === 17 || sig === 23 || sig === 28))) {
      discardQueued(t.process, (x) => x.signo === sig, sigBit(sig));
    } else unparkTimers(k, t.process, sig);
  }
  return 0;
}

function rtSigprocmask(t: Task, how: number, setPtr: UserAddr, oldPtr: UserAddr, size: number): number {
  if (size !== 8) return -Errno.EINVAL;
  const as = t.mm.as;
  let set: bigint | null = null;
  if (setPtr !== 0) set = readU64Big(as, setPtr);
  if (set !== null && how !== SIG_BLOCK && how !== SIG_UNBLOCK && how !== SIG_SETMASK) return -Errno.EINVAL;
  if (oldPtr !== 0) writeU64Big(as, oldPtr, t.sigmask);
  if (set !== null) {
    if (how === SIG_BLOCK) t.sigmask |= set;
    else if (how === SIG_UNBLOCK) t.sigmask &= ~set;
    else t.sigmask = set;
    t.sigmask &= ~UNBLOCKABLE;
  }
  return 0;
}

function rtSigreturn(k: Kernel, t: Task): number {
  const cpu = k.cpu;
  const frameAddr = cpu.sp as number;
  let frame: Uint8Array;
  try {
    frame = copyIn(t.mm.as, frameAddr as UserAddr, RT_SIGFRAME_SIZE);
  } catch {
    return badFrame(k, t);
  }
  if (!restoreMachineContext(cpu, frame)) return badFrame(k, t);
  const v = new DataView(frame.buffer);
  t.sigmask = v.getBigUint64(FRAME_UC + UC_SIGMASK, true) & ~UNBLOCKABLE;
  // restore_altstack: errors are ignored like Linux's compat path
  const ssSp = Number(v.getBigUint64(FRAME_UC + UC_STACK, true));
  const ssFlags = v.getInt32(FRAME_UC + UC_STACK + 8, true);
  const ssSize = Number(v.getBigUint64(FRAME_UC + UC_STACK + 16, true));
  if (!onAltStack(t, cpu.sp as number)) {
    if (ssFlags & SS_DISABLE) t.altstack = { sp: 0, size: 0, flags: SS_DISABLE };
    else if (ssSize >= MINSIGSTKSZ) t.altstack = { sp: ssSp, size: ssSize, flags: 0 };
  }
  return RETURN_NONE;
}

function badFrame(k: Kernel, t: Task): number {
  t.lastFault = { pc: k.cpu.pc, addr: k.cpu.sp, reason: 'bad signal frame in rt_sigreturn', code: 0 };
  k.recordCrash(t, SIGSEGV, 0);
  k.killProcess(t.process, SIGSEGV);
  return RETURN_NONE;
}

function onAltStack(t: Task, sp: number): boolean {
  const a = t.altstack;
  return a.size > 0 && (a.flags & SS_DISABLE) === 0 && sp > a.sp && sp <= a.sp + a.size;
}

function sigaltstack(k: Kernel, t: Task, ssPtr: UserAddr, oldPtr: UserAddr): number {
  const as = t.mm.as;
  const sp = k.cpu.sp as number;
  const on = onAltStack(t, sp);
  let next: { sp: number; size: number; flags: number } | null = null;
  if (ssPtr !== 0) {
    const v = new DataView(copyIn(as, ssPtr, 24).buffer);
    const ssSp = Number(v.getBigUint64(0, true));
    const flags = v.getInt32(8, true);
    const size = Number(v.getBigUint64(16, true));
    if (on) return -Errno.EPERM;
    if (flags & ~(SS_DISABLE | SS_ONSTACK | 0x80000000)) return -Errno.EINVAL;
    if (flags & SS_DISABLE) next = { sp: 0, size: 0, flags: SS_DISABLE };
    else {
      if (size < MINSIGSTKSZ) return -Errno.ENOMEM;
      next = { sp: ssSp, size, flags: 0 };
    }
  }
  if (oldPtr !== 0) {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, BigInt(t.altstack.sp), true);
    v.setInt32(8, t.altstack.flags & SS_DISABLE ? SS_DISABLE : on ? SS_ONSTACK : 0, true);
    v.setBigUint64(16, BigInt(t.altstack.size), true);
    copyOut(as, oldPtr, b);
  }
  if (next) t.altstack = next;
  return 0;
}

function killTargets(k: Kernel, t: Task, pid: number): Process[] {
  const all = [...k.processes.values()].filter((p) => !p.zombie);
  if (pid > 0) {
    const p = k.processes.get(pid);
    if (!p || p.zombie) throw new KernelError(Errno.ESRCH);
    return [p];
  }
  if (pid === 0) return all.filter((p) => p.pgid === t.process.pgid);
  if (pid === -1) return all.filter((p) => p !== t.process && p !== k.init);
  const list = all.filter((p) => p.pgid === -pid);
  if (list.length === 0) throw new KernelError(Errno.ESRCH);
  return list;
}

function kill(k: Kernel, t: Task, pid: number, sig: number): number {
  if (sig < 0 || sig > 64) return -Errno.EINVAL;
  const targets = killTargets(k, t, pid);
  if (targets.length === 0) return -Errno.ESRCH;
  if (sig === 0) return 0;
  for (const p of targets)
    sendSignalToProcess(k, p, { signo: sig, code: SI_USER, pid: t.pid, uid: t.process.creds.uid });
  return 0;
}

function tgkill(k: Kernel, t: Task, tgid: number, tid: number, sig: number): number {
  if (sig < 0 || sig > 64 || tid <= 0) return -Errno.EINVAL;
  const target = k.tasks.get(tid);
  if (!target || (tgid !== -1 && target.process.pid !== tgid)) return -Errno.ESRCH;
  if (sig === 0) return 0;
  if (sig === SIGKILL) {
    k.killProcess(target.process, SIGKILL);
    return 0;
  }
  sendSignalToTask(k, target, { signo: sig, code: SI_TKILL, pid: t.pid, uid: t.process.creds.uid });
  return 0;
}

async function sigsuspend(t: Task, mask: bigint): Promise<number> {
  t.savedSigmask = t.sigmask;
  t.sigmask = mask & ~UNBLOCKABLE;
  for (;;) {
    try {
      await t.sleep([]);
    } catch {
      return -Errno.ERESTARTNOHAND;
    }
  }
}

async function sigtimedwait(
  k: Kernel,
  t: Task,
  set: bigint,
  infoPtr: UserAddr,
  deadline: number | null,
): Promise<number> {
  for (;;) {
    const info = dequeueSignal(t, set);
    if (info) {
      if (infoPtr !== 0) copyOut(t.mm.as, infoPtr, encodeSigInfo(info));
      return info.signo;
    }
    if (deadline !== null && deadline <= k.clock.monotonicNs()) return -Errno.EAGAIN;
    // the waited-for signals are temporarily unblocked for wakeup purposes
    const saved = t.sigmask;
    t.sigmask &= ~set;
    try {
      const r = await t.sleep([], deadline === null ? undefined : (fire) => k.addTimer(deadline, fire), (x) =>
        k.cancelTimer(x),
      );
      if (r === 'timeout') {
        t.sigmask = saved;
        const late = dequeueSignal(t, set);
        if (late) {
          if (infoPtr !== 0) copyOut(t.mm.as, infoPtr, encodeSigInfo(late));
          return late.signo;
        }
        return -Errno.EAGAIN;
      }
    } catch {
      t.sigmask = saved;
      const got = dequeueSignal(t, set);
      if (got) {
        if (infoPtr !== 0) copyOut(t.mm.as, infoPtr, encodeSigInfo(got));
        return got.signo;
      }
      return -Errno.EINTR;
    }
    t.sigmask = saved;
  }
}

export const signalSyscalls: SyscallDefs = {
  rt_sigaction: { handler: (k, t, a) => rtSigaction(k, t, a.i(0), a.p(1), a.p(2), a.x(3)) },
  rt_sigprocmask: { handler: (_k, t, a) => rtSigprocmask(t, a.i(0), a.p(1), a.p(2), a.x(3)) },
  rt_sigreturn: { handler: (k, t) => rtSigreturn(k, t) },
  sigaltstack: { handler: (k, t, a) => sigaltstack(k, t, a.p(0), a.p(1)) },
  kill: { handler: (k, t, a) => kill(k, t, a.i(0), a.i(1)) },
  tkill: { handler: (k, t, a) => tgkill(k, t, -1, a.i(0), a.i(1)) },
  tgkill: { handler: (k, t, a) => tgkill(k, t, a.i(0), a.i(1), a.i(2)) },
  rt_sigpending: {
    handler: (_k, t, a) => {
      if (a.x(1) !== 8) return -Errno.EINVAL;
      writeU64Big(t.mm.as, a.p(0), (t.pending | t.process.sharedPending) & t.sigmask);
      return 0;
    },
  },
  rt_sigsuspend: {
    handler: (_k, t, a) => {
      if (a.x(1) !== 8) return -Errno.EINVAL;
      return sigsuspend(t, readU64Big(t.mm.as, a.p(0)));
    },
  },
  rt_sigtimedwait: {
    handler: (k, t, a) => {
      const setPtr = a.p(0);
      const infoPtr = a.p(1);
      const tsPtr = a.p(2);
      if (a.x(3) !== 8) return -Errno.EINVAL;
      const set = readU64Big(t.mm.as, setPtr) & ~UNBLOCKABLE;
      let deadline: number | null = null;
      if (tsPtr !== 0) {
        const ts = readTimespec(t.mm.as, tsPtr);
        deadline = k.clock.monotonicNs() + ts.sec * 1e9 + ts.nsec;
      }
      return sigtimedwait(k, t, set, infoPtr, deadline);
    },
  },
  rt_sigqueueinfo: {
    handler: (k, t, a) => {
      const pid = a.i(0);
      const sig = a.i(1);
      const info = decodeSigInfo(copyIn(t.mm.as, a.p(2), 128));
      if (!validSig(sig)) return -Errno.EINVAL;
      if (info.code >= 0 || info.code === SI_TKILL) return -Errno.EPERM;
      const p = k.processes.get(pid);
      if (!p || p.zombie) return -Errno.ESRCH;
      sendSignalToProcess(k, p, { ...info, signo: sig, code: info.code ?? SI_QUEUE });
      return 0;
    },
  },
  rt_tgsigqueueinfo: {
    handler: (k, t, a) => {
      const tgid = a.i(0);
      const tid = a.i(1);
      const sig = a.i(2);
      const info = decodeSigInfo(copyIn(t.mm.as, a.p(3), 128));
      if (!validSig(sig)) return -Errno.EINVAL;
      const target = k.tasks.get(tid);
      if (!target || target.process.pid !== tgid) return -Errno.ESRCH;
      sendSignalToTask(k, target, { ...info, signo: sig });
      return 0;
    },
  },
};
