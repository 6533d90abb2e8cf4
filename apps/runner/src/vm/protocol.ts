/**
 * Messages between the runner's main thread and a VM worker thread.
 * The worker loads the VM engine (default `@lichen/kernel`, whose `runVm` it calls), says
 * `ready`, optionally JIT-warms itself (`warmup`), then runs jobs one at a time, reporting each
 * result; the pool decides when a thread is retired.
 */
import type { CrashInfo, RunStats } from '@lichen/kernel';

/**
 * The parts of the kernel's VM API (`libs/kernel/src/vm-api.ts`) the runner relies on,
 * restated structurally so the runner builds against the published contract.
 */
export interface VmLimits {
  cpuSteps?: number;
  memoryBytes?: number;
  wallMs?: number;
  processes?: number;
  openFiles?: number;
  fileSizeBytes?: number;
  outputBytes?: number;
}

export type VmRunStatus =
  | 'exited'
  | 'signaled'
  | 'cpu_steps_exceeded'
  | 'memory_exceeded'
  | 'timed_out'
  | 'output_exceeded'
  | 'cancelled'
  | 'internal_error';

/** Register state of the task that took a fatal signal (the kernel's type). */
export type VmCrashInfo = CrashInfo;

export interface RunResult {
  status: VmRunStatus;
  exitCode: number | null;
  signal: number | null;
  message: string | null;
  stats: RunStats;
  crash: VmCrashInfo | null;
  artifacts: Uint8Array | null;
}

export interface ThreadJob {
  argv: string[];
  env: string[];
  cwd: string;
  /** ext4 image file on local disk, or an empty tmpfs root. */
  rootfs: { kind: 'ext4'; path: string } | { kind: 'tmpfs' };
  files: { path: string; content: Uint8Array; mode: number }[];
  stdin: Uint8Array | null;
  limits: VmLimits;
  deterministic: { seed: number } | null;
  collectArtifacts: boolean;
}

/**
 * JIT warm-up of a fresh thread: `runs` VMs of `job` (output discarded), so real runs do not pay
 * for V8 optimising the kernel's paths. The job should look like the runs to come (same limits,
 * hence the same guest-memory size, and the same shape): optimised code that has only seen the
 * warm-up is otherwise thrown away at the first real run. The first `blockingRuns` VMs run before
 * the thread takes jobs; the rest run only while the thread has no job (a job waits at most for
 * the one warm-up VM in progress).
 */
export interface WarmupSpec {
  job: ThreadJob;
  runs: number;
  blockingRuns: number;
}

export type ToWorker = { t: 'run'; job: ThreadJob } | { t: 'cancel' } | { t: 'warmup'; spec: WarmupSpec };

/** Guest output: sent on its own (`out`/`err`), or held back by the VM thread and sent with the result (OutputBatcher in vm-worker.ts). */
export interface OutputChunk {
  t: 'out' | 'err';
  d: Uint8Array;
}

export type FromWorker =
  | { t: 'ready' }
  | OutputChunk
  /**
   * `heapBytes`: the thread's JS heap in use after the run (the pool retires a thread that grows).
   * `tail`: output written since the last `out`/`err` message, in order; the pool delivers it
   * before the result (a short run's whole output comes this way, in one message).
   */
  | { t: 'result'; result: RunResult; heapBytes: number; tail: OutputChunk[] }
  /** The blocking part of the warm-up is over (or it failed): the thread takes jobs from now on. */
  | { t: 'warm-ready' }
  /** The whole warm-up is over: `runs` VMs in `ms` of thread time spent on them, or stopped by `error`. */
  | { t: 'warmed'; runs: number; ms: number; error: string | null }
  | { t: 'failed'; message: string; stack: string | null };

export interface WorkerInit {
  /** Module specifier or absolute path of the engine: it must export `runVm(config, io)`. */
  engine: string;
}
