/**
 * The one syscall table: every aarch64 number → {name, handler, status, note}. Handlers come
 * from one family module each; numbers without a handler return -ENOSYS and are counted.
 */
import { execSyscalls } from '../process/exec';
import { cloneSyscalls } from '../process/clone';
import { exitSyscalls } from '../process/exit';
import { idSyscalls } from '../process/ids';
import { futexSyscalls } from '../process/futex';
import { mmapSyscalls } from '../mm/mmap';
import { memfdSyscalls } from '../mm/memfd';
import { openSyscalls } from '../fs/open';
import { readWriteSyscalls } from '../fs/read_write';
import { spliceSyscalls } from '../fs/splice';
import { adviceSyscalls } from '../fs/advice';
import { statSyscalls } from '../fs/stat';
import { inotifySyscalls } from '../fs/inotify';
import { xattrSyscalls } from '../fs/xattr';
import { pollSyscalls } from '../fs/poll';
import { epollSyscalls } from '../fs/epoll';
import { socketSyscalls } from '../net/syscalls';
import { signalSyscalls } from '../signal/sigaction';
import { timeSyscalls } from '../time/time';
import { SYSCALL_NUMBERS } from './numbers';
import { itimerSyscalls } from '../time/itimer';
import { posixTimerSyscalls } from '../time/posix-timers';
import { msgSyscalls } from '../ipc/msg';
import { semSyscalls } from '../ipc/sem';
import { shmSyscalls } from '../ipc/shm';
import { mqueueSyscalls } from '../ipc/mqueue';
import type { Handler, SyscallDefs, SyscallStatus } from './types';

export interface SyscallEntry {
  nr: number;
  name: string;
  handler: Handler | null;
  status: SyscallStatus;
  note: string;
}

const FAMILIES: SyscallDefs[] = [
  readWriteSyscalls,
  spliceSyscalls,
  adviceSyscalls,
  openSyscalls,
  statSyscalls,
  inotifySyscalls,
  xattrSyscalls,
  pollSyscalls,
  epollSyscalls,
  socketSyscalls,
  mmapSyscalls,
  memfdSyscalls,
  execSyscalls,
  cloneSyscalls,
  exitSyscalls,
  idSyscalls,
  signalSyscalls,
  timeSyscalls,
  itimerSyscalls,
  posixTimerSyscalls,
  futexSyscalls,
  msgSyscalls,
  semSyscalls,
  shmSyscalls,
  mqueueSyscalls,
];

/** Reasons for deliberately unsupported calls (they return ENOSYS). */
const UNSUPPORTED_NOTES: Record<string, string> = {
  ptrace: 'no debugger support (strace is a stretch goal)',
  mount: 'the namespace is fixed at boot',
  umount2: 'the namespace is fixed at boot',
  pivot_root: 'the namespace is fixed at boot',
  reboot: 'not allowed in a sandbox',
  kexec_load: 'not allowed in a sandbox',
  init_module: 'no kernel modules',
  delete_module: 'no kernel modules',
  bpf: 'no eBPF',
  perf_event_open: 'no perf events',
  io_uring_setup: 'no io_uring',
  io_setup: 'no Linux AIO',
  swapon: 'no swap',
  swapoff: 'no swap',
};

function build(): SyscallEntry[] {
  const defs = new Map<string, SyscallDefs[string]>();
  for (const fam of FAMILIES) for (const [name, d] of Object.entries(fam)) defs.set(name, d);
  const max = SYSCALL_NUMBERS[SYSCALL_NUMBERS.length - 1][0];
  const table: SyscallEntry[] = [];
  for (const [nr, name] of SYSCALL_NUMBERS) {
    const d = defs.get(name);
    defs.delete(name);
    if (d && d.handler)
      table[nr] = { nr, name, handler: d.handler, status: d.status ?? 'supported', note: d.note ?? '' };
    else
      table[nr] = { nr, name, handler: null, status: 'unsupported', note: UNSUPPORTED_NOTES[name] ?? 'returns ENOSYS' };
  }
  if (defs.size > 0) throw new Error(`syscall handlers for unknown names: ${[...defs.keys()].join(', ')}`);
  table.length = max + 1;
  return table;
}

export const SYSCALL_TABLE: ReadonlyArray<SyscallEntry | undefined> = build();
