import type { CrashInfo, RunStats as KernelRunStats } from '@lichen/kernel';
import type { Limits } from './config';

/** Status of a run as clients see it. */
export type RunStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cpu_steps_exceeded'
  | 'memory_exceeded'
  | 'timed_out'
  | 'output_exceeded'
  | 'cancelled'
  | 'internal_error';

export const RUN_STATUSES: readonly RunStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cpu_steps_exceeded',
  'memory_exceeded',
  'timed_out',
  'output_exceeded',
  'cancelled',
  'internal_error',
];

export function isTerminal(s: RunStatus): boolean {
  return s !== 'queued' && s !== 'running';
}

export interface RunFile {
  /** Absolute guest path, normalised, never escaping `/`. */
  path: string;
  /** base64 */
  content: string;
  mode: number;
}

/** A run request after validation and limit resolution: what the runner executes. */
export interface RunSpec {
  image: string;
  argv: string[];
  env: string[];
  cwd: string;
  /** base64, or null for immediate EOF. */
  stdin: string | null;
  files: RunFile[];
  limits: Limits;
  deterministic: { seed: number } | null;
  artifacts: boolean;
  webhookUrl: string | null;
  /** Set when the run is a cell (or build / checker step) of a batch. */
  batch: { id: string; role: 'build' | 'case' | 'checker'; submission: string; caseName: string | null } | null;
}

export type { CrashInfo } from '@lichen/kernel';

/** The kernel's run statistics plus the time the run waited in the queue. */
export type RunStats = KernelRunStats & { queueMs: number };

/** What the runner writes once per run (idempotently, keyed by run id + attempt). */
export interface RunOutcome {
  status: RunStatus;
  exitCode: number | null;
  signal: number | null;
  message: string | null;
  stdout: string;
  stdoutTruncated: boolean;
  stderr: string;
  stderrTruncated: boolean;
  /** Set when stdout/stderr are not valid UTF-8: then `stdout`/`stderr` hold base64. */
  encoding: 'utf8' | 'base64';
  stats: RunStats;
  crash: CrashInfo | null;
  /** Key of the artifacts tar in the artifact store, null when none. */
  artifactsKey: string | null;
  attempt: number;
}

/** The run as the API returns it. */
export interface RunView {
  id: string;
  status: RunStatus;
  image: string;
  argv: string[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  attempt: number;
  batchId: string | null;
  exitCode: number | null;
  signal: number | null;
  message: string | null;
  stdout: string | null;
  stdoutTruncated: boolean;
  stderr: string | null;
  stderrTruncated: boolean;
  encoding: 'utf8' | 'base64';
  stats: RunStats | null;
  crash: CrashInfo | null;
  artifacts: boolean;
}

/** A run in a listing (GET /v1/runs): no console output. */
export interface RunSummary {
  id: string;
  status: RunStatus;
  image: string;
  argv: string[];
  createdAt: string;
  finishedAt: string | null;
  exitCode: number | null;
  /** Guest instructions executed; null until the run is final. */
  instructions: number | null;
  batchId: string | null;
}

/** One entry of a run's console stream (Redis stream → SSE). */
export type ConsoleEvent =
  | { type: 'stdout' | 'stderr'; offset: number; attempt: number; data: string; encoding: 'utf8' | 'base64' }
  | { type: 'status'; status: RunStatus; attempt: number; exitCode?: number | null; signal?: number | null }
  /** The console stops here: `stream` is the stream being cut, at offset `droppedFrom`. */
  | { type: 'truncated'; attempt: number; stream: 'stdout' | 'stderr'; droppedFrom: number }
  /**
   * Before a retried attempt's output (attempt ≥ 2): the earlier attempt's console above is
   * void; the new attempt's chunks continue at these offsets (offsets never go back).
   */
  | {
      type: 'attempt';
      attempt: number;
      reason: 'runner_lost';
      message: string;
      stdoutOffset: number;
      stderrOffset: number;
    };
