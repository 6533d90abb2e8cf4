import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../core/types';
import { buildVerdict, caseVerdict, checkerVerdict, signalName } from './verdict';

const o = (exitCode: number | null = 0, signal: number | null = null, message: string | null = null) => ({
  exitCode,
  signal,
  message,
});
const eq = { equal: true, detail: null };
const ne = { equal: false, detail: 'line 1: expected "2", got "3"' };

describe('caseVerdict', () => {
  it('exit 0 and equal output → accepted', () =>
    expect(caseVerdict('succeeded', o(), eq)).toEqual({ verdict: 'accepted', detail: null }));
  it('exit 0 and different output → wrong_answer with the difference', () =>
    expect(caseVerdict('succeeded', o(), ne)).toEqual({ verdict: 'wrong_answer', detail: ne.detail }));
  it('exit 0 without a comparison → needs the checker', () =>
    expect(caseVerdict('succeeded', o(), null)).toBe('needs_checker'));
  it('non-zero exit → runtime_error even if the output is right', () =>
    expect(caseVerdict('failed', o(2), eq)).toEqual({ verdict: 'runtime_error', detail: 'exit code 2' }));
  it('fatal signal → runtime_error naming the signal', () =>
    expect(caseVerdict('failed', o(null, 11), null)).toEqual({
      verdict: 'runtime_error',
      detail: 'killed by SIGSEGV',
    }));
  it('SIGABRT named', () =>
    expect(caseVerdict('failed', o(null, 6), null)).toEqual({ verdict: 'runtime_error', detail: 'killed by SIGABRT' }));
  const limits: [RunStatus, string][] = [
    ['cpu_steps_exceeded', 'cpu_steps_exceeded'],
    ['memory_exceeded', 'memory_exceeded'],
    ['timed_out', 'timed_out'],
  ];
  for (const [status, verdict] of limits) {
    it(`${status} → ${verdict} with the kernel's message`, () =>
      expect(caseVerdict(status, o(null, null, 'why'), null)).toEqual({ verdict, detail: 'why' }));
  }
  it('output limit → wrong_answer', () =>
    expect(caseVerdict('output_exceeded', o(null), null)).toEqual({
      verdict: 'wrong_answer',
      detail: 'output limit exceeded',
    }));
  it('internal error → internal_error (never blamed on the student)', () =>
    expect(caseVerdict('internal_error', o(null, null, 'VM crashed'), null)).toEqual({
      verdict: 'internal_error',
      detail: 'VM crashed',
    }));
  it('cancelled → internal_error', () =>
    expect(caseVerdict('cancelled', o(null), null)).toEqual({ verdict: 'internal_error', detail: 'run cancelled' }));
  it('unfinished statuses are internal errors', () =>
    expect((caseVerdict('running', o(null), null) as { verdict: string }).verdict).toBe('internal_error'));
});

describe('buildVerdict', () => {
  it('succeeded build lets cases run', () => expect(buildVerdict('succeeded', o())).toBeNull());
  it('compiler error → build_failed with exit code', () =>
    expect(buildVerdict('failed', o(1))).toEqual({ verdict: 'build_failed', detail: 'build step: exit code 1' }));
  it('compiler crash → build_failed naming the signal', () =>
    expect(buildVerdict('failed', o(null, 9))).toEqual({
      verdict: 'build_failed',
      detail: 'build step: killed by SIGKILL',
    }));
  it('build over its limits → build_failed', () =>
    expect(buildVerdict('timed_out', o(null))).toEqual({ verdict: 'build_failed', detail: 'build step: timed out' }));
  it('service failure in the build → internal_error', () =>
    expect(buildVerdict('internal_error', o(null, null, 'no image'))?.verdict).toBe('internal_error'));
});

describe('checkerVerdict', () => {
  const c = (exitCode: number | null, signal: number | null = null, stderr = '') => ({
    exitCode,
    signal,
    message: null,
    stdout: '',
    stderr,
  });
  it('checker exit 0 → accepted', () => expect(checkerVerdict('succeeded', c(0)).verdict).toBe('accepted'));
  it('checker exit 1 → wrong_answer with its message', () =>
    expect(checkerVerdict('failed', c(1, null, 'token 3 differs\n'))).toEqual({
      verdict: 'wrong_answer',
      detail: 'token 3 differs',
    }));
  it('checker exit 2 → internal_error (checker fault)', () =>
    expect(checkerVerdict('failed', c(2)).verdict).toBe('internal_error'));
  it('checker crash → internal_error', () =>
    expect(checkerVerdict('failed', c(null, 11)).detail).toBe('checker failed: killed by SIGSEGV'));
  it('checker timeout → internal_error', () =>
    expect(checkerVerdict('timed_out', c(null)).verdict).toBe('internal_error'));
});

it('signalName falls back to the number', () => {
  expect(signalName(11)).toBe('SIGSEGV');
  expect(signalName(40)).toBe('signal 40');
});
