/**
 * A syscall trace in the manner of `strace -f`: one line per syscall with the task's id, the
 * call's arguments (decoded for common calls) and its result (`-1 ENOENT` style for errors).
 * The arguments are read when the call is made (paths, write buffers, argv); the line is written
 * when the result is known, so a blocking call appears when it returns. Signals that take effect
 * (`--- SIGCHLD {...} ---`) and process ends (`+++ exited with 0 +++`) have lines too.
 */
import type { AddressSpace } from '@lichen/machine';
import { errnoName } from '../errno';
import { signalName, type SigInfo } from '../signal/signals';
import type { Task } from '../task';
import { copyIn, readCStringBytes, readU64, userAddr } from '../uaccess';
import type { SyscallArgs } from './args';
import { RETURN_NONE } from './types';

/** Receives each trace line (without a newline). Called synchronously from the VM loop. */
export type TraceSink = (line: string) => void;

/**
 * Argument kinds: d signed int, f dirfd (AT_FDCWD), u unsigned 64-bit, l signed 64-bit,
 * x hex, o octal, p pointer, s C string, b buffer whose length is the next argument, v string
 * array (argv, envp).
 */
const SIGNATURES: Record<string, string> = {
  openat: 'fsxo',
  close: 'd',
  read: 'dpu',
  write: 'dbu',
  pread64: 'dpul',
  pwrite64: 'dbul',
  readv: 'dpd',
  writev: 'dpd',
  lseek: 'dld',
  sendfile: 'ddpu',
  fstat: 'dp',
  newfstatat: 'fspx',
  statx: 'fsxxp',
  statfs: 'sp',
  fstatfs: 'dp',
  faccessat: 'fso',
  faccessat2: 'fsox',
  mkdirat: 'fso',
  mknodat: 'fsox',
  unlinkat: 'fsx',
  renameat: 'fsfs',
  renameat2: 'fsfsx',
  linkat: 'fsfsx',
  symlinkat: 'sfs',
  readlinkat: 'fspu',
  fchmodat: 'fso',
  fchmod: 'do',
  fchownat: 'fsddx',
  fchown: 'ddd',
  utimensat: 'fspx',
  truncate: 'sl',
  ftruncate: 'dl',
  fallocate: 'dxll',
  getdents64: 'dpu',
  chdir: 's',
  fchdir: 'd',
  chroot: 's',
  getcwd: 'pu',
  dup: 'd',
  dup3: 'ddx',
  fcntl: 'ddx',
  ioctl: 'dxx',
  flock: 'dd',
  pipe2: 'px',
  fsync: 'd',
  fdatasync: 'd',
  umask: 'o',
  mmap: 'xuxxdl',
  munmap: 'xu',
  mprotect: 'xux',
  mremap: 'xuuxx',
  madvise: 'xud',
  msync: 'xux',
  brk: 'x',
  execve: 'svv',
  execveat: 'fsvvx',
  clone: 'xxxxx',
  clone3: 'pu',
  exit: 'd',
  exit_group: 'd',
  wait4: 'dpxp',
  waitid: 'ddpxp',
  kill: 'dd',
  tkill: 'dd',
  tgkill: 'ddd',
  rt_sigaction: 'dppu',
  rt_sigprocmask: 'dppu',
  rt_sigsuspend: 'pu',
  rt_sigreturn: '',
  sigaltstack: 'pp',
  set_tid_address: 'p',
  set_robust_list: 'pu',
  futex: 'xdxxxx',
  nanosleep: 'pp',
  clock_nanosleep: 'dxpp',
  clock_gettime: 'dp',
  clock_getres: 'dp',
  gettimeofday: 'pp',
  getpid: '',
  getppid: '',
  gettid: '',
  getuid: '',
  geteuid: '',
  getgid: '',
  getegid: '',
  setuid: 'd',
  setgid: 'd',
  getpgid: 'd',
  setpgid: 'dd',
  setsid: '',
  uname: 'p',
  sysinfo: 'p',
  getrlimit: 'dp',
  setrlimit: 'dp',
  prlimit64: 'ddpp',
  getrusage: 'dp',
  getrandom: 'pux',
  prctl: 'dxxxx',
  sched_yield: '',
  sched_getaffinity: 'dup',
  rseq: 'puxx',
  socket: 'ddd',
  socketpair: 'dddp',
  bind: 'dpu',
  connect: 'dpu',
  listen: 'dd',
  accept: 'dpp',
  accept4: 'dppx',
  sendto: 'dbuxpu',
  recvfrom: 'dpuxpp',
  sendmsg: 'dpx',
  recvmsg: 'dpx',
  shutdown: 'dd',
  getsockopt: 'dddpp',
  setsockopt: 'dddpu',
  ppoll: 'pdpp',
  pselect6: 'dpppp',
  epoll_create1: 'x',
  epoll_ctl: 'dddp',
  epoll_pwait: 'dpddp',
  eventfd2: 'ux',
  memfd_create: 'sx',
};

/** Calls that never return: their line is written at entry (before the process's end). */
const NO_RETURN = new Set(['exit', 'exit_group']);
/** Calls that return 0 by starting a new program (their RETURN_NONE is a success). */
const EXEC = new Set(['execve', 'execveat']);

/** Calls whose result is an address, shown in hex. */
const ADDRESS_RESULTS = new Set(['mmap', 'mremap', 'brk']);

const MAX_SHOWN = 64;
const MAX_ARRAY = 16;

/** A byte string as strace shows it: quoted, C escapes, `...` after MAX_SHOWN bytes. */
export function quoteBytes(b: Uint8Array, truncated = false): string {
  let s = '"';
  const n = Math.min(b.length, MAX_SHOWN);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 0x22) s += '\\"';
    else if (c === 0x5c) s += '\\\\';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x09) s += '\\t';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s + '"' + (truncated || b.length > n ? '...' : '');
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function pointer(v: bigint): string {
  return v === 0n ? 'NULL' : hex(v);
}

function cString(as: AddressSpace, addr: bigint): string {
  if (addr === 0n) return 'NULL';
  try {
    return quoteBytes(readCStringBytes(as, userAddr(Number(addr)), MAX_SHOWN));
  } catch {
    // longer than shown, or not readable
    try {
      return quoteBytes(copyIn(as, userAddr(Number(addr)), MAX_SHOWN), true);
    } catch {
      return hex(addr);
    }
  }
}

function buffer(as: AddressSpace, addr: bigint, len: bigint): string {
  const n = len > BigInt(MAX_SHOWN) ? MAX_SHOWN : Number(len);
  try {
    return quoteBytes(copyIn(as, userAddr(Number(addr)), n), len > BigInt(n));
  } catch {
    return pointer(addr);
  }
}

function stringArray(as: AddressSpace, addr: bigint): string {
  if (addr === 0n) return 'NULL';
  const items: string[] = [];
  try {
    for (let i = 0; i < MAX_ARRAY; i++) {
      const p = readU64(as, userAddr(Number(addr) + i * 8));
      if (p === 0) return `[${items.join(', ')}]`;
      items.push(cString(as, BigInt(p)));
    }
    return `[${items.join(', ')}, ...]`;
  } catch {
    return hex(addr);
  }
}

/** The arguments of a call as text, per its signature (all six in hex when it has none). */
export function formatArgs(name: string, a: SyscallArgs, as: AddressSpace): string {
  const sig = SIGNATURES[name] ?? 'xxxxxx';
  const out: string[] = [];
  for (let i = 0; i < sig.length; i++) {
    const v = a.big(i);
    const signed32 = BigInt.asIntN(32, v);
    switch (sig[i]) {
      case 'd':
        out.push(signed32.toString());
        break;
      case 'f':
        out.push(signed32 === -100n ? 'AT_FDCWD' : signed32.toString());
        break;
      case 'u':
        out.push(v.toString());
        break;
      case 'l':
        out.push(BigInt.asIntN(64, v).toString());
        break;
      case 'o':
        out.push(`0${v.toString(8)}`);
        break;
      case 'p':
        out.push(pointer(v));
        break;
      case 's':
        out.push(cString(as, v));
        break;
      case 'b':
        out.push(buffer(as, v, a.big(i + 1)));
        break;
      case 'v':
        out.push(stringArray(as, v));
        break;
      default:
        out.push(hex(v));
    }
  }
  return out.join(', ');
}

/** A result as text: `-1 ENOENT` for errors, hex for addresses, `?` for calls that do not return. */
export function formatResult(name: string, r: number): string {
  if (r === RETURN_NONE) return EXEC.has(name) ? '0' : '?';
  if (r < 0 && r >= -4095) return `-1 ${errnoName(-r)}`;
  if (ADDRESS_RESULTS.has(name)) return `0x${r.toString(16)}`;
  return String(r);
}

/** Collects each task's call at entry and writes its line when the result is known. */
export class SyscallTracer {
  private readonly open = new WeakMap<Task, { name: string; args: string }>();

  constructor(private readonly sink: TraceSink) {}

  enter(t: Task, name: string, a: SyscallArgs): void {
    const args = formatArgs(name, a, t.mm.as);
    if (NO_RETURN.has(name)) this.sink(`${t.tid} ${name}(${args}) = ?`);
    else this.open.set(t, { name, args });
  }

  /** A signal takes effect on `t` (its handler runs, or its default action). */
  signal(t: Task, info: SigInfo): void {
    const fields = [`si_signo=${signalName(info.signo)}`, `si_code=${info.code}`];
    if (info.pid !== undefined) fields.push(`si_pid=${info.pid}`);
    if (info.status !== undefined) fields.push(`si_status=${info.status}`);
    if (info.addr !== undefined) fields.push(`si_addr=${hex(BigInt.asUintN(64, BigInt(info.addr)))}`);
    this.sink(`${t.tid} --- ${signalName(info.signo)} {${fields.join(', ')}} ---`);
  }

  /** Process `pid` ended with wait status `status`. */
  exited(pid: number, status: number): void {
    const sig = status & 0x7f;
    this.sink(
      sig === 0
        ? `${pid} +++ exited with ${(status >> 8) & 0xff} +++`
        : `${pid} +++ killed by ${signalName(sig)}${status & 0x80 ? ' (core dumped)' : ''} +++`,
    );
  }

  /** The call of `t` returned `r` (a negative errno, RETURN_NONE, or a value). */
  exit(t: Task, r: number): void {
    const call = this.open.get(t);
    if (call === undefined) return;
    this.open.delete(t);
    this.sink(`${t.tid} ${call.name}(${call.args}) = ${formatResult(call.name, r)}`);
  }
}
