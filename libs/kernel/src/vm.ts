/**
 * runVm / createVm: builds the machine, the namespace (overlay root, /proc, /dev, /sys, /tmp,
 * host mounts), the console and the first process, then runs the kernel loop to the end.
 */
import { createAddressSpace, createCpu, createPhysicalMemory, type Cpu, type GuestAddr } from '@lichen/machine';
import {
  DevFs,
  Ext4Fs,
  HostFs,
  MS_NODEV,
  MS_NOSUID,
  MS_RDONLY,
  O_CREAT,
  O_TRUNC,
  O_WRONLY,
  OverlayFs,
  ProcFs,
  SysFs,
  TmpFs,
  Vfs,
  VfsError,
  type BlockDevice,
  type CharDevice,
  type Clock,
  type FileSystem,
  type MemoryAccount,
  type OpenFile,
  type PathRef,
  type RandomSource,
} from '@lichen/vfs';
import { Errno, errnoName } from './errno';
import { Console, ConsoleFile } from './fs/console';
import { DeviceOpen, PtyTable } from './fs/pty';
import { FdTable } from './fs/file';
import { Kernel, type MachineFactory } from './kernel';
import { KernelProcProvider } from './misc/procfs';
import { Mm } from './mm/mm';
import { doExec } from './process/exec';
import { SYSCALL_TABLE } from './syscalls/table';
import { FsState, Process, RLIM_INFINITY, SigHandlers, Task, type RLimit } from './task';
import {
  DEFAULT_LIMITS,
  EXIT_CANCELLED,
  EXIT_CPU_STEPS,
  EXIT_INTERNAL,
  EXIT_MEMORY,
  EXIT_OUTPUT,
  EXIT_TIMEOUT,
  type RunResult,
  type RunStats,
  type VmConfig,
  type VmIo,
} from './vm-api';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function defaultRlimits(config: VmConfig): RLimit[] {
  const r: RLimit[] = [];
  for (let i = 0; i < 16; i++) r.push({ cur: RLIM_INFINITY, max: RLIM_INFINITY });
  const nofile = config.limits?.openFiles ?? DEFAULT_LIMITS.openFiles;
  r[3] = { cur: 8 * 1024 * 1024, max: RLIM_INFINITY }; // STACK
  r[4] = { cur: 0, max: RLIM_INFINITY }; // CORE
  r[6] = {
    cur: config.limits?.processes ?? DEFAULT_LIMITS.processes,
    max: config.limits?.processes ?? DEFAULT_LIMITS.processes,
  };
  r[7] = { cur: nofile, max: nofile };
  r[8] = { cur: 8 * 1024 * 1024, max: 8 * 1024 * 1024 }; // MEMLOCK
  const fsize = config.limits?.fileSizeBytes;
  if (fsize !== undefined) r[1] = { cur: fsize, max: fsize };
  r[11] = { cur: 4096, max: 4096 }; // SIGPENDING-ish
  r[12] = { cur: 819200, max: 819200 }; // MSGQUEUE
  return r;
}

/**
 * Mounted ext4 images by device. The image is the overlay's read-only lower layer and is never
 * written, so a caller that passes the same device object again (a runner thread keeps its
 * images open between VMs) gets the already-parsed filesystem with its warm block and inode
 * caches instead of reading superblock, group descriptors and every inode again.
 */
const mountedImages = new WeakMap<BlockDevice, Promise<Ext4Fs>>();

function mountImage(device: BlockDevice): Promise<Ext4Fs> {
  let fs = mountedImages.get(device);
  if (fs === undefined) {
    fs = Ext4Fs.open(device);
    mountedImages.set(device, fs);
    // A failed mount (corrupt image, I/O error) is not remembered: the next VM tries again.
    fs.catch(() => mountedImages.delete(device));
  }
  return fs;
}

/**
 * The kernel's clock, randomness and memory account as the filesystems take them. Made in a
 * scope of their own: the namespace keeps these closures, and a closure keeps its whole scope
 * (here only the kernel, whose references go at the end of the run: Kernel.release).
 */
function kernelHooks(k: Kernel): { clock: Clock; random: RandomSource; account: MemoryAccount } {
  return {
    clock: () => k.clock.realtime(),
    random: (b) => k.rng.fill(b),
    account: {
      charge: (n) => {
        if (!k.chargeExtra(n)) throw new VfsError(Errno.ENOSPC, 'memory quota exhausted');
      },
      uncharge: (n) => void k.chargeExtra(-n),
    },
  };
}

/** Builds the namespace and mounts (exported for its spec). */
export async function buildNamespace(
  k: Kernel,
  config: VmConfig,
  provider: KernelProcProvider,
): Promise<{ vfs: Vfs; overlay: OverlayFs | null; devfs: DevFs }> {
  const { clock, random, account } = kernelHooks(k);
  const vfs = new Vfs({ clock, random });
  let root: FileSystem;
  let overlay: OverlayFs | null = null;
  if (config.rootfs.kind === 'ext4') {
    const lower = await mountImage(config.rootfs.device);
    root = overlay = new OverlayFs(lower, new TmpFs({ clock, account, rootMode: 0o755, source: 'upper' }), {
      source: 'overlay',
    });
  } else if (config.rootfs.kind === 'host') {
    root = await HostFs.open(config.rootfs.path, { readonly: config.rootfs.readOnly ?? false });
  } else {
    root = new TmpFs({ clock, account, rootMode: 0o755, source: 'rootfs' });
  }
  await vfs.mount(root);
  const ctx = vfs.newContext();
  const ensureDir = async (path: string): Promise<void> => {
    const parts = path.split('/').filter((p) => p);
    let cur = '';
    for (const p of parts) {
      cur += '/' + p;
      try {
        await vfs.mkdir(ctx, undefined, cur, 0o755);
      } catch (e) {
        if ((e as { errno?: number }).errno !== 17) throw e;
      }
    }
  };
  const rootWritable = !(config.rootfs.kind === 'host' && config.rootfs.readOnly);
  const tryMount = async (fs: FileSystem, path: string, flags: number): Promise<void> => {
    try {
      // The image nearly always has the mount point: find it, and make it only when missing.
      let at: PathRef | string = path;
      try {
        at = await vfs.resolve(ctx, undefined, path);
      } catch {
        if (rootWritable) await ensureDir(path);
      }
      await vfs.mount(fs, at, flags);
    } catch {
      // a read-only host root without the directory: skip that mount
    }
  };
  await tryMount(new ProcFs(vfs, provider), '/proc', MS_NOSUID | MS_NODEV);
  const devfs = new DevFs({ clock });
  await tryMount(devfs, '/dev', MS_NOSUID);
  await tryMount(new SysFs({ clock }), '/sys', MS_NOSUID | MS_NODEV | MS_RDONLY);
  await tryMount(new TmpFs({ clock, account, source: 'tmpfs' }), '/tmp', MS_NOSUID | MS_NODEV);
  for (const m of config.mounts ?? []) {
    const fs = await HostFs.open(m.hostPath, { readonly: m.readOnly });
    if (rootWritable) await ensureDir(m.guestPath);
    await vfs.mount(fs, m.guestPath, m.readOnly ? MS_RDONLY : 0);
  }
  for (const f of config.files ?? []) {
    const dir = f.path.split('/').slice(0, -1).join('/');
    if (dir) await ensureDir(dir);
    const of: OpenFile = await vfs.open(ctx, undefined, f.path, O_WRONLY | O_CREAT | O_TRUNC, f.mode ?? 0o644);
    let off = 0;
    while (off < f.content.length) off += await of.write(f.content.subarray(off));
    await of.release();
  }
  return { vfs, overlay, devfs };
}

/** /dev/tty and /dev/console: the run's console. */
function consoleDevice(console: Console): CharDevice {
  return {
    read: (_f, buf) => {
      const src = console.stdin;
      if (src.available > 0) {
        const d = src.take(buf.length);
        buf.set(d);
        return d.length;
      }
      if (src.ready) return 0;
      return new Promise<number>((resolve) => {
        const w = (): void => {
          if (src.available > 0 || src.ready) {
            src.wq.remove(w);
            const d = src.take(buf.length);
            buf.set(d);
            resolve(d.length);
          } else src.pump();
        };
        src.wq.add(w);
        src.pump();
      });
    },
    write: (_f, data) => console.k.output(1, data),
    poll: (_f, events) => events & 4,
  };
}

async function resolveProgram(vfs: Vfs, config: VmConfig, env: string[]): Promise<string> {
  const prog = config.argv[0];
  if (prog.includes('/')) return prog;
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const ctx = vfs.newContext({ uid: config.uid ?? 0, gid: config.gid ?? 0, groups: [] });
  for (const dir of pathVar.split(':')) {
    if (!dir) continue;
    const cand = `${dir.replace(/\/$/, '')}/${prog}`;
    try {
      const st = await vfs.stat(ctx, undefined, cand, 0);
      if ((st.mode & 0o170000) === 0o100000) return cand;
    } catch {
      // keep looking
    }
  }
  return prog;
}

function cliExitCode(status: RunResult['status'], exitCode: number | null, signal: number | null): number {
  switch (status) {
    case 'exited':
      return exitCode ?? 0;
    case 'signaled':
      return 128 + (signal ?? 0);
    case 'cpu_steps_exceeded':
      return EXIT_CPU_STEPS;
    case 'memory_exceeded':
      return EXIT_MEMORY;
    case 'timed_out':
      return EXIT_TIMEOUT;
    case 'output_exceeded':
      return EXIT_OUTPUT;
    case 'cancelled':
      return EXIT_CANCELLED;
    default:
      return EXIT_INTERNAL;
  }
}

export class Vm {
  readonly kernel: Kernel;
  private started = false;
  private overlay: OverlayFs | null = null;

  constructor(
    readonly config: VmConfig,
    readonly io: VmIo,
  ) {
    const memBytes = config.limits?.memoryBytes ?? DEFAULT_LIMITS.memoryBytes;
    const memory = createPhysicalMemory(Math.max(1 << 20, Math.floor(memBytes / 4096) * 4096));
    let kernelRef: Kernel | null = null;
    const firstSpace = createAddressSpace(memory);
    const cpu: Cpu = createCpu(firstSpace, {
      readCounter: () => (kernelRef ? Math.floor(kernelRef.clock.monotonicNs() / 40) : 0),
      counterFrequency: 25_000_000,
    });
    const machine: MachineFactory = { memory, cpu, newAddressSpace: () => createAddressSpace(memory) };
    this.kernel = new Kernel(config, io, machine);
    kernelRef = this.kernel;
  }

  async run(): Promise<RunResult> {
    if (this.started) throw new Error('a Vm runs once');
    this.started = true;
    const k = this.kernel;
    const config = this.config;
    let message: string | null = null;
    try {
      await this.boot();
      const end = await k.run();
      message = end.message;
      const r = this.result(end.status, end.exitCode, end.signal, message);
      if (config.collectArtifacts && this.overlay) r.artifacts = await this.exportArtifacts(this.overlay);
      return r;
    } catch (e) {
      const err = e as { errno?: number; message?: string };
      if (typeof err.errno === 'number') {
        message = `lichen: cannot execute ${config.argv[0]}: ${errnoName(err.errno)} (${err.message ?? ''})`;
        const code = err.errno === 2 ? 127 : err.errno === 13 || err.errno === 8 ? 126 : EXIT_INTERNAL;
        const r = this.result('internal_error', null, null, message);
        return { ...r, cliExitCode: code };
      }
      message = `lichen: internal error: ${err.message ?? String(e)}`;
      return this.result('internal_error', null, null, message);
    } finally {
      // Nothing of this VM may touch guest memory again; its buffer goes to the next VM.
      k.memory.retire();
      // Nor may old-generation leftovers of it keep the rest of it alive (see Kernel.release).
      k.release();
      this.overlay = null;
    }
  }

  private async exportArtifacts(overlay: OverlayFs): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const c of overlay.exportTar()) chunks.push(c);
    return Buffer.concat(chunks);
  }

  private async boot(): Promise<void> {
    const k = this.kernel;
    const config = this.config;
    if (config.argv.length === 0) throw new Error('argv is empty');
    const provider = new KernelProcProvider(k);
    const ns = await buildNamespace(k, config, provider);
    k.vfs = ns.vfs;
    this.overlay = ns.overlay;
    const console = new Console(k, config.tty !== undefined);
    const dev = consoleDevice(console);
    const ptys = new PtyTable(k, ns.devfs);
    // /dev/tty is the controlling pseudo-terminal when the session has one, else the console
    k.vfs.registerCharDevice(5, 0, {
      ...dev,
      open: (file) => {
        file.private_ = new DeviceOpen((t, flags) => ptys.openControlling(t, flags));
      },
    });
    k.vfs.registerCharDevice(5, 1, dev);
    k.vfs.registerCharDevice(5, 2, {
      open: (file) => {
        const stat = file.stat();
        file.private_ = new DeviceOpen((t, flags) => ptys.openMaster(t, flags, stat));
      },
    });
    // fifo opens are completed by the kernel's openat (fs/pipe.ts openFifo)
    k.vfs.setFifoHandler({ openFifo: async () => ({ seekable: false }) });
    const env = config.env ?? [`PATH=${DEFAULT_PATH}`, 'HOME=/root'];
    const uid = config.uid ?? 0;
    const gid = config.gid ?? 0;
    const pid = k.allocId();
    const ctx = k.vfs.newContext({ uid, gid, groups: [] }, pid);
    ctx.umask = 0o022;
    const fs = new FsState(ctx);
    if (config.cwd && config.cwd !== '/') ctx.cwd = await k.vfs.chdirTarget(ctx, undefined, config.cwd);
    const creds = { uid, euid: uid, suid: uid, fsuid: uid, gid, egid: gid, sgid: gid, fsgid: gid, groups: [] };
    const proc = new Process(pid, creds, fs, defaultRlimits(config), 17, 'init');
    proc.startNs = 0;
    k.processes.set(pid, proc);
    k.init = proc;
    const files = new FdTable(config.limits?.openFiles ?? DEFAULT_LIMITS.openFiles);
    ConsoleFile.stdio(console).forEach((f, fd) => files.install(fd, f, false));
    const mm = new Mm(k.machine.newAddressSpace());
    const task = new Task(pid, proc, mm, files, new SigHandlers());
    proc.threads.add(task);
    k.tasks.set(pid, task);
    k.switchTo(task);
    k.cpu.addressSpace = mm.as;
    task.ctx = k.cpu.saveContext();
    const program = await resolveProgram(k.vfs, config, env);
    const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
    await doExec(k, task, { at: undefined, path: program, argv: config.argv.map(enc), envp: env.map(enc), flags: 0 });
    k.makeRunnable(task);
  }

  private result(
    status: RunResult['status'],
    exitCode: number | null,
    signal: number | null,
    message: string | null,
  ): RunResult {
    const k = this.kernel;
    const syscalls: Record<string, number> = {};
    const counts = k.syscallCounts;
    for (let nr = 0; nr < counts.length; nr++) {
      const n = counts[nr];
      if (n !== undefined && n > 0) syscalls[SYSCALL_TABLE[nr]?.name ?? `syscall_${nr}`] = n;
    }
    const unsupported: Record<string, number> = {};
    for (const [name, n] of k.unsupportedCounts) unsupported[name] = n;
    const stats: RunStats = {
      instructions: k.instructions,
      wallMs: Math.round((performance.now() - k.startMs) * 1000) / 1000,
      maxMemoryBytes: k.memory.peakFramesUsed * 4096,
      syscalls,
      unsupportedSyscalls: unsupported,
      tasksCreated: k.tasksCreated,
      outputBytes: k.outputBytes,
    };
    // Written out, not `{ ...base, cliExitCode }`: a spread followed by a new property costs
    // V8 a fresh map (about a microsecond) every time.
    return {
      status,
      exitCode,
      signal,
      message,
      stats,
      crash: status === 'signaled' ? k.crash : null,
      artifacts: null,
      cliExitCode: cliExitCode(status, exitCode, signal),
    };
  }
}

/** Creates a VM (nothing runs until `run()`). */
export function createVm(config: VmConfig, io: VmIo): Vm {
  return new Vm(config, io);
}

/** Boots a VM, runs `config.argv` to completion and reports the result. Never throws for guest behaviour. */
export function runVm(config: VmConfig, io: VmIo): Promise<RunResult> {
  return createVm(config, io).run();
}

export type { GuestAddr };
