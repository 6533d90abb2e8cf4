/**
 * Sending, forcing and delivering signals: default actions, handler frames, restart of
 * interrupted syscalls, group stop/continue.
 */
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import { SIGTRAMP_ADDR } from '../mm/mm';
import type { Process, Task } from '../task';
import { copyOut, userAddr } from '../uaccess';
import { FRAME_UC, RT_SIGFRAME_SIZE, UC_SIGMASK, UC_STACK, saveMachineContext } from './frame';
import {
  CLD_CONTINUED,
  CLD_STOPPED,
  SA_NOCLDSTOP,
  SA_NODEFER,
  SA_ONSTACK,
  SA_RESETHAND,
  SA_RESTART,
  SA_RESTORER,
  SA_SIGINFO,
  SIGCHLD,
  SIGCONT,
  SIGKILL,
  SIGSEGV,
  SIGSTOP,
  SIG_DFL,
  SIG_IGN,
  UNBLOCKABLE,
  defaultAction,
  encodeSigInfo,
  firstSignal,
  sigBit,
  type SigInfo,
} from './signals';

const SS_ONSTACK = 1;
const SS_DISABLE = 2;

function isIgnored(t: Task, sig: number): boolean {
  const act = t.sighand.actions[sig];
  if (act.handler === SIG_IGN) return true;
  return act.handler === SIG_DFL && defaultAction(sig) === 'ign';
}

/** Wakes `t` if it sleeps interruptibly so it can act on a signal. */
function signalWake(k: Kernel, t: Task): void {
  if (t.state === 'stopped') return;
  if (t.interrupter) {
    const i = t.interrupter;
    t.interrupter = null;
    t.waker = null;
    i();
  }
  k.kick();
}

/**
 * Queues a signal for one thread (tkill, faults, SIGEV_THREAD_ID timers). Returns whether it
 * was queued (false: ignored, target gone, or a standard signal already pending). `always`
 * queues a standard signal even when one is pending (a POSIX timer's own instance, as Linux
 * send_sigqueue does).
 */
export function sendSignalToTask(k: Kernel, t: Task, info: SigInfo, always = false): boolean {
  const sig = info.signo;
  if (t.state === 'dead' || t.state === 'zombie') return false;
  if (prepareSignal(k, t.process, sig)) return false;
  const bit = sigBit(sig);
  if (sig < 32 && !always && (t.pending & bit) !== 0n) return false; // standard signals do not queue twice
  t.pending |= bit;
  t.pendingQueue.push(info);
  for (const f of k.signalFds) f.pollWq.wakeAll();
  if ((t.sigmask & bit) === 0n || sig === SIGKILL) signalWake(k, t);
  return true;
}

/**
 * Queues a signal for a process; a thread that does not block it is woken. Returns whether
 * it was queued (see sendSignalToTask for `always`).
 */
export function sendSignalToProcess(k: Kernel, p: Process, info: SigInfo, always = false): boolean {
  const sig = info.signo;
  if (p.zombie) return false;
  if (prepareSignal(k, p, sig)) return false;
  const bit = sigBit(sig);
  if (sig === SIGKILL) {
    k.killProcess(p, SIGKILL);
    return true;
  }
  if (sig < 32 && !always && (p.sharedPending & bit) !== 0n) return false;
  p.sharedPending |= bit;
  p.sharedQueue.push(info);
  for (const f of k.signalFds) f.pollWq.wakeAll();
  for (const t of p.threads) {
    if (t.state === 'dead' || t.state === 'zombie') continue;
    if ((t.sigmask & bit) === 0n) {
      signalWake(k, t);
      break;
    }
  }
  return true;
}

/** Removes queued instances matching `drop` from a queue; returns the signals still queued there. */
function dropFrom(q: SigInfo[], drop: (x: SigInfo) => boolean): bigint {
  let left = 0n;
  for (let i = q.length - 1; i >= 0; i--) {
    const x = q[i];
    if (drop(x)) {
      q.splice(i, 1);
      x.onDequeue?.(false);
    } else left |= sigBit(x.signo);
  }
  return left;
}

/**
 * Discards queued signals of `p` (shared and every thread's) matching `drop`, clearing the
 * pending bits of signals with no instance left (SIG_IGN flush, a POSIX timer re-set or deleted).
 */
export function discardQueued(p: Process, drop: (x: SigInfo) => boolean, sigs: bigint): void {
  const shared = dropFrom(p.sharedQueue, drop);
  p.sharedPending &= ~(sigs & ~shared);
  for (const t of p.threads) {
    const own = dropFrom(t.pendingQueue, drop);
    t.pending &= ~(sigs & ~own);
  }
}

/**
 * Stop/continue side effects at send time and discarding of ignored signals.
 * Returns true when the signal is consumed (ignored, or SIGCONT/SIGSTOP handled here).
 */
function prepareSignal(k: Kernel, p: Process, sig: number): boolean {
  const lead = [...p.threads].find((t) => t.state !== 'dead');
  if (!lead) return true;
  if (sig === SIGCONT) {
    // drop pending stop signals, resume a stopped group
    const stops = sigBit(19) | sigBit(20) | sigBit(21) | sigBit(22);
    p.sharedPending &= ~stops;
    for (const t of p.threads) t.pending &= ~stops;
    if (p.stopped) {
      p.stopped = false;
      p.continuedReport = true;
      for (const t of p.threads) if (t.state === 'stopped') k.makeRunnable(t);
      notifyParentStopCont(k, p, CLD_CONTINUED, SIGCONT);
    }
  } else if (defaultAction(sig) === 'stop') {
    p.sharedPending &= ~sigBit(SIGCONT);
    for (const t of p.threads) t.pending &= ~sigBit(SIGCONT);
  }
  if (sig === SIGKILL || sig === SIGSTOP) return false;
  // ignored signals are discarded at once (unless blocked: they stay pending)
  const blockedEverywhere = [...p.threads].every((t) => (t.sigmask & sigBit(sig)) !== 0n);
  return isIgnored(lead, sig) && !blockedEverywhere;
}

function notifyParentStopCont(k: Kernel, p: Process, code: number, sig: number): void {
  const parent = p.parent;
  if (!parent || parent.zombie) return;
  const lead = [...parent.threads].find((t) => t.state !== 'dead');
  if (lead && (lead.sighand.actions[SIGCHLD].flags & SA_NOCLDSTOP) === 0)
    sendSignalToProcess(k, parent, { signo: SIGCHLD, code, pid: p.pid, uid: p.creds.uid, status: sig });
  parent.childWq.wakeAll();
}

/**
 * A synchronous fault signal: if blocked or ignored it is unblocked and reset to the
 * default action (Linux force_sig_info), then queued for the faulting thread.
 */
export function forceSignal(_k: Kernel, t: Task, info: SigInfo): void {
  const sig = info.signo;
  const act = t.sighand.actions[sig];
  const bit = sigBit(sig);
  if (act.handler === SIG_IGN || (t.sigmask & bit) !== 0n) {
    if (act.handler === SIG_IGN) act.handler = SIG_DFL;
    t.sigmask &= ~bit;
  }
  t.pending |= bit;
  t.pendingQueue.push(info);
}

function dequeue(t: Task, sig: number): SigInfo {
  const bit = sigBit(sig);
  const take = (q: SigInfo[]): SigInfo | undefined => {
    const i = q.findIndex((x) => x.signo === sig);
    if (i < 0) return undefined;
    const [info] = q.splice(i, 1);
    return info;
  };
  if (t.pending & bit) {
    const info = take(t.pendingQueue) ?? { signo: sig, code: 0 };
    if (!t.pendingQueue.some((x) => x.signo === sig)) t.pending &= ~bit;
    info.onDequeue?.(true);
    return info;
  }
  const p = t.process;
  const info = take(p.sharedQueue) ?? { signo: sig, code: 0 };
  if (!p.sharedQueue.some((x) => x.signo === sig)) p.sharedPending &= ~bit;
  info.onDequeue?.(true);
  return info;
}

/** Takes the next pending signal in `mask` (sigtimedwait, signalfd). */
export function dequeueSignal(t: Task, mask: bigint): SigInfo | null {
  const m = (t.pending | t.process.sharedPending) & mask;
  if (m === 0n) return null;
  return dequeue(t, firstSignal(m));
}

/** Restart decision for a syscall interrupted with no handler run. */
function restartNoHandler(k: Kernel, t: Task): void {
  if (t.restart === 0) return;
  t.restart = 0;
  k.cpu.pc = (k.cpu.pc - 4) as typeof k.cpu.pc;
}

/**
 * Acts on pending, unblocked signals of the current task `t` (its registers are in the CPU):
 * default actions, or a handler frame. Also completes syscall restarts.
 */
export function deliverSignals(k: Kernel, t: Task): void {
  const cpu = k.cpu;
  for (let guard = 0; guard < 70; guard++) {
    const mask = (t.pending | t.process.sharedPending) & ~(t.sigmask & ~UNBLOCKABLE);
    if (mask === 0n) break;
    const sig = firstSignal(mask);
    const info = dequeue(t, sig);
    const act = t.sighand.actions[sig];
    if (sig !== SIGKILL && sig !== SIGSTOP && act.handler === SIG_IGN) continue;
    if (sig === SIGKILL || sig === SIGSTOP || act.handler === SIG_DFL) {
      const d = defaultAction(sig);
      if (d === 'ign' || d === 'cont') continue;
      if (k.tracer !== null) k.tracer.signal(t, info);
      if (d === 'stop') {
        const p = t.process;
        if (!p.stopped) {
          p.stopped = true;
          p.stopReport = sig;
          for (const th of p.threads) if (th.state === 'runnable' || th.state === 'blocked') th.state = 'stopped';
          notifyParentStopCont(k, p, CLD_STOPPED, sig);
        }
        restartNoHandler(k, t);
        return;
      }
      // term / core
      k.recordCrash(t, sig, info.code);
      k.killProcess(t.process, sig, false);
      return;
    }
    if (k.tracer !== null) k.tracer.signal(t, info);
    // a handler: decide the restart first (the frame records the final pc/x0)
    if (t.restart !== 0) {
      const r = t.restart;
      t.restart = 0;
      if (r === Errno.ERESTARTNOINTR || (r === Errno.ERESTARTSYS && (act.flags & SA_RESTART) !== 0)) {
        cpu.pc = (cpu.pc - 4) as typeof cpu.pc;
      } else {
        cpu.setXNumber(0, -Errno.EINTR);
      }
    }
    // a handled fault is not the crash that may come later
    if (t.lastFault && t.lastFault.code === info.code) t.lastFault = null;
    if (!setupFrame(k, t, sig, info)) {
      // could not write the frame: SIGSEGV with the default action
      t.sighand.actions[SIGSEGV].handler = SIG_DFL;
      k.recordCrash(t, SIGSEGV, 0);
      k.killProcess(t.process, SIGSEGV);
      return;
    }
  }
  restartNoHandler(k, t);
}

function setupFrame(k: Kernel, t: Task, sig: number, info: SigInfo): boolean {
  const cpu = k.cpu;
  const act = t.sighand.actions[sig];
  const oldMask = t.savedSigmask ?? t.sigmask;
  t.savedSigmask = null;
  let sp = cpu.sp as number;
  const alt = t.altstack;
  const onAlt = alt.size > 0 && sp > alt.sp && sp <= alt.sp + alt.size;
  if (act.flags & SA_ONSTACK && (alt.flags & SS_DISABLE) === 0 && !onAlt) sp = alt.sp + alt.size;
  const origSp = cpu.sp as number;
  const record = Math.floor((sp - 16) / 16) * 16;
  const frameAddr = record - RT_SIGFRAME_SIZE;
  const frame = new Uint8Array(RT_SIGFRAME_SIZE);
  const v = new DataView(frame.buffer);
  frame.set(encodeSigInfo(info), 0);
  // uc_flags, uc_link = 0; uc_stack = the alternate stack as it was
  v.setBigUint64(FRAME_UC + UC_STACK, BigInt(alt.sp), true);
  v.setInt32(
    FRAME_UC + UC_STACK + 8,
    alt.flags & SS_DISABLE ? SS_DISABLE : onAlt || (act.flags & SA_ONSTACK) !== 0 ? SS_ONSTACK : 0,
    true,
  );
  v.setBigUint64(FRAME_UC + UC_STACK + 16, BigInt(alt.size), true);
  v.setBigUint64(FRAME_UC + UC_SIGMASK, BigInt.asUintN(64, oldMask), true);
  saveMachineContext(cpu, frame, info.addr ?? 0);
  const rec = new Uint8Array(16);
  const rv = new DataView(rec.buffer);
  rv.setBigUint64(0, BigInt.asUintN(64, cpu.getX(29)), true);
  rv.setBigUint64(8, BigInt.asUintN(64, cpu.getX(30)), true);
  try {
    copyOut(t.mm.as, userAddr(frameAddr), frame);
    copyOut(t.mm.as, userAddr(record), rec);
  } catch {
    return false;
  }
  void origSp;
  cpu.setXNumber(0, sig);
  if (act.flags & SA_SIGINFO) {
    cpu.setXNumber(1, frameAddr);
    cpu.setXNumber(2, frameAddr + FRAME_UC);
  }
  cpu.sp = frameAddr as typeof cpu.sp;
  cpu.setXNumber(29, record);
  cpu.setXNumber(30, act.flags & SA_RESTORER ? act.restorer : SIGTRAMP_ADDR);
  cpu.pc = act.handler as typeof cpu.pc;
  let newMask = t.sigmask | act.mask;
  if ((act.flags & SA_NODEFER) === 0) newMask |= sigBit(sig);
  t.sigmask = newMask & ~UNBLOCKABLE;
  if (act.flags & SA_RESETHAND) {
    act.handler = SIG_DFL;
    act.flags &= ~SA_SIGINFO;
  }
  return true;
}
