import type { RunOutcome, RunStats, RunStatus } from '../core/types';
import type { RunResult } from '../vm/protocol';
import type { ThreadOutcome } from '../vm/vm-pool';
import { encodeChunk } from './console-sink';

/** Kernel status → service status. */
export function serviceStatus(r: RunResult): RunStatus {
  switch (r.status) {
    case 'exited':
      return r.exitCode === 0 ? 'succeeded' : 'failed';
    case 'signaled':
      return 'failed';
    default:
      return r.status;
  }
}

export function emptyStats(queueMs: number, wallMs: number): RunStats {
  return {
    instructions: 0,
    wallMs,
    queueMs,
    maxMemoryBytes: 0,
    syscalls: {},
    unsupportedSyscalls: {},
    tasksCreated: 0,
    outputBytes: 0,
  };
}

/** Builds the stored outcome from how the VM thread ended and the captured output. */
export function toOutcome(
  t: ThreadOutcome,
  out: { stdout: Uint8Array; stdoutTruncated: boolean; stderr: Uint8Array; stderrTruncated: boolean },
  info: { attempt: number; queueMs: number; wallMs: number; artifactsKey: string | null },
): RunOutcome {
  const so = encodeChunk(out.stdout);
  const se = encodeChunk(out.stderr);
  // One encoding for both: base64 when either is binary.
  const binary = so.encoding === 'base64' || se.encoding === 'base64';
  const base = {
    stdout: binary ? Buffer.from(out.stdout).toString('base64') : so.data,
    stderr: binary ? Buffer.from(out.stderr).toString('base64') : se.data,
    encoding: binary ? ('base64' as const) : ('utf8' as const),
    stdoutTruncated: out.stdoutTruncated,
    stderrTruncated: out.stderrTruncated,
    attempt: info.attempt,
    artifactsKey: info.artifactsKey,
  };
  if (t.kind === 'result') {
    const r = t.result;
    return {
      ...base,
      status: serviceStatus(r),
      exitCode: r.exitCode,
      signal: r.signal,
      message: r.message,
      stats: { ...emptyStats(info.queueMs, r.stats.wallMs), ...r.stats, queueMs: info.queueMs },
      crash: r.crash,
    };
  }
  if (t.kind === 'terminated') {
    return {
      ...base,
      status: t.reason,
      exitCode: null,
      signal: null,
      message: t.message,
      stats: emptyStats(info.queueMs, info.wallMs),
      crash: null,
    };
  }
  return {
    ...base,
    status: 'internal_error',
    exitCode: null,
    signal: null,
    message: `VM worker thread failed (${t.reason}): ${t.message}`,
    stats: emptyStats(info.queueMs, info.wallMs),
    crash: null,
  };
}
