/**
 * The public entry point of libs/kernel: boot one VM, run one program to completion.
 *
 * Users: the CLI (`lichen run`), the runner's worker threads, tests and benchmarks.
 * This file holds the types; `runVm` / `createVm` (exported from the package index) implement them.
 *
 *   const result = await runVm(config, { stdout: (b) => ..., stderr: (b) => ..., stdin, signal });
 */
import type { BlockDevice } from '@lichen/vfs';

/** Resource limits of one run. Every field is optional; defaults are in `DEFAULT_LIMITS`. */
export interface VmLimits {
  /** Guest instructions across all tasks. Exceeded: status `cpu_steps_exceeded`, CLI exit 152. */
  cpuSteps?: number;
  /** Guest physical memory (frames) + tmpfs bytes + kernel objects. Exceeded: ENOMEM, then OOM kill (exit 137). */
  memoryBytes?: number;
  /** Wall-clock time of the run. Exceeded: status `timed_out`, CLI exit 124. */
  wallMs?: number;
  /** Live tasks (threads and processes) at once: fork/clone beyond it fail with EAGAIN (RLIMIT_NPROC). */
  processes?: number;
  /** Open file descriptors per process (RLIMIT_NOFILE). */
  openFiles?: number;
  /** Largest file a guest may write (RLIMIT_FSIZE: SIGXFSZ / EFBIG). */
  fileSizeBytes?: number;
  /** stdout + stderr bytes. Exceeded: status `output_exceeded`, the run stops. */
  outputBytes?: number;
}

export const DEFAULT_LIMITS: Required<Omit<VmLimits, 'cpuSteps' | 'wallMs' | 'outputBytes'>> = {
  memoryBytes: 256 * 1024 * 1024,
  processes: 1024,
  openFiles: 1024,
  fileSizeBytes: Number.MAX_SAFE_INTEGER,
};

/** The root filesystem of the VM. */
export type RootFsConfig =
  /** An ext4 image: read-only lower layer, a tmpfs upper layer takes every write (overlay). */
  | { kind: 'ext4'; device: BlockDevice }
  /** A host directory (hostfs), confined to it. Used by tests and by the CLI for quick runs. */
  | { kind: 'host'; path: string; readOnly?: boolean }
  /** An empty tmpfs root (tests; combine with `files` and `mounts`). */
  | { kind: 'tmpfs' };

/** A host directory mounted inside the guest (hostfs). */
export interface HostMount {
  hostPath: string;
  guestPath: string;
  readOnly: boolean;
}

/** A file created in the guest's root (upper layer) before the program starts. */
export interface GuestFile {
  path: string;
  content: Uint8Array;
  /** Permission bits, default 0o644. */
  mode?: number;
}

export interface VmConfig {
  /** argv[0] is the program: an absolute guest path, or a name looked up in the guest's PATH. */
  argv: string[];
  /** Environment, as NAME=value strings in order. Default: PATH, HOME=/root (the CLI adds TERM). */
  env?: string[];
  /** Working directory in the guest, default `/`. */
  cwd?: string;
  /** Credentials of the first process, default 0:0. */
  uid?: number;
  gid?: number;
  rootfs: RootFsConfig;
  mounts?: HostMount[];
  files?: GuestFile[];
  limits?: VmLimits;
  /**
   * Deterministic mode: clocks derive from the instruction count, randomness (getrandom,
   * /dev/urandom, AT_RANDOM) from the seed, scheduling from instruction counts only.
   * Two runs with the same inputs give byte-identical output and identical counts.
   */
  deterministic?: { seed: number };
  /** Whether stdin/stdout/stderr look like a terminal to the guest (isatty, TCGETS). Default false. */
  tty?: { rows: number; cols: number };
  /** Hostname reported by uname, default `lichen`. */
  hostname?: string;
  /** Export the overlay's upper layer (added/changed files) as a tar in `RunResult.artifacts`. */
  collectArtifacts?: boolean;
  /**
   * Syscall trace (`lichen run --trace`): called with one line per syscall, `TID name(args) =
   * result`, synchronously from the VM loop (libs/kernel/src/syscalls/trace.ts).
   */
  trace?: (line: string) => void;
}

/** Host side of the console. Callbacks are called synchronously from the VM loop; keep them cheap. */
export interface VmIo {
  /** stdin of the first process. Missing: immediate end of file. */
  stdin?: Uint8Array | string | AsyncIterable<Uint8Array>;
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
  /** Aborting ends the run with status `cancelled` at the next scheduling point (well under a second). */
  signal?: AbortSignal;
}

export type RunStatus =
  /** The first process (init) exited normally: see `exitCode`. */
  | 'exited'
  /** The first process was killed by a signal: see `signal`, and `crash` for faults. */
  | 'signaled'
  | 'cpu_steps_exceeded'
  | 'memory_exceeded'
  | 'timed_out'
  | 'output_exceeded'
  | 'cancelled'
  /** The VM could not start the program (no such file, bad ELF) or hit a kernel bug: see `message`. */
  | 'internal_error';

export interface RunStats {
  /** Guest instructions retired, all tasks. */
  instructions: number;
  wallMs: number;
  /** Peak guest memory (frames in use × 4096, plus tmpfs bytes). */
  maxMemoryBytes: number;
  /** Syscall counts by name (unknown numbers as `syscall_<n>`). */
  syscalls: Record<string, number>;
  /** Calls that returned ENOSYS because the syscall is unsupported or unknown, by name. */
  unsupportedSyscalls: Record<string, number>;
  /** Tasks created (fork, vfork, clone), not counting the first. */
  tasksCreated: number;
  outputBytes: number;
}

/** Register state of the task that took a fatal signal. 64-bit values as 0x-prefixed hex. */
export interface CrashInfo {
  signal: number;
  signalName: string;
  /** si_code of the signal, e.g. SEGV_MAPERR = 1. */
  code: number;
  pc: string;
  /** Faulting address for SIGSEGV/SIGBUS, otherwise null. */
  faultAddress: string | null;
  /** What the CPU reported, e.g. "write to unmapped address", "undefined instruction 0x00000000". */
  reason: string;
  tid: number;
  /** x0..x30 */
  x: string[];
  sp: string;
  pstate: string;
}

export interface RunResult {
  status: RunStatus;
  /** Exit code of the first process when status is `exited`. */
  exitCode: number | null;
  /** Terminating signal number when status is `signaled`. */
  signal: number | null;
  /** The exit status `lichen run` uses: code, 128+signal, 152 (cpu steps), 137 (memory), 124 (timeout), 125 (internal error), 130 (cancelled), 153 (output). */
  cliExitCode: number;
  /** A one-line explanation for anything but a normal exit, e.g. `lichen: CPU-step limit of 1000 reached`. */
  message: string | null;
  stats: RunStats;
  crash: CrashInfo | null;
  /**
   * Tar of the overlay's changes when `collectArtifacts` was set and the root is an ext4 image:
   * added and changed files, and deleted image paths as OCI whiteouts (`dir/.wh.NAME`).
   */
  artifacts: Uint8Array | null;
}

export const EXIT_CPU_STEPS = 152;
export const EXIT_MEMORY = 137;
export const EXIT_TIMEOUT = 124;
export const EXIT_INTERNAL = 125;
export const EXIT_CANCELLED = 130;
export const EXIT_OUTPUT = 153;
