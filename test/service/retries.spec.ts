/**
 * A run retried after its runner died mid-run: the console stream says so with an `attempt`
 * event, offsets keep growing across attempts, and the result holds only the final attempt.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleEvent } from '../../apps/runner/src/core/types';
import { auth, KEY_A, readSse, startSplitService, submitRun, waitRun, type SplitService } from './support/harness';

let svc: SplitService;
let url = '';
let dir = '';
const runner = (): ChildProcess => svc.runner();

beforeAll(async () => {
  svc = await startSplitService({
    LICHEN_STALLED_INTERVAL_MS: '1000',
    LICHEN_RUNNER_CONCURRENCY: '1',
    LICHEN_JOB_ATTEMPTS: '2',
  });
  ({ url, dir } = svc);
});
afterAll(async () => {
  await svc?.stop();
});

const LINES = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');

describe('retried attempts', () => {
  it('an attempt event precedes the retry; offsets keep growing; the result is the final attempt only', async () => {
    const first = runner();
    await svc.runnersUp(1);
    const id = await submitRun(url, KEY_A, { image: 'scratch', argv: ['slow-first', join(dir, 'first-attempt')] });
    // Let the first attempt print a few lines (one every 0.6 s), then kill its runner.
    const early = await readSse(`${url}/v1/runs/${id}/events`, auth(KEY_A), 5, 60_000);
    expect(early.events.map((e) => e.event)).toEqual(['status', 'status', 'stdout', 'stdout', 'stdout']);
    runner();
    await svc.runnersUp(2);
    first.kill('SIGKILL');
    await new Promise((res) => first.once('exit', res));
    const run = await waitRun(url, KEY_A, id, 90_000);
    expect(run.status).toBe('succeeded');
    expect(run.attempt).toBe(2);
    // GET /v1/runs/:id: only the final attempt's output (no replayed prefix of attempt 1).
    expect(run.stdout).toBe(LINES);

    const { events } = await readSse(`${url}/v1/runs/${id}/events`, auth(KEY_A), Infinity, 30_000);
    const parsed = events.filter((e) => e.event !== 'end').map((e) => JSON.parse(e.data) as ConsoleEvent);
    const at = parsed.findIndex((e) => e.type === 'attempt');
    expect(at).toBeGreaterThan(0);
    const before = parsed.slice(0, at);
    const attempt = parsed[at] as Extract<ConsoleEvent, { type: 'attempt' }>;
    const after = parsed.slice(at + 1);
    // attempt 1: queued, running, some lines (a prefix of the output)
    expect(before[0]).toMatchObject({ type: 'status', status: 'queued' });
    expect(before[1]).toMatchObject({ type: 'status', status: 'running', attempt: 1 });
    const out1 = before.filter((e) => e.type === 'stdout');
    expect(out1.length).toBeGreaterThanOrEqual(3);
    expect(out1.every((e) => e.attempt === 1)).toBe(true);
    const text1 = out1.map((e) => (e.type === 'stdout' ? e.data : '')).join('');
    expect(LINES.startsWith(text1)).toBe(true);
    // the attempt event: number, reason, where the new attempt's output continues
    expect(attempt).toMatchObject({
      type: 'attempt',
      attempt: 2,
      reason: 'runner_lost',
      stdoutOffset: Buffer.byteLength(text1),
      stderrOffset: 0,
    });
    expect(attempt.message).toMatch(/previous attempt did not finish/);
    // attempt 2: running, the whole output again from stdoutOffset, final status
    expect(after[0]).toMatchObject({ type: 'status', status: 'running', attempt: 2 });
    expect(after[after.length - 1]).toMatchObject({ type: 'status', status: 'succeeded', attempt: 2 });
    const out2 = after.filter((e) => e.type === 'stdout');
    expect(out2.every((e) => e.attempt === 2)).toBe(true);
    expect(out2.map((e) => (e.type === 'stdout' ? e.data : '')).join('')).toBe(LINES);
    // offsets grow over the whole stream and are contiguous within each attempt
    let next = 0;
    for (const e of [...out1, ...out2]) {
      if (e.type !== 'stdout') continue;
      expect(e.offset).toBe(next);
      next = e.offset + Buffer.byteLength(e.data);
    }
    expect(next).toBe(Buffer.byteLength(text1) + Buffer.byteLength(LINES));
  }, 150_000);
});
