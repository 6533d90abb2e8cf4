import type { Limits } from '../core/config';
import type { RunFile } from '../core/types';
import type { CompareMode } from './compare';
import type { Verdict } from './verdict';

export interface BatchCase {
  name: string;
  argv: string[];
  /** base64 or null */
  stdin: string | null;
  /** base64 expected stdout (ignored by `checker` except as the checker's answer file). */
  expected: string;
  compare: CompareMode;
  checkerArgv: string[] | null;
}

export interface BatchSpec {
  image: string;
  env: string[];
  cwd: string;
  submissions: { id: string; files: RunFile[] }[];
  build: { argv: string[]; limits: Limits } | null;
  cases: BatchCase[];
  checkerFiles: RunFile[];
  limits: Limits;
  deterministic: { seed: number } | null;
  stopOnFirstFailure: boolean;
  webhookUrl: string | null;
}

export interface CellStats {
  instructions: number;
  wallMs: number;
  maxMemoryBytes: number;
}

export interface Cell {
  submission: string;
  case: string;
  index: number;
  state: 'pending' | 'running' | 'checking' | 'done';
  runId: string;
  checkerRunId: string;
  verdict: Verdict | null;
  detail: string | null;
  exitCode: number | null;
  signal: number | null;
  stats: CellStats | null;
}

export interface BuildCell {
  submission: string;
  state: 'pending' | 'running' | 'done';
  runId: string;
  status: string | null;
  detail: string | null;
}

export interface BatchMeta {
  id: string;
  tenant: string;
  status: 'running' | 'completed';
  createdAt: number;
  finishedAt: number | null;
  generation: number;
  pending: number;
  total: number;
}

export interface BatchView {
  id: string;
  status: 'running' | 'completed';
  image: string;
  createdAt: string;
  finishedAt: string | null;
  generation: number;
  progress: { total: number; done: number; pending: number; verdicts: Record<string, number> };
  submissions: {
    id: string;
    build: { status: string | null; detail: string | null; runId: string | null } | null;
    accepted: number;
    cases: {
      name: string;
      verdict: Verdict | null;
      detail: string | null;
      runId: string | null;
      exitCode: number | null;
      signal: number | null;
      stats: CellStats | null;
    }[];
  }[];
}

/** A batch in a listing (GET /v1/batches): progress counts, no cells. */
export type BatchSummary = Pick<BatchView, 'id' | 'status' | 'image' | 'createdAt' | 'finishedAt' | 'generation'> & {
  progress: { total: number; done: number; pending: number };
};
