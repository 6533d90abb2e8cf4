/** The kernel's data for procfs: per-process files, fds, global files. */
import { ObjectLink, type PathRef, type ProcContent, type ProcProvider } from '@lichen/vfs';
import { PipeEnd } from '../fs/pipe';
import type { Kernel } from '../kernel';
import type { Process, Task } from '../task';
import { UTS } from '../process/ids';

const PER_PID = [
  'stat',
  'status',
  'cmdline',
  'environ',
  'maps',
  'comm',
  'limits',
  'statm',
  'auxv',
  'oom_score_adj',
  'mountinfo',
];
const GLOBAL = ['cpuinfo', 'meminfo', 'uptime', 'loadavg', 'version', 'filesystems', 'stat', 'swaps', 'cmdline'];

const LIMIT_NAMES: [string, string][] = [
  ['Max cpu time', 'seconds'],
  ['Max file size', 'bytes'],
  ['Max data size', 'bytes'],
  ['Max stack size', 'bytes'],
  ['Max core file size', 'bytes'],
  ['Max resident set', 'bytes'],
  ['Max processes', 'processes'],
  ['Max open files', 'files'],
  ['Max locked memory', 'bytes'],
  ['Max address space', 'bytes'],
  ['Max file locks', 'locks'],
  ['Max pending signals', 'signals'],
  ['Max msgqueue size', 'bytes'],
  ['Max nice priority', ''],
  ['Max realtime priority', ''],
  ['Max realtime timeout', 'us'],
];

function joinNul(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.flatMap((p) => [Buffer.from(p), Buffer.from([0])]));
}

/** The State: line of /proc/[pid]/status for each state letter. */
const STATE_WORDS = { Z: 'Z (zombie)', T: 'T (stopped)', R: 'R (running)', S: 'S (sleeping)' } as const;

export class KernelProcProvider implements ProcProvider {
  constructor(private readonly k: Kernel) {}

  private proc(pid: number): Process | null {
    const p = this.k.processes.get(pid);
    return p && !p.reaped ? p : null;
  }
  /**
   * The process's state letter: R while a thread runs, may run, or waits on the host (a file
   * read: Linux's reader of /proc is running too), S when every thread sleeps on a wait queue.
   */
  private stateOf(p: Process): 'Z' | 'T' | 'R' | 'S' {
    if (p.zombie) return 'Z';
    if (p.stopped) return 'T';
    for (const t of p.threads) if (t.state === 'runnable' || (t.state === 'blocked' && t.waker === null)) return 'R';
    return 'S';
  }

  private anyTask(p: Process): Task | undefined {
    for (const t of p.threads) if (t.state !== 'dead') return t;
    return undefined;
  }

  pids(): number[] {
    return [...this.k.processes.values()]
      .filter((p) => !p.reaped)
      .map((p) => p.pid)
      .sort((a, b) => a - b);
  }
  tids(pid: number): number[] {
    const p = this.proc(pid);
    return p
      ? [...p.threads]
          .filter((t) => t.state !== 'dead')
          .map((t) => t.tid)
          .sort((a, b) => a - b)
      : [];
  }
  owner(pid: number): { uid: number; gid: number } | null {
    const p = this.proc(pid);
    return p ? { uid: p.creds.euid, gid: p.creds.egid } : null;
  }
  pidFileNames(): string[] {
    return PER_PID;
  }
  pidFile(pid: number, name: string): ProcContent | null {
    const p = this.proc(pid);
    if (!p) return null;
    const t = this.anyTask(p);
    const k = this.k;
    switch (name) {
      case 'cmdline':
        return p.zombie ? '' : joinNul(p.argv);
      case 'environ':
        return p.zombie ? '' : joinNul(p.envp);
      case 'comm':
        return `${p.comm}\n`;
      case 'maps':
        return t ? t.mm.mapsText() : '';
      case 'stat': {
        const state = this.stateOf(p);
        const ticks = Math.floor(p.utimeInsns / 1e7);
        const vsize = t ? t.mm.totalVm : 0;
        const rss = t ? t.mm.as.residentPages : 0;
        const start = Math.floor(p.startNs / 1e7);
        const f = [
          p.pid,
          `(${p.comm})`,
          state,
          p.parent?.pid ?? 0,
          p.pgid,
          p.sid,
          34816,
          p.pgid,
          0x400000,
          0,
          0,
          0,
          0,
          ticks,
          0,
          Math.floor(p.cutimeInsns / 1e7),
          0,
          20,
          0,
          p.threads.size,
          0,
          start,
          vsize,
          rss,
          RLIM_TEXT,
        ];
        return f.join(' ') + ' 0'.repeat(27) + '\n';
      }
      case 'statm': {
        const vm = t ? t.mm.totalVm / 4096 : 0;
        const rss = t ? t.mm.as.residentPages : 0;
        return `${vm} ${rss} 0 0 0 0 0\n`;
      }
      case 'status': {
        const c = p.creds;
        const state = STATE_WORDS[this.stateOf(p)];
        const kb = (n: number): string => `${Math.floor(n / 1024)} kB`.padStart(11);
        const vm = t ? t.mm.totalVm : 0;
        const rss = t ? t.mm.as.residentPages * 4096 : 0;
        const hex = (b: bigint): string => b.toString(16).padStart(16, '0');
        return [
          `Name:\t${p.comm}`,
          `Umask:\t${p.fs.ctx.umask.toString(8).padStart(4, '0')}`,
          `State:\t${state}`,
          `Tgid:\t${p.pid}`,
          `Ngid:\t0`,
          `Pid:\t${p.pid}`,
          `PPid:\t${p.parent?.pid ?? 0}`,
          `TracerPid:\t0`,
          `Uid:\t${c.uid}\t${c.euid}\t${c.suid}\t${c.fsuid}`,
          `Gid:\t${c.gid}\t${c.egid}\t${c.sgid}\t${c.fsgid}`,
          `FDSize:\t${t ? Math.max(64, t.files.limit > 64 ? 64 : t.files.limit) : 0}`,
          `Groups:\t${c.groups.join(' ')}`,
          `VmPeak:\t${kb(vm)}`,
          `VmSize:\t${kb(vm)}`,
          `VmRSS:\t${kb(rss)}`,
          `Threads:\t${p.liveThreads}`,
          `SigPnd:\t${hex(t ? t.pending : 0n)}`,
          `ShdPnd:\t${hex(p.sharedPending)}`,
          `SigBlk:\t${hex(t ? t.sigmask : 0n)}`,
          `SigIgn:\t${hex(t ? t.sighand.actions.reduce((m, a, i) => (i > 0 && a.handler === 1 ? m | (1n << BigInt(i - 1)) : m), 0n) : 0n)}`,
          `Cpus_allowed:\t1`,
          `Cpus_allowed_list:\t0`,
          `voluntary_ctxt_switches:\t0`,
          `nonvoluntary_ctxt_switches:\t0`,
          '',
        ].join('\n');
      }
      case 'limits': {
        let s = 'Limit                     Soft Limit           Hard Limit           Units     \n';
        LIMIT_NAMES.forEach(([n, unit], i) => {
          const r = p.rlimits[i];
          const v = (x: number): string => (x >= Number.MAX_SAFE_INTEGER ? 'unlimited' : String(x));
          s += `${n.padEnd(26)}${v(r.cur).padEnd(21)}${v(r.max).padEnd(21)}${unit.padEnd(10)}\n`;
        });
        return s;
      }
      case 'auxv':
        return p.auxv;
      case 'oom_score_adj':
        return '0\n';
      case 'mountinfo':
        return k.vfs
          .mounts(p.fs.ctx.root)
          .map(
            (m) =>
              `${m.id} ${m.parentId} 0:${m.id} / ${m.target} ${m.options} - ${m.fstype} ${m.source} ${m.options}\n`,
          )
          .join('');
      default:
        return null;
    }
  }
  pidLink(pid: number, name: 'exe' | 'cwd' | 'root'): PathRef | string | null {
    const p = this.proc(pid);
    if (!p || p.zombie) return null;
    if (name === 'exe') return p.exePath || null;
    if (name === 'cwd') return p.fs.ctx.cwd;
    return p.fs.ctx.root;
  }
  fds(pid: number): number[] {
    const p = this.proc(pid);
    const t = p ? this.anyTask(p) : undefined;
    return t ? t.files.list() : [];
  }
  fdLink(pid: number, fd: number): PathRef | string | ObjectLink | null {
    const p = this.proc(pid);
    const t = p ? this.anyTask(p) : undefined;
    const e = t?.files.entry(fd);
    if (!e) return null;
    const f = e.file;
    if (f.vfsFile) return f.vfsFile.path;
    // A named pipe's end: the walk follows its path to the FIFO.
    if (f instanceof PipeEnd && f.fifoName !== null) return f.fifoName;
    return new ObjectLink(f.describe(), f);
  }
  fdInfo(pid: number, fd: number): ProcContent | null {
    const p = this.proc(pid);
    const t = p ? this.anyTask(p) : undefined;
    const e = t?.files.entry(fd);
    if (!e) return null;
    const pos = e.file.vfsFile ? e.file.vfsFile.pos : 0;
    return `pos:\t${pos}\nflags:\t0${(e.file.flags | (e.cloexec ? 0o2000000 : 0)).toString(8)}\nmnt_id:\t0\n`;
  }
  globalFileNames(): string[] {
    return GLOBAL;
  }
  globalFile(name: string): ProcContent | null {
    const k = this.k;
    switch (name) {
      case 'cpuinfo':
        return [
          'processor\t: 0',
          'BogoMIPS\t: 50.00',
          'Features\t: fp asimd crc32 atomics cpuid',
          'CPU implementer\t: 0x41',
          'CPU architecture: 8',
          'CPU variant\t: 0x3',
          'CPU part\t: 0xd0c',
          'CPU revision\t: 1',
          '',
          '',
        ].join('\n');
      case 'meminfo': {
        const total = Math.floor(k.memoryLimit / 1024);
        const free = Math.floor((k.memory.freeFrames * 4096) / 1024);
        const l = (n: string, v: number): string => `${(n + ':').padEnd(16)}${String(v).padStart(8)} kB\n`;
        return (
          l('MemTotal', total) +
          l('MemFree', free) +
          l('MemAvailable', free) +
          l('Buffers', 0) +
          l('Cached', 0) +
          l('SwapTotal', 0) +
          l('SwapFree', 0)
        );
      }
      case 'uptime': {
        const s = k.clock.monotonicNs() / 1e9;
        return `${s.toFixed(2)} 0.00\n`;
      }
      case 'loadavg':
        return `0.00 0.00 0.00 1/${k.tasks.size} ${k.processes.size}\n`;
      case 'version':
        return `${UTS.sysname} version ${UTS.release} (lichen) ${UTS.version}\n`;
      case 'filesystems':
        return 'nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\toverlay\n\text4\n';
      case 'stat':
        return `cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\nbtime ${k.clock.realtime().sec}\nprocesses ${k.tasksCreated + 1}\nprocs_running 1\nprocs_blocked 0\n`;
      case 'swaps':
        return 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
      case 'cmdline':
        return 'console=ttyAMA0\n';
      default:
        return null;
    }
  }
}

const RLIM_TEXT = '18446744073709551615';
