import type { RunOutcome, RunStatus } from '../core/types';
import type { CompareResult } from './compare';

export type Verdict =
  | 'accepted'
  | 'wrong_answer'
  | 'cpu_steps_exceeded'
  | 'memory_exceeded'
  | 'timed_out'
  | 'runtime_error'
  | 'build_failed'
  | 'internal_error'
  /** Not run: an earlier case of the submission failed and the batch has stopOnFirstFailure. */
  | 'skipped';

export const VERDICTS: readonly Verdict[] = [
  'accepted',
  'wrong_answer',
  'cpu_steps_exceeded',
  'memory_exceeded',
  'timed_out',
  'runtime_error',
  'build_failed',
  'internal_error',
  'skipped',
];

export interface VerdictDecision {
  verdict: Verdict;
  detail: string | null;
}

const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  31: 'SIGSYS',
};

export function signalName(n: number): string {
  return SIGNAL_NAMES[n] ?? `signal ${n}`;
}

/** The verdict of a build step: null means the build succeeded and cases may run. */
export function buildVerdict(
  status: RunStatus,
  outcome: Pick<RunOutcome, 'exitCode' | 'signal' | 'message'>,
): VerdictDecision | null {
  if (status === 'succeeded') return null;
  if (status === 'internal_error')
    return { verdict: 'internal_error', detail: outcome.message ?? 'build step failed inside the service' };
  if (status === 'cancelled') return { verdict: 'internal_error', detail: 'build step cancelled' };
  const why =
    status === 'failed'
      ? outcome.signal !== null
        ? `killed by ${signalName(outcome.signal)}`
        : `exit code ${outcome.exitCode ?? '?'}`
      : status.replace(/_/g, ' ');
  return { verdict: 'build_failed', detail: `build step: ${why}` };
}

/**
 * Maps a finished case run to a verdict. `compare` is consulted only when the program exited 0
 * (it is the output comparison, or null when a checker still has to decide).
 */
export function caseVerdict(
  status: RunStatus,
  outcome: Pick<RunOutcome, 'exitCode' | 'signal' | 'message'>,
  compare: CompareResult | null,
): VerdictDecision | 'needs_checker' {
  switch (status) {
    case 'succeeded':
      if (compare === null) return 'needs_checker';
      return compare.equal
        ? { verdict: 'accepted', detail: null }
        : { verdict: 'wrong_answer', detail: compare.detail };
    case 'failed':
      if (outcome.signal !== null)
        return { verdict: 'runtime_error', detail: `killed by ${signalName(outcome.signal)}` };
      return { verdict: 'runtime_error', detail: `exit code ${outcome.exitCode ?? '?'}` };
    case 'cpu_steps_exceeded':
      return { verdict: 'cpu_steps_exceeded', detail: outcome.message };
    case 'memory_exceeded':
      return { verdict: 'memory_exceeded', detail: outcome.message };
    case 'timed_out':
      return { verdict: 'timed_out', detail: outcome.message };
    case 'output_exceeded':
      return { verdict: 'wrong_answer', detail: 'output limit exceeded' };
    case 'cancelled':
      return { verdict: 'internal_error', detail: 'run cancelled' };
    case 'internal_error':
      return { verdict: 'internal_error', detail: outcome.message };
    default:
      return { verdict: 'internal_error', detail: `run not finished (${status})` };
  }
}

/** Checker exit status → verdict: 0 accepted, 1 wrong answer, anything else is the checker's fault. */
export function checkerVerdict(
  status: RunStatus,
  outcome: Pick<RunOutcome, 'exitCode' | 'signal' | 'stdout' | 'stderr' | 'message'>,
): VerdictDecision {
  const note = (outcome.stderr || outcome.stdout || '').trim().slice(0, 300) || null;
  if (status === 'succeeded') return { verdict: 'accepted', detail: note };
  if (status === 'failed' && outcome.signal === null && outcome.exitCode === 1)
    return { verdict: 'wrong_answer', detail: note };
  const why =
    status === 'failed'
      ? outcome.signal !== null
        ? `killed by ${signalName(outcome.signal)}`
        : `exit code ${outcome.exitCode ?? '?'}`
      : status;
  return { verdict: 'internal_error', detail: `checker failed: ${why}` };
}
