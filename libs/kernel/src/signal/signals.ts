/** Signal numbers, default actions, masks and siginfo for the aarch64 Linux ABI. */
export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGSTKFLT = 16;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGVTALRM = 26;
export const SIGPROF = 27;
export const SIGWINCH = 28;
export const SIGIO = 29;
export const SIGPWR = 30;
export const SIGSYS = 31;
export const SIGRTMIN = 32;
export const NSIG = 64;

const NAMES = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];
export function signalName(sig: number): string {
  if (sig > 0 && sig < 32) return NAMES[sig];
  if (sig >= 32 && sig <= 64) return `SIGRT${sig - 32}`;
  return `SIG${sig}`;
}

/** sigaction flags. */
export const SA_NOCLDSTOP = 0x1;
export const SA_NOCLDWAIT = 0x2;
export const SA_SIGINFO = 0x4;
export const SA_UNSUPPORTED = 0x400;
export const SA_EXPOSE_TAGBITS = 0x800;
export const SA_RESTORER = 0x04000000;
export const SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000;

export const SIG_DFL = 0;
export const SIG_IGN = 1;

/** si_code values. */
export const SI_USER = 0;
export const SI_KERNEL = 0x80;
export const SI_QUEUE = -1;
export const SI_TIMER = -2;
export const SI_TKILL = -6;
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const ILL_ILLOPC = 1;
export const TRAP_BRKPT = 1;
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;
export const CLD_TRAPPED = 4;
export const CLD_STOPPED = 5;
export const CLD_CONTINUED = 6;
export const POLL_IN = 1;

export type DefaultAction = 'term' | 'core' | 'ign' | 'stop' | 'cont';

export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
      return 'ign';
    case SIGCONT:
      return 'cont';
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return 'stop';
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
      return 'core';
    default:
      return 'term';
  }
}

export const sigBit = (sig: number): bigint => 1n << BigInt(sig - 1);
/** Signals that can never be blocked, caught or ignored. */
export const UNBLOCKABLE = sigBit(SIGKILL) | sigBit(SIGSTOP);
export const ALL_SIGNALS = (1n << 64n) - 1n;

/** Lowest-numbered signal in a mask (synchronous faults first, like Linux's next_signal), or 0. */
export function firstSignal(mask: bigint): number {
  if (mask === 0n) return 0;
  const sync =
    mask & (sigBit(SIGSEGV) | sigBit(SIGBUS) | sigBit(SIGILL) | sigBit(SIGTRAP) | sigBit(SIGFPE) | sigBit(SIGSYS));
  const m = sync !== 0n ? sync : mask;
  let lo = Number(m & 0xffffffffn);
  if (lo !== 0) return 31 - Math.clz32(lo & -lo) + 1;
  lo = Number((m >> 32n) & 0xffffffffn);
  return 31 - Math.clz32(lo & -lo) + 33;
}

export interface SigAction {
  /** Handler address, or SIG_DFL / SIG_IGN. */
  handler: number;
  flags: number;
  mask: bigint;
  restorer: number;
}

/** What the guest sees as siginfo_t (128 bytes). */
export interface SigInfo {
  signo: number;
  code: number;
  errno?: number;
  /** Sender pid/uid (kill, SIGCHLD). */
  pid?: number;
  uid?: number;
  /** SIGCHLD: exit status or signal. */
  status?: number;
  utime?: number;
  stime?: number;
  /** Fault address for SIGSEGV/SIGBUS/SIGILL/SIGTRAP/SIGFPE (bigint: exact 64-bit CPU fault addresses). */
  addr?: number | bigint;
  /** sigqueue / timer value. */
  value?: number | bigint;
  /** POSIX timers. */
  timerId?: number;
  overrun?: number;
  /** SIGIO / SIGPOLL band and fd. */
  band?: number;
  fd?: number;
  /**
   * Kernel-side only: called when this queued instance leaves the queue, delivered (dequeued
   * by delivery, sigwaitinfo, signalfd) or discarded (SIG_IGN, timer change). POSIX timers
   * re-arm here and fill in `overrun`, like Linux's posixtimer_rearm at dequeue.
   */
  onDequeue?: (delivered: boolean) => void;
}

/**
 * The address Linux arm64 reports for a fault (si_addr, sigcontext fault_address): its
 * untagged_addr rule, i.e. bits 63:56 (the TBI tag) are cleared when bit 55 is clear (a user
 * address) and kept when it is set. The CPU reports addresses as numbers, so one computed past
 * 2^56 (a base plus an offset carrying into the tag byte) arrives with the carry in it.
 */
export function untaggedFaultAddr(addr: number): number;
export function untaggedFaultAddr(addr: bigint): bigint;
export function untaggedFaultAddr(addr: number | bigint): number | bigint {
  if (typeof addr === 'bigint') {
    const a = BigInt.asUintN(64, addr);
    return (a & (1n << 55n)) !== 0n ? a : a & 0x00ff_ffff_ffff_ffffn;
  }
  if (addr < 2 ** 55) return addr;
  const hiWord = Math.floor(addr / 2 ** 32);
  const lo = addr - hiWord * 2 ** 32;
  const hi = hiWord % 2 ** 32;
  if ((hi & 0x00800000) !== 0) return addr;
  return (hi & 0x00ffffff) * 2 ** 32 + lo;
}

/** Encodes siginfo_t for aarch64 (the union layout of include/uapi/asm-generic/siginfo.h). */
export function encodeSigInfo(info: SigInfo): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  v.setInt32(0, info.signo, true);
  v.setInt32(4, info.errno ?? 0, true);
  v.setInt32(8, info.code, true);
  // union starts at offset 16
  const sig = info.signo;
  const isFault = sig === SIGSEGV || sig === SIGBUS || sig === SIGILL || sig === SIGTRAP || sig === SIGFPE;
  if (isFault && info.code > 0) {
    v.setBigUint64(16, BigInt.asUintN(64, BigInt(info.addr ?? 0)), true);
  } else if (sig === SIGCHLD && info.code > 0) {
    v.setInt32(16, info.pid ?? 0, true);
    v.setUint32(20, info.uid ?? 0, true);
    v.setInt32(24, info.status ?? 0, true);
    v.setBigInt64(32, BigInt(info.utime ?? 0), true);
    v.setBigInt64(40, BigInt(info.stime ?? 0), true);
  } else if (info.code === SI_TIMER) {
    v.setInt32(16, info.timerId ?? 0, true);
    v.setInt32(20, info.overrun ?? 0, true);
    v.setBigInt64(24, BigInt(info.value ?? 0), true);
  } else if (sig === SIGIO && info.code > 0) {
    v.setBigInt64(16, BigInt(info.band ?? 0), true);
    v.setInt32(24, info.fd ?? 0, true);
  } else {
    v.setInt32(16, info.pid ?? 0, true);
    v.setUint32(20, info.uid ?? 0, true);
    if (info.value !== undefined) v.setBigInt64(24, BigInt(info.value), true);
  }
  return b;
}

/** Decodes the part of a guest siginfo_t that rt_sigqueueinfo passes in. */
export function decodeSigInfo(b: Uint8Array): SigInfo {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    signo: v.getInt32(0, true),
    errno: v.getInt32(4, true),
    code: v.getInt32(8, true),
    pid: v.getInt32(16, true),
    uid: v.getUint32(20, true),
    value: Number(v.getBigInt64(24, true)),
  };
}
