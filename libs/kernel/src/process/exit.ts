/** exit, exit_group, wait4, waitid, getrusage, times. */
import { PAGE_SIZE } from '@lichen/machine';
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import {
  CLD_CONTINUED,
  CLD_DUMPED,
  CLD_EXITED,
  CLD_KILLED,
  CLD_STOPPED,
  SIGCHLD,
  encodeSigInfo,
} from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import { RETURN_NONE } from '../syscalls/types';
import type { Process, Task } from '../task';
import { copyOut, writeI32, type UserAddr } from '../uaccess';
import { NS_PER_INSN } from '../time/clock';

const WNOHANG = 1;
const WUNTRACED = 2;
const WSTOPPED = 2;
const WEXITED = 4;
const WCONTINUED = 8;
const WNOWAIT = 0x01000000;
const __WNOTHREAD = 0x20000000;
const __WALL = 0x40000000;
const __WCLONE = 0x80000000;
const P_ALL = 0;
const P_PID = 1;
const P_PGID = 2;

type Selector = (c: Process) => boolean;

interface Found {
  child: Process;
  kind: 'exited' | 'stopped' | 'continued';
}

function findChild(t: Task, sel: Selector, options: number): { found: Found | null; any: boolean } {
  let any = false;
  const p = t.process;
  for (const c of p.children) {
    if (!sel(c)) continue;
    // __WCLONE selects children whose exit signal is not SIGCHLD; __WALL selects all
    const isClone = c.exitSignal !== SIGCHLD;
    if (!(options & __WALL) && (options & __WCLONE ? !isClone : isClone)) continue;
    any = true;
    if (c.zombie && !c.reaped && options & WEXITED) return { found: { child: c, kind: 'exited' }, any };
    if (c.stopReport !== null && options & WSTOPPED) return { found: { child: c, kind: 'stopped' }, any };
    if (c.continuedReport && options & WCONTINUED) return { found: { child: c, kind: 'continued' }, any };
  }
  return { found: null, any };
}

function cpuTimeUs(insns: number): number {
  return Math.floor((insns * NS_PER_INSN) / 1000);
}

/** struct rusage: user time from the instruction count, ru_maxrss in KiB; the rest zero. */
function encodeRusage(utimeInsns: number, maxRssPages: number): Uint8Array {
  const b = new Uint8Array(144);
  const v = new DataView(b.buffer);
  const us = cpuTimeUs(utimeInsns);
  v.setBigInt64(0, BigInt(Math.floor(us / 1e6)), true);
  v.setBigInt64(8, BigInt(us % 1e6), true);
  v.setBigInt64(32, BigInt(maxRssPages * (PAGE_SIZE / 1024)), true);
  return b;
}

/** The peak resident set of a process so far: the spaces it left and the ones its threads hold. */
function selfMaxRss(p: Process): number {
  let pages = p.maxRssPages;
  for (const th of p.threads) pages = Math.max(pages, th.mm.as.peakResidentPages);
  return pages;
}

/** What wait4/waitid report of a child (Linux's RUSAGE_BOTH): it and its waited-for children. */
function childRusage(c: Process): Uint8Array {
  return encodeRusage(c.utimeInsns + c.cutimeInsns, Math.max(selfMaxRss(c), c.cmaxRssPages));
}

async function waitCommon(
  k: Kernel,
  t: Task,
  sel: Selector,
  options: number,
  report: (f: Found) => number,
): Promise<number> {
  for (;;) {
    const { found, any } = findChild(t, sel, options);
    if (found) {
      const r = report(found);
      if (!(options & WNOWAIT)) {
        if (found.kind === 'exited') {
          const p = t.process;
          p.cutimeInsns += found.child.utimeInsns + found.child.cutimeInsns;
          p.cmaxRssPages = Math.max(p.cmaxRssPages, selfMaxRss(found.child), found.child.cmaxRssPages);
          k.reap(found.child);
        } else if (found.kind === 'stopped') found.child.stopReport = null;
        else found.child.continuedReport = false;
      }
      return r;
    }
    if (!any) return -Errno.ECHILD;
    if (options & WNOHANG) return 0;
    await t.sleep([t.process.childWq]);
  }
}

function selector(t: Task, pid: number): Selector {
  if (pid === -1) return () => true;
  if (pid > 0) return (c) => c.pid === pid;
  const pg = pid === 0 ? t.process.pgid : -pid;
  return (c) => c.pgid === pg;
}

function wait4(
  k: Kernel,
  t: Task,
  pid: number,
  statusPtr: UserAddr,
  options: number,
  rusagePtr: UserAddr,
): Promise<number> | number {
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) return -Errno.EINVAL;
  if (pid === -2147483648) return -Errno.ESRCH;
  return waitCommon(k, t, selector(t, pid), options | WEXITED, (f) => {
    let status: number;
    if (f.kind === 'exited') status = f.child.exitStatus;
    else if (f.kind === 'stopped') status = ((f.child.stopReport ?? 19) << 8) | 0x7f;
    else status = 0xffff;
    if (statusPtr !== 0) writeI32(t.mm.as, statusPtr, status);
    if (rusagePtr !== 0) copyOut(t.mm.as, rusagePtr, childRusage(f.child));
    return f.child.pid;
  });
}

function waitid(
  k: Kernel,
  t: Task,
  idtype: number,
  id: number,
  infop: UserAddr,
  options: number,
  rusagePtr: UserAddr,
): Promise<number> | number {
  if (options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE))
    return -Errno.EINVAL;
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return -Errno.EINVAL;
  let sel: Selector;
  if (idtype === P_ALL) sel = () => true;
  else if (idtype === P_PID) {
    if (id <= 0) return -Errno.EINVAL;
    sel = (c) => c.pid === id;
  } else if (idtype === P_PGID) {
    if (id < 0) return -Errno.EINVAL;
    const pg = id === 0 ? t.process.pgid : id;
    sel = (c) => c.pgid === pg;
  } else return -Errno.EINVAL;
  return waitCommon(k, t, sel, options, (f) => {
    const c = f.child;
    let code: number;
    let status: number;
    if (f.kind === 'exited') {
      const s = c.exitStatus;
      if ((s & 0x7f) === 0) {
        code = CLD_EXITED;
        status = (s >> 8) & 0xff;
      } else {
        code = s & 0x80 ? CLD_DUMPED : CLD_KILLED;
        status = s & 0x7f;
      }
    } else if (f.kind === 'stopped') {
      code = CLD_STOPPED;
      status = c.stopReport ?? 19;
    } else {
      code = CLD_CONTINUED;
      status = 18;
    }
    if (infop !== 0)
      copyOut(t.mm.as, infop, encodeSigInfo({ signo: SIGCHLD, code, pid: c.pid, uid: c.creds.uid, status }));
    if (rusagePtr !== 0) copyOut(t.mm.as, rusagePtr, childRusage(c));
    return 0;
  }).then((r) => {
    // WNOHANG with nothing to report: zero the siginfo like Linux
    if (r === 0 && infop !== 0 && options & WNOHANG && !findChild(t, sel, options).found)
      copyOut(t.mm.as, infop, new Uint8Array(128));
    return r;
  });
}

export const exitSyscalls: SyscallDefs = {
  exit: {
    handler: (k, t, a) => {
      k.exitTask(t, (a.i(0) & 0xff) << 8);
      return RETURN_NONE;
    },
  },
  exit_group: {
    handler: (k, t, a) => {
      k.exitGroup(t, a.i(0));
      return RETURN_NONE;
    },
  },
  wait4: { handler: (k, t, a) => wait4(k, t, a.i(0), a.p(1), a.i(2), a.p(3)) },
  waitid: { handler: (k, t, a) => waitid(k, t, a.i(0), a.i(1), a.p(2), a.i(3), a.p(4)) },
  getrusage: {
    handler: (_k, t, a) => {
      const who = a.i(0);
      const p = t.process;
      let r: Uint8Array;
      // RUSAGE_SELF (0), RUSAGE_THREAD (1: its own time, the process's memory), RUSAGE_CHILDREN (-1)
      if (who === 0) r = encodeRusage(p.utimeInsns, selfMaxRss(p));
      else if (who === 1) r = encodeRusage(t.utimeInsns, selfMaxRss(p));
      else if (who === -1) r = encodeRusage(p.cutimeInsns, p.cmaxRssPages);
      else return -Errno.EINVAL;
      copyOut(t.mm.as, a.p(1), r);
      return 0;
    },
    status: 'partial',
    note: 'user time from the instruction count, ru_maxrss from the peak resident set; other fields zero',
  },
  times: {
    handler: (k, t, a) => {
      const ptr = a.p(0);
      const ticks = (insns: number): bigint => BigInt(Math.floor((insns * NS_PER_INSN) / 1e7));
      if (ptr !== 0) {
        const b = new Uint8Array(32);
        const v = new DataView(b.buffer);
        v.setBigInt64(0, ticks(t.process.utimeInsns), true);
        v.setBigInt64(16, ticks(t.process.cutimeInsns), true);
        copyOut(t.mm.as, ptr, b);
      }
      return Math.floor(k.clock.monotonicNs() / 1e7);
    },
  },
};
