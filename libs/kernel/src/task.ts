/**
 * Tasks (threads) and thread groups (processes). A task's registers live in the CPU while it
 * runs and in `ctx` otherwise. Resources shared by CLONE_* flags are separate objects
 * (Mm, FdTable, SigHandlers, FsState) referenced by every sharer.
 */
import type { CpuContext } from '@lichen/machine';
import type { FsContext } from '@lichen/vfs';
import { Errno, KernelError } from './errno';
import type { FdTable } from './fs/file';
import type { Mm } from './mm/mm';
import { type SigAction, type SigInfo, SIG_DFL, sigBit } from './signal/signals';
import type { Timer } from './time/clock';
import { ProcessTimers } from './time/process-timers';
import { WaitQueue, type Waker } from './wait';

export type TaskState = 'runnable' | 'blocked' | 'stopped' | 'zombie' | 'dead';

export class SigHandlers {
  readonly actions: SigAction[] = [];
  users = 1;
  constructor() {
    for (let i = 0; i <= 64; i++) this.actions.push({ handler: SIG_DFL, flags: 0, mask: 0n, restorer: 0 });
  }
  clone(): SigHandlers {
    const h = new SigHandlers();
    for (let i = 0; i <= 64; i++) h.actions[i] = { ...this.actions[i] };
    return h;
  }
}

export interface RLimit {
  cur: number;
  max: number;
}
export const RLIM_INFINITY = Number.MAX_SAFE_INTEGER;
export const RLIMIT_CPU = 0;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_RSS = 5;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
export const RLIMIT_NLIMITS = 16;

export interface Creds {
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  groups: number[];
}

/** A process (thread group). */
export class Process {
  readonly threads = new Set<Task>();
  readonly children = new Set<Process>();
  parent: Process | null = null;
  pgid: number;
  sid: number;
  /** Set once the group is exiting (exit_group, fatal signal). */
  exiting = false;
  /** wait status (the int wait4 reports) once the process is a zombie. */
  exitStatus = 0;
  zombie = false;
  reaped = false;
  /** Process-directed pending signals. */
  sharedPending = 0n;
  readonly sharedQueue: SigInfo[] = [];
  /** Woken when a child changes state (wait4/waitid sleep here). */
  readonly childWq = new WaitQueue();
  /** Pending stop/continue notifications for the parent's wait (WUNTRACED / WCONTINUED). */
  stopReport: number | null = null;
  continuedReport = false;
  stopped = false;
  readonly rlimits: RLimit[];
  comm: string;
  exePath = '';
  argv: Uint8Array[] = [];
  envp: Uint8Array[] = [];
  auxv: Uint8Array = new Uint8Array(0);
  /** User/system instructions accounted to this process and to waited-for children. */
  utimeInsns = 0;
  cutimeInsns = 0;
  /**
   * Peak resident pages of the address spaces this process left (exec, exit), and the largest
   * peak of its waited-for children (with theirs): getrusage's ru_maxrss (Linux's
   * signal->maxrss and cmaxrss).
   */
  maxRssPages = 0;
  cmaxRssPages = 0;
  startNs = 0;
  /** ITIMER_REAL. */
  itimerReal: { timer: Timer | null; intervalNs: number } = { timer: null, intervalNs: 0 };
  /** ITIMER_VIRTUAL/PROF and POSIX timers (time/). */
  readonly timers = new ProcessTimers();
  /** vfork: the parent sleeps until the child execs or exits. */
  vforkDone: WaitQueue | null = null;
  /** Exit signal sent to the parent (SIGCHLD normally). */
  exitSignal: number;

  constructor(
    readonly pid: number,
    public creds: Creds,
    public fs: FsState,
    rlimits: RLimit[],
    exitSignal: number,
    comm: string,
  ) {
    this.pgid = pid;
    this.sid = pid;
    this.rlimits = rlimits.map((r) => ({ ...r }));
    this.exitSignal = exitSignal;
    this.comm = comm;
  }

  get leader(): Task | undefined {
    for (const t of this.threads) if (t.tid === this.pid) return t;
    return undefined;
  }
  get liveThreads(): number {
    let n = 0;
    for (const t of this.threads) if (t.state !== 'zombie' && t.state !== 'dead') n++;
    return n;
  }
}

/** cwd, root, umask, credentials for the VFS (Linux fs_struct; shared by CLONE_FS). */
export class FsState {
  users = 1;
  constructor(public ctx: FsContext) {}
  clone(): FsState {
    return new FsState({ ...this.ctx });
  }
}

export class Task {
  state: TaskState = 'runnable';
  ctx: CpuContext | null = null;
  /** Blocked-signal mask. */
  sigmask = 0n;
  /** Mask to restore after a sigsuspend/pselect/ppoll handler runs. */
  savedSigmask: bigint | null = null;
  /** Thread-directed pending signals. */
  pending = 0n;
  readonly pendingQueue: SigInfo[] = [];
  altstack = { sp: 0, size: 0, flags: 2 /* SS_DISABLE */ };
  clearChildTid = 0;
  robustList = 0;
  /** Instructions this thread ran (CLOCK_THREAD_CPUTIME_ID) and its next thread-CPU-clock timer (ns). */
  utimeInsns = 0;
  cpuNextNs = Infinity;
  /** Result of an async syscall waiting to be written to X0 when the task next runs. */
  pendingResult: number | null = null;
  /** A syscall returned -ERESTART*: restart or EINTR is decided at signal delivery. */
  restart = 0;
  /** Set while the task sleeps: wakes it (queue woken, timeout) and interrupts it (signal). */
  waker: Waker | null = null;
  interrupter: (() => void) | null = null;
  /** Instructions left in the current time slice. */
  sliceLeft = 0;
  /** Where the fault that killed the task happened (crash report). */
  lastFault: { pc: number; addr: number | bigint | null; reason: string; code: number } | null = null;
  /** For the run loop: the task is in the run queue. */
  queued = false;
  /** The exit code passed to exit()/exit_group() (status form is computed on death). */
  exitCode = 0;
  comm: string;

  constructor(
    readonly tid: number,
    public process: Process,
    public mm: Mm,
    public files: FdTable,
    public sighand: SigHandlers,
  ) {
    this.comm = process.comm;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Any pending signal this task would act on now. */
  hasDeliverableSignal(): boolean {
    const p = this.pending | this.process.sharedPending;
    return p !== 0n && (p & ~this.sigmask) !== 0n;
  }

  /** Whether SIGKILL is pending (uninterruptible waits still give up). */
  get fatalPending(): boolean {
    return ((this.pending | this.process.sharedPending) & sigBit(9)) !== 0n;
  }

  /**
   * Sleeps until `wake()`, a timeout (monotonic ns deadline; resolves 'timeout') or a signal
   * (rejects with ERESTARTSYS). The caller re-checks its condition after waking.
   */
  sleep(
    queues: WaitQueue[],
    setTimer?: (fire: () => void) => Timer,
    cancelTimer?: (t: Timer) => void,
  ): Promise<'woken' | 'timeout'> {
    if (this.hasDeliverableSignal()) return Promise.reject(new KernelError(Errno.ERESTARTSYS));
    return new Promise((resolve, reject) => {
      let timer: Timer | null = null;
      const done = (): void => {
        for (const q of queues) q.remove(wake);
        if (timer && cancelTimer) cancelTimer(timer);
        this.waker = null;
        this.interrupter = null;
      };
      const wake = (): void => {
        done();
        resolve('woken');
      };
      this.waker = wake;
      this.interrupter = (): void => {
        done();
        reject(new KernelError(Errno.ERESTARTSYS));
      };
      for (const q of queues) q.add(wake);
      if (setTimer)
        timer = setTimer(() => {
          timer = null;
          done();
          resolve('timeout');
        });
    });
  }
}
