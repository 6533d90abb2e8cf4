/**
 * The kernel of one VM: task table, the uniprocessor scheduler / run loop, syscall dispatch,
 * CPU exceptions, process exit, timers and quotas.
 */
import { StopReason, type Cpu, type CpuContext, type PhysicalMemory, type AddressSpace } from '@lichen/machine';
import type { Vfs } from '@lichen/vfs';
import { Errno, errnoOf, KernelError } from './errno';
import { putFile, type FdTable, type KFile } from './fs/file';
import type { Mm } from './mm/mm';
import { syncPageCache } from './mm/shared';
import { SyscallArgs } from './syscalls/args';
import { SYSCALL_TABLE, type SyscallEntry } from './syscalls/table';
import { SyscallTracer } from './syscalls/trace';
import { RETURN_NONE } from './syscalls/types';
import { deliverSignals, sendSignalToProcess, forceSignal } from './signal/deliver';
import {
  BUS_ADRALN,
  BUS_ADRERR,
  CLD_DUMPED,
  CLD_EXITED,
  CLD_KILLED,
  ILL_ILLOPC,
  SA_NOCLDWAIT,
  SEGV_ACCERR,
  SEGV_MAPERR,
  SIGBUS,
  SIGCHLD,
  SIGILL,
  SIGKILL,
  SIGSEGV,
  SIGTRAP,
  SIG_IGN,
  TRAP_BRKPT,
  signalName,
  untaggedFaultAddr,
} from './signal/signals';
import { Process, Task } from './task';
import { TimerQueue, VmClock, type Timer } from './time/clock';
import { Rng } from './misc/rng';
import type { CrashInfo, RunStatus, VmConfig, VmIo } from './vm-api';
import { exitRobustList, futexWake } from './process/futex';
import { exitPosixLocks } from './fs/locks';
import { accountCpu, cpuBudget } from './time/cputime';
import { exitItimers } from './time/itimer';
import { exitPosixTimers } from './time/posix-timers';
import { exitSem } from './ipc/sem';
import { writeU32, userAddr } from './uaccess';
import { WaitQueue } from './wait';

/** Syscall numbers counted per run (RunStats.syscalls); a guest may pass any number. */
const SYSCALL_COUNT_LIMIT = 512;
/** Instructions per time slice before another runnable task gets the CPU. */
export const TIME_SLICE = 200_000;
/** Host time between yields to the event loop while guest code runs (I/O, cancellation, timeouts). */
const YIELD_MS = 20;
/**
 * Deterministic mode yields to the host every this many guest instructions instead of every
 * YIELD_MS of wall time: wake-ups that settle while the loop is parked (promise chains of
 * sockets, pipes, futexes) must become runnable at a point that depends on the guest only.
 */
const YIELD_INSNS_DETERMINISTIC = 2_000_000;

export interface MachineFactory {
  memory: PhysicalMemory;
  newAddressSpace(): AddressSpace;
  cpu: Cpu;
}

export interface RunEnd {
  status: RunStatus;
  exitCode: number | null;
  signal: number | null;
  message: string | null;
}

export class Kernel {
  readonly cpu: Cpu;
  readonly memory: PhysicalMemory;
  readonly clock: VmClock;
  readonly timers = new TimerQueue();
  readonly tasks = new Map<number, Task>();
  readonly processes = new Map<number, Process>();
  readonly rng: Rng;
  readonly args: SyscallArgs;
  /** `VmConfig.trace`: every syscall, one line each; null when not tracing (one check per call). */
  readonly tracer: SyscallTracer | null;
  vfs!: Vfs;
  init: Process | null = null;
  current: Task | null = null;
  private runQueue: Task[] = [];
  private nextId = 1;
  /** Host operations in flight (VFS I/O, stdin): the VM must not declare deadlock meanwhile. */
  hostOps = 0;
  private notifyIdle: (() => void) | null = null;
  ended: RunEnd | null = null;
  crash: CrashInfo | null = null;
  oomKilled = false;
  /** Instructions retired before the current run() call (all tasks). */
  retiredBase = 0;
  /**
   * Calls by syscall number below SYSCALL_COUNT_LIMIT, grown as numbers are first used (holes
   * read as undefined): a 512-entry typed array cost every VM an off-heap allocation.
   */
  readonly syscallCounts: (number | undefined)[] = [];
  readonly unsupportedCounts = new Map<string, number>();
  tasksCreated = 0;
  outputBytes = 0;
  readonly startMs = performance.now();
  /** Guest-visible memory accounting beyond frames (tmpfs, kernel objects), bytes. */
  extraMemory = 0;
  private readonly reservedFrames: number[] = [];
  /** Woken whenever any process exits (used by waits on pids). */
  readonly exitWq = new WaitQueue();
  /** signalfds to wake when a signal is queued. */
  readonly signalFds = new Set<KFile>();
  private internalError: unknown = null;

  constructor(
    readonly config: VmConfig,
    readonly io: VmIo,
    readonly machine: MachineFactory,
  ) {
    this.cpu = machine.cpu;
    this.memory = machine.memory;
    this.clock = new VmClock(config.deterministic !== undefined, () => this.instructions);
    this.rng = new Rng(config.deterministic?.seed);
    this.args = new SyscallArgs(this.cpu);
    this.tracer = config.trace ? new SyscallTracer(config.trace) : null;
  }

  /** Instructions retired so far across all tasks (exact between runs). */
  get instructions(): number {
    return this.cpu.totalRetired;
  }

  allocId(): number {
    return this.nextId++;
  }

  get memoryLimit(): number {
    return this.memory.frameCount * 4096;
  }

  /**
   * Called once the run is over (Vm.run, after the memory retired): drops the kernel's
   * references to its tasks, processes, timers and namespace. Objects of a finished VM that V8
   * allocated in or promoted to the old generation keep every young object they reach alive
   * through each scavenge until the next full GC, and nearly all of a VM is reachable from its
   * kernel (closures capture it): without this, every short VM's whole object graph was copied
   * and promoted by the scavenges after it (about a third of a short VM's CPU time).
   */
  release(): void {
    this.tasks.clear();
    this.processes.clear();
    this.runQueue.length = 0;
    this.init = null;
    this.current = null;
    this.notifyIdle = null;
    this.signalFds.clear();
    this.timers.clear();
    (this.vfs as Vfs | undefined)?.release();
  }

  // ---- scheduling ------------------------------------------------------------------

  makeRunnable(t: Task): void {
    if (t.state === 'dead' || t.state === 'zombie') return;
    t.state = 'runnable';
    if (!t.queued) {
      t.queued = true;
      this.runQueue.push(t);
    }
    this.kick();
  }

  /** Something happened that may let the idle loop continue. */
  kick(): void {
    const n = this.notifyIdle;
    if (n) {
      this.notifyIdle = null;
      n();
    }
  }

  private pickNext(): Task | null {
    while (this.runQueue.length) {
      const t = this.runQueue[0];
      if (t.state !== 'runnable') {
        this.runQueue.shift();
        t.queued = false;
        continue;
      }
      return t;
    }
    return null;
  }

  private rotate(t: Task): void {
    if (this.runQueue[0] === t && this.runQueue.length > 1) {
      this.runQueue.shift();
      this.runQueue.push(t);
    }
  }

  /** Loads `t`'s registers and address space into the CPU (saving the previous task's). */
  switchTo(t: Task): void {
    if (this.current === t) return;
    const prev = this.current;
    if (prev && prev.state !== 'dead' && prev.state !== 'zombie') prev.ctx = this.cpu.saveContext();
    this.cpu.addressSpace = t.mm.as;
    if (t.ctx) this.cpu.restoreContext(t.ctx);
    this.cpu.clearExclusive();
    this.current = t;
  }

  /** Runs `fn` with `t`'s registers in the CPU (for async handler continuations). */
  withRegs<T>(t: Task, fn: (cpu: Cpu) => T): T {
    this.switchTo(t);
    return fn(this.cpu);
  }

  /** A snapshot of the current CPU state with changes applied (child of fork/clone). */
  deriveContext(t: Task, change: (cpu: Cpu) => void): CpuContext {
    this.switchTo(t);
    const saved = this.cpu.saveContext();
    change(this.cpu);
    const derived = this.cpu.saveContext();
    this.cpu.restoreContext(saved);
    return derived;
  }

  /** Main loop: runs until the first process exits or a quota/cancellation ends the run. */
  async run(): Promise<RunEnd> {
    const cpuSteps = this.config.limits?.cpuSteps;
    const wallMs = this.config.limits?.wallMs;
    let lastYield = performance.now();
    const cpu = this.cpu;
    const deterministic = this.config.deterministic !== undefined;
    let lastYieldInsns = cpu.totalRetired;
    while (this.ended === null) {
      if (this.internalError !== null) throw this.internalError;
      // deterministic mode: host I/O is instantaneous in guest time
      if (this.config.deterministic !== undefined && this.hostOps > 0) {
        await this.waitHost();
        continue;
      }
      const t = this.pickNext();
      if (t === null) {
        await this.idle();
        continue;
      }
      this.switchTo(t);
      if (t.pendingResult !== null) {
        const r = t.pendingResult;
        t.pendingResult = null;
        this.finishSyscall(t, r);
      }
      if (t.hasDeliverableSignal() || t.restart !== 0) {
        deliverSignals(this, t);
        if (this.current !== t || t.state !== 'runnable') continue;
      }
      if (t.sliceLeft <= 0) t.sliceLeft = TIME_SLICE;
      let budget = t.sliceLeft;
      if (cpuSteps !== undefined) {
        const left = cpuSteps - cpu.totalRetired;
        if (left <= 0) {
          this.end({
            status: 'cpu_steps_exceeded',
            exitCode: null,
            signal: null,
            message: `lichen: CPU-step limit of ${cpuSteps} reached`,
          });
          break;
        }
        if (left < budget) budget = left;
      }
      budget = cpuBudget(t, budget);
      const reason = cpu.run(budget);
      const retired = cpu.retired;
      t.sliceLeft -= retired;
      accountCpu(this, t, retired);
      if (t.state === 'dead') continue; // RLIMIT_CPU hard limit: SIGKILL
      switch (reason) {
        case StopReason.Svc:
          this.syscall(t);
          // sched_yield (or a syscall that used up the slice) gives the CPU to the next task.
          if (t.sliceLeft <= 0) this.rotate(t);
          break;
        case StopReason.Budget:
          if (t.sliceLeft <= 0) this.rotate(t);
          break;
        case StopReason.Fault:
          this.onFault(t);
          break;
        case StopReason.Undefined:
          t.lastFault = {
            pc: cpu.pc,
            addr: cpu.pc,
            reason: `undefined instruction 0x${(cpu.undefinedInsn >>> 0).toString(16).padStart(8, '0')}`,
            code: ILL_ILLOPC,
          };
          forceSignal(this, t, { signo: SIGILL, code: ILL_ILLOPC, addr: cpu.pc });
          break;
        case StopReason.Breakpoint:
          t.lastFault = { pc: cpu.pc, addr: cpu.pc, reason: `brk #${cpu.svcImmediate}`, code: TRAP_BRKPT };
          forceSignal(this, t, { signo: SIGTRAP, code: TRAP_BRKPT, addr: cpu.pc });
          break;
        case StopReason.Interrupted:
          break;
      }
      if (this.timers.size > 0) {
        const next = this.timers.next();
        if (next && next.deadline <= this.clock.monotonicNs()) this.timers.fireDue(this.clock.monotonicNs());
      }
      if (deterministic) {
        if (cpu.totalRetired - lastYieldInsns >= YIELD_INSNS_DETERMINISTIC) {
          lastYieldInsns = cpu.totalRetired;
          await yieldToHost();
          this.checkHostLimits(wallMs);
        }
      } else {
        const now = performance.now();
        if (now - lastYield >= YIELD_MS) {
          lastYield = now;
          await yieldToHost();
          this.checkHostLimits(wallMs);
        }
      }
    }
    // MAP_SHARED file pages still mapped (or being written back) reach their files before the run ends
    await syncPageCache(this.memory);
    return this.ended as RunEnd;
  }

  private checkHostLimits(wallMs: number | undefined): void {
    if (this.ended) return;
    if (this.io.signal?.aborted) {
      this.end({ status: 'cancelled', exitCode: null, signal: null, message: 'lichen: run cancelled' });
    } else if (wallMs !== undefined && performance.now() - this.startMs >= wallMs) {
      this.end({
        status: 'timed_out',
        exitCode: null,
        signal: null,
        message: `lichen: wall-time limit of ${wallMs} ms reached`,
      });
    }
  }

  private async waitHost(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.notifyIdle = resolve;
      const tick = setTimeout(() => this.kick(), 50);
      const orig = this.notifyIdle;
      this.notifyIdle = () => {
        clearTimeout(tick);
        orig();
      };
    });
    this.checkHostLimits(this.config.limits?.wallMs);
  }

  /** Nothing runnable: fire timers, wait for host events, or detect a deadlock. */
  private async idle(): Promise<void> {
    // let settled promises (woken sleeps) run first; deterministic mode lets every pending
    // promise chain finish (a macrotask turn drains the microtask queue) before it advances
    // the virtual clock, so a wake-up is never overtaken by a timer because its chain was long
    if (this.config.deterministic !== undefined) await yieldToHost();
    else {
      await Promise.resolve();
      await Promise.resolve();
    }
    if (this.pickNext() !== null) return;
    this.timers.fireDue(this.clock.monotonicNs());
    if (this.pickNext() !== null) return;
    const next = this.timers.next();
    if (this.config.deterministic !== undefined && this.hostOps === 0) {
      if (next) {
        this.clock.advanceTo(next.deadline);
        this.timers.fireDue(this.clock.monotonicNs());
        await yieldToHost();
        return;
      }
    }
    if (!next && this.hostOps === 0) {
      // settle pending microtasks/macrotasks once more before declaring deadlock
      await yieldToHost();
      if (this.pickNext() !== null || this.hostOps > 0 || this.ended) return;
      if (this.timers.next()) return;
      const wallMs = this.config.limits?.wallMs;
      if (wallMs === undefined) {
        this.end({
          status: 'internal_error',
          exitCode: null,
          signal: null,
          message: 'lichen: every task is blocked forever (deadlock)',
        });
        return;
      }
    }
    if (this.hostOps > 0 && this.config.deterministic === undefined) {
      // A host operation in flight is most often a VFS call on cached data whose promise
      // chain is longer than two ticks: one macrotask turn settles it, for far less than
      // arming a timer and an abort listener to wait for it.
      await yieldToHost();
      if (this.pickNext() !== null || this.ended) return;
    }
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const wallMs = this.config.limits?.wallMs;
      let waitMs = 1000;
      if (next) waitMs = Math.max(0, (next.deadline - this.clock.monotonicNs()) / 1e6);
      if (wallMs !== undefined) waitMs = Math.min(waitMs, Math.max(0, wallMs - (performance.now() - this.startMs)) + 1);
      const abort = (): void => done();
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.io.signal?.removeEventListener('abort', abort);
        this.notifyIdle = null;
        resolve();
      };
      this.notifyIdle = done;
      this.io.signal?.addEventListener('abort', abort);
      timer = setTimeout(done, Math.min(waitMs, 1000));
    });
    this.timers.fireDue(this.clock.monotonicNs());
    this.checkHostLimits(this.config.limits?.wallMs);
  }

  /** Tracks a host operation (VFS I/O, stdin) so idle/deterministic logic waits for it. */
  async hostIo<T>(p: Promise<T>): Promise<T> {
    this.hostOps++;
    try {
      return await p;
    } finally {
      this.hostOps--;
      this.kick();
    }
  }

  addTimer(deadlineNs: number, fire: () => void): Timer {
    const t = this.timers.add(deadlineNs, fire);
    this.kick();
    return t;
  }
  cancelTimer(t: Timer): void {
    this.timers.cancel(t);
  }

  // ---- syscalls --------------------------------------------------------------------

  private syscall(t: Task): void {
    const cpu = this.cpu;
    const nr = cpu.getXNumber(8);
    const entry: SyscallEntry | undefined = nr < SYSCALL_TABLE.length ? SYSCALL_TABLE[nr] : undefined;
    if (nr < SYSCALL_COUNT_LIMIT) {
      const counts = this.syscallCounts;
      counts[nr] = (counts[nr] ?? 0) + 1;
    }
    const tracer = this.tracer;
    if (tracer !== null) tracer.enter(t, entry?.name ?? `syscall_${nr}`, this.args);
    if (entry === undefined || entry.handler === null) {
      const name = entry?.name ?? `syscall_${nr}`;
      this.unsupportedCounts.set(name, (this.unsupportedCounts.get(name) ?? 0) + 1);
      cpu.setXNumber(0, -Errno.ENOSYS);
      if (tracer !== null) tracer.exit(t, -Errno.ENOSYS);
      return;
    }
    let r: number | Promise<number>;
    try {
      r = entry.handler(this, t, this.args);
    } catch (e) {
      r = -this.errnoFrom(e, entry.name);
    }
    if (typeof r === 'number') {
      if (tracer !== null) tracer.exit(t, r);
      if (this.current === t) this.finishSyscall(t, r);
      else if (t.state !== 'dead' && t.state !== 'zombie') t.pendingResult = r;
      return;
    }
    this.block(t, r, entry.name);
  }

  private errnoFrom(e: unknown, name: string): number {
    try {
      return errnoOf(e);
    } catch {
      this.fatalKernelBug(e, name);
      return Errno.EIO;
    }
  }

  private fatalKernelBug(e: unknown, where: string): void {
    if (this.internalError === null) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `kernel bug in ${where}: ${err.message}`;
      this.internalError = err;
    }
    this.kick();
  }

  private block(t: Task, p: Promise<number>, name: string): void {
    t.state = 'blocked';
    p.then(
      (r) => this.complete(t, r),
      (e) => {
        if (t.state === 'dead' || t.state === 'zombie') return;
        this.complete(t, -this.errnoFrom(e, name));
      },
    );
  }

  private complete(t: Task, r: number): void {
    if (t.state === 'dead' || t.state === 'zombie') return;
    if (this.tracer !== null) this.tracer.exit(t, r);
    t.pendingResult = r;
    if (t.state === 'blocked') this.makeRunnable(t);
  }

  /** Writes a syscall result to X0 of the current task (or records a restart). */
  finishSyscall(t: Task, r: number): void {
    if (r === RETURN_NONE) return;
    if (r <= -Errno.ERESTARTSYS && r >= -Errno.ERESTART_RESTARTBLOCK) {
      t.restart = -r;
      return;
    }
    this.cpu.setXNumber(0, r);
  }

  // ---- faults ----------------------------------------------------------------------

  private onFault(t: Task): void {
    const f = this.cpu.lastFault;
    if (!f) {
      forceSignal(this, t, { signo: SIGSEGV, code: SEGV_MAPERR, addr: 0 });
      return;
    }
    // si_addr carries the untagged address (Linux arm64: tag byte cleared for user addresses).
    const addr = untaggedFaultAddr((BigInt(f.addrHi) << 32n) | BigInt(f.addrLo));
    const where = `${f.access} ${f.access === 'exec' ? 'at' : 'of'} 0x${addr.toString(16)}`;
    switch (f.cause) {
      case 'no-memory':
        this.outOfMemory(t);
        return;
      case 'alignment':
        t.lastFault = { pc: f.pc, addr, reason: `unaligned ${where}`, code: BUS_ADRALN };
        forceSignal(this, t, { signo: SIGBUS, code: BUS_ADRALN, addr });
        return;
      case 'bus':
        // a MAP_SHARED file page wholly beyond end of file
        t.lastFault = { pc: f.pc, addr, reason: `${where}: beyond end of mapped file`, code: BUS_ADRERR };
        forceSignal(this, t, { signo: SIGBUS, code: BUS_ADRERR, addr });
        return;
      case 'permission':
        t.lastFault = { pc: f.pc, addr, reason: `${where}: permission denied`, code: SEGV_ACCERR };
        forceSignal(this, t, { signo: SIGSEGV, code: SEGV_ACCERR, addr });
        return;
      default:
        t.lastFault = { pc: f.pc, addr, reason: `${where}: not mapped`, code: SEGV_MAPERR };
        forceSignal(this, t, { signo: SIGSEGV, code: SEGV_MAPERR, addr });
    }
  }

  /** A page could not get a frame: kill the process with the largest resident set. */
  outOfMemory(t: Task): void {
    this.oomKilled = true;
    let victim: Process = t.process;
    let best = -1;
    for (const p of this.processes.values()) {
      if (p.zombie) continue;
      const lead = [...p.threads][0];
      const rss = lead ? lead.mm.as.residentPages : 0;
      if (rss > best) {
        best = rss;
        victim = p;
      }
    }
    t.lastFault = { pc: this.cpu.pc, addr: null, reason: 'out of memory (OOM kill)', code: 0 };
    this.killProcess(victim, SIGKILL);
  }

  // ---- exit ------------------------------------------------------------------------

  /** Ends the whole run (init exited, quota, cancellation). */
  end(e: RunEnd): void {
    if (this.ended === null) this.ended = e;
    this.kick();
  }

  /** Kills every thread of `p` with `sig` (default action, no handler). */
  killProcess(p: Process, sig: number, core = false): void {
    if (p.zombie || p.exiting) return;
    p.exiting = true;
    p.exitStatus = sig | (core ? 0x80 : 0);
    for (const th of [...p.threads]) this.exitTask(th, p.exitStatus);
  }

  /** exit_group(code). */
  exitGroup(t: Task, code: number): void {
    const p = t.process;
    if (!p.exiting) {
      p.exiting = true;
      p.exitStatus = (code & 0xff) << 8;
      for (const th of [...p.threads]) if (th !== t) this.exitTask(th, p.exitStatus);
    }
    this.exitTask(t, p.exitStatus);
  }

  /**
   * One task ends. `status` becomes the group's wait status when this is the last thread and
   * the group is not already exiting with another status.
   */
  exitTask(t: Task, status: number): void {
    if (t.state === 'dead' || t.state === 'zombie') return;
    const p = t.process;
    if (t.interrupter) {
      const i = t.interrupter;
      t.interrupter = null;
      t.waker = null;
      i();
    }
    exitRobustList(this, t);
    if (t.clearChildTid !== 0 && t.mm.users > 1) {
      try {
        writeU32(t.mm.as, userAddr(t.clearChildTid), 0);
        futexWake(this, t.mm, t.clearChildTid, 1, 0xffffffff);
      } catch {
        // EFAULT is ignored like Linux
      }
    }
    t.state = 'dead';
    t.queued = false;
    const i = this.runQueue.indexOf(t);
    if (i >= 0) this.runQueue.splice(i, 1);
    if (this.current === t) this.current = null;
    this.tasks.delete(t.tid);
    this.releaseTaskResources(t);
    if (p.liveThreads > 0) {
      if (t.tid !== p.pid) p.threads.delete(t);
      return;
    }
    if (!p.exiting) p.exitStatus = status;
    p.exiting = true;
    if (!p.zombie) this.processDied(p);
  }

  private releaseTaskResources(t: Task): void {
    if (--t.files.users === 0) for (const f of t.files.takeAll()) this.closeFile(f);
    t.process.maxRssPages = Math.max(t.process.maxRssPages, t.mm.as.peakResidentPages);
    if (--t.mm.users === 0) t.mm.destroy();
    t.sighand.users--;
    t.process.fs.users--;
  }

  closeFile(f: KFile): void {
    const r = putFile(f);
    if (r instanceof Promise) r.catch(() => undefined);
  }

  private processDied(p: Process): void {
    p.zombie = true;
    if (this.tracer !== null) this.tracer.exited(p.pid, p.exitStatus);
    exitPosixLocks(this, p);
    exitSem(this, p);
    exitItimers(this, p);
    exitPosixTimers(this, p);
    if (p.vforkDone) {
      p.vforkDone.wakeAll();
      p.vforkDone = null;
    }
    // reparent children to init (or drop them when init itself is going)
    for (const c of p.children) {
      if (this.init && p !== this.init && !this.init.zombie) {
        c.parent = this.init;
        this.init.children.add(c);
        if (c.zombie) this.init.childWq.wakeAll();
      } else {
        c.parent = null;
        if (c.zombie) this.reap(c);
      }
    }
    p.children.clear();
    if (p === this.init) {
      this.initExited(p);
      return;
    }
    const parent = p.parent;
    if (!parent || parent.zombie) {
      this.reap(p);
      return;
    }
    const act = [...parent.threads][0]?.sighand.actions[SIGCHLD];
    const autoReap =
      p.exitSignal === SIGCHLD && act !== undefined && (act.handler === SIG_IGN || (act.flags & SA_NOCLDWAIT) !== 0);
    if (p.exitSignal !== 0) {
      const status = p.exitStatus;
      const code = (status & 0x7f) === 0 ? CLD_EXITED : status & 0x80 ? CLD_DUMPED : CLD_KILLED;
      sendSignalToProcess(this, parent, {
        signo: p.exitSignal,
        code,
        pid: p.pid,
        uid: p.creds.uid,
        status: code === CLD_EXITED ? (status >> 8) & 0xff : status & 0x7f,
      });
    }
    if (autoReap) this.reap(p);
    parent.childWq.wakeAll();
    this.exitWq.wakeAll();
  }

  reap(p: Process): void {
    if (p.reaped) return;
    p.reaped = true;
    this.processes.delete(p.pid);
    p.parent?.children.delete(p);
  }

  private initExited(p: Process): void {
    const status = p.exitStatus;
    // stop everything else
    for (const other of [...this.processes.values()])
      if (other !== p && !other.zombie) this.killProcess(other, SIGKILL);
    const sig = status & 0x7f;
    if (sig === 0) {
      this.end({ status: 'exited', exitCode: (status >> 8) & 0xff, signal: null, message: null });
      return;
    }
    if (sig === SIGKILL && this.oomKilled) {
      this.end({
        status: 'memory_exceeded',
        exitCode: null,
        signal: SIGKILL,
        message: `lichen: memory limit of ${this.memoryLimit} bytes exceeded (out of memory)`,
      });
      return;
    }
    this.end({
      status: 'signaled',
      exitCode: null,
      signal: sig,
      message: `lichen: program killed by ${signalName(sig)}`,
    });
  }

  /** Records the register state of a task killed by a fatal signal (crash report). */
  recordCrash(t: Task, sig: number, code: number): void {
    if (this.crash !== null || t.process !== this.init) return;
    const fault = sig === SIGSEGV || sig === SIGBUS || sig === SIGILL || sig === SIGTRAP;
    if (!fault) t.lastFault = null;
    this.switchTo(t);
    const cpu = this.cpu;
    const hex = (v: bigint | number): string => '0x' + BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
    const x: string[] = [];
    for (let i = 0; i < 31; i++) x.push(hex(cpu.getX(i)));
    this.crash = {
      signal: sig,
      signalName: signalName(sig),
      code,
      pc: hex(t.lastFault?.pc ?? cpu.pc),
      faultAddress: t.lastFault?.addr !== null && t.lastFault?.addr !== undefined ? hex(t.lastFault.addr) : null,
      reason: t.lastFault?.reason ?? signalName(sig),
      tid: t.tid,
      x,
      sp: hex(cpu.sp),
      pstate: hex(cpu.nzcv >>> 0),
    };
  }

  // ---- output ----------------------------------------------------------------------

  /** Console output with the output quota; returns bytes accepted. */
  output(stream: 1 | 2, data: Uint8Array): number {
    const limit = this.config.limits?.outputBytes;
    let chunk = data;
    if (limit !== undefined && this.outputBytes + chunk.length > limit) {
      chunk = chunk.subarray(0, Math.max(0, limit - this.outputBytes));
      if (chunk.length) this.emit(stream, chunk);
      this.outputBytes += chunk.length;
      this.end({
        status: 'output_exceeded',
        exitCode: null,
        signal: null,
        message: `lichen: output limit of ${limit} bytes reached`,
      });
      return data.length;
    }
    this.outputBytes += chunk.length;
    this.emit(stream, chunk);
    return data.length;
  }

  private emit(stream: 1 | 2, chunk: Uint8Array): void {
    const copy = chunk.slice();
    if (stream === 1) this.io.stdout(copy);
    else this.io.stderr(copy);
  }

  // ---- helpers for handlers -----------------------------------------------------------

  /** The fd table of `t`, checked. */
  file(t: Task, fd: number): KFile {
    return t.files.get(fd);
  }

  allocFd(t: Task, f: KFile, cloexec: boolean, min = 0): number {
    try {
      return t.files.alloc(f, cloexec, min);
    } catch (e) {
      this.closeFile(f);
      throw e;
    }
  }

  newFdTableFor(files: FdTable): FdTable {
    return files.clone();
  }

  mmOf(t: Task): Mm {
    return t.mm;
  }

  /**
   * tmpfs and kernel objects count against the memory quota: their bytes hold reserved
   * frames of guest physical memory. Returns false (ENOSPC/ENOMEM for the caller) when the
   * quota cannot cover them.
   */
  chargeExtra(bytes: number): boolean {
    const want = Math.ceil(Math.max(0, this.extraMemory + bytes) / 4096);
    const got: number[] = [];
    while (this.reservedFrames.length + got.length < want) {
      const f = this.memory.allocFrame();
      if (f < 0) {
        for (const g of got) this.memory.release(g);
        return false;
      }
      got.push(f);
    }
    this.reservedFrames.push(...got);
    while (this.reservedFrames.length > want) this.memory.release(this.reservedFrames.pop() as number);
    this.extraMemory = Math.max(0, this.extraMemory + bytes);
    return true;
  }

  throwIfEnded(): void {
    if (this.ended) throw new KernelError(Errno.EINTR);
  }
}

/** Lets pending host callbacks run (I/O completions, timers, abort events). */
export function yieldToHost(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
