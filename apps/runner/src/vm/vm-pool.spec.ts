import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { SCRIPTED_ENGINE } from '../../../../test/service/support/harness';
import type { ThreadJob, WarmupSpec } from './protocol';
import type { ThreadOutcome } from './vm-pool';
import { VmPool } from './vm-pool';

const dir = mkdtempSync(join(tmpdir(), 'lichen-pool-'));
// A warm-up VM opens its image as a block device; the scripted engine never reads it.
const image = join(dir, 'warm.img');
writeFileSync(image, Buffer.alloc(4096));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let pool: VmPool | null = null;
afterEach(async () => {
  await pool?.close();
  pool = null;
});

const job = (argv: string[]): ThreadJob => ({
  argv,
  env: [],
  cwd: '/',
  rootfs: { kind: 'tmpfs' },
  files: [],
  stdin: null,
  limits: {},
  deterministic: null,
  collectArtifacts: false,
});

/** A warm-up job on the image (the scripted engine never reads it). */
const warmJob = (argv: string[]): ThreadJob => ({ ...job(argv), rootfs: { kind: 'ext4', path: image } });

async function stdoutOf(p: VmPool, argv: string[]): Promise<string> {
  let out = '';
  const r: ThreadOutcome = await p.run({
    job: job(argv),
    wallBackstopMs: 20_000,
    onStdout: (c) => (out += Buffer.from(c).toString()),
    onStderr: () => undefined,
  });
  expect(r.kind).toBe('result');
  return out;
}

describe('VmPool', () => {
  it('a fresh thread runs the blocking part of its warm-up before the first job, the rest while idle', async () => {
    const reports: { runs: number; error: string | null }[] = [];
    const spec: WarmupSpec = { job: warmJob(['echo', 'warm']), runs: 30, blockingRuns: 7 };
    pool = new VmPool({
      engine: SCRIPTED_ENGINE,
      heapMb: 128,
      warm: 1,
      runsPerThread: 100,
      warmup: async () => spec,
      onWarmup: (r) => reports.push({ runs: r.runs, error: r.error }),
    });
    // `count` prints how many VMs this thread has run, its own included.
    const first = Number(await stdoutOf(pool, ['count']));
    expect(first).toBeGreaterThanOrEqual(8);
    expect(first).toBeLessThanOrEqual(31);
    await vi.waitFor(() => expect(reports).toEqual([{ runs: 30, error: null }]), { timeout: 10_000 });
    expect(pool.warmingThreads).toBe(0);
    // Same thread: 30 warm-up VMs and the two jobs.
    expect(await stdoutOf(pool, ['count'])).toBe('32\n');
  });

  it('a job waits for the warm-up VM in progress only, not for the rest of the warm-up', async () => {
    // 1000 warm-up VMs of 20 ms each would hold a job for 20 s.
    const spec: WarmupSpec = { job: warmJob(['sleep-ms', '20']), runs: 1000, blockingRuns: 1 };
    pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100, warmup: async () => spec });
    expect(Number(await stdoutOf(pool, ['count']))).toBeLessThan(100);
    expect(pool.warmingThreads).toBe(1);
    expect(Number(await stdoutOf(pool, ['count']))).toBeLessThan(200);
  });

  it('a warm-up that fails is reported and the thread still takes jobs', async () => {
    const reports: { runs: number; error: string | null }[] = [];
    pool = new VmPool({
      engine: SCRIPTED_ENGINE,
      heapMb: 128,
      warm: 1,
      runsPerThread: 100,
      warmup: async () => ({ job: warmJob(['exit', '3']), runs: 5, blockingRuns: 5 }),
      onWarmup: (r) => reports.push({ runs: r.runs, error: r.error }),
    });
    expect(await stdoutOf(pool, ['echo', 'still runs'])).toBe('still runs\n');
    expect(reports).toHaveLength(1);
    expect(reports[0]?.runs).toBe(0);
    expect(reports[0]?.error).toMatch(/warm-up VM ended exited \(exit code 3\)/);
  });

  it('no warm-up when the spec is null (image not available)', async () => {
    pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100, warmup: async () => null });
    expect(await stdoutOf(pool, ['count'])).toBe('1\n');
    expect(pool.warmingThreads).toBe(0);
  });

  it('a fresh thread counts as warming from its start, before its engine and warm-up spec are ready', async () => {
    let release: (s: WarmupSpec) => void = () => undefined;
    const spec = new Promise<WarmupSpec>((r) => (release = r));
    pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100, warmup: () => spec });
    // Readers such as the bench wait for 0: it must not read 0 before the warm-up has even begun.
    expect(pool.warmingThreads).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.warmingThreads).toBe(1);
    release({ job: warmJob(['echo', 'warm']), runs: 3, blockingRuns: 3 });
    await vi.waitFor(() => expect(pool?.warmingThreads).toBe(0), { timeout: 10_000 });
  });

  it('a thread near its last run gets a successor that warms up while idle and takes over warm', async () => {
    const reports: { runs: number; error: string | null }[] = [];
    const spec: WarmupSpec = { job: warmJob(['echo', 'warm']), runs: 30, blockingRuns: 5 };
    const retired: string[] = [];
    pool = new VmPool({
      engine: SCRIPTED_ENGINE,
      heapMb: 128,
      warm: 1,
      runsPerThread: 10,
      warmup: async () => spec,
      onWarmup: (r) => reports.push({ runs: r.runs, error: r.error }),
      onRetire: (why) => retired.push(why),
    });
    const first = await stdoutOf(pool, ['thread-id']);
    await vi.waitFor(() => expect(reports).toHaveLength(1), { timeout: 10_000 });
    // Runs 2–7 of 10: no successor yet (it starts with a fifth of the runs left).
    for (let i = 2; i <= 7; i++) expect(await stdoutOf(pool, ['thread-id'])).toBe(first);
    expect(pool.hasStandby).toBe(false);
    expect(await stdoutOf(pool, ['thread-id'])).toBe(first);
    expect(pool.hasStandby).toBe(true);
    // The successor's whole warm-up runs while the old thread still takes jobs.
    await vi.waitFor(() => expect(reports).toHaveLength(2), { timeout: 10_000 });
    expect(reports[1]).toEqual({ runs: 30, error: null });
    for (let i = 9; i <= 10; i++) expect(await stdoutOf(pool, ['thread-id'])).toBe(first);
    expect(retired).toEqual(['runs']);
    // Run 11 is the successor's first job, after its 30 warm-up VMs.
    expect(await stdoutOf(pool, ['count'])).toBe('31\n');
    expect(pool.hasStandby).toBe(false);
    expect(await stdoutOf(pool, ['thread-id'])).not.toBe(first);
  });

  it('an idle thread that ended is never handed a job: the job gets a fresh thread', async () => {
    pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100 });
    const first = await stdoutOf(pool, ['thread-id']);
    expect(await stdoutOf(pool, ['end-thread-later', '50'])).toBe('');
    await new Promise((r) => setTimeout(r, 500));
    // Without the check the job went to the dead thread and waited for the wall-time backstop.
    const r = await pool.run({
      job: job(['thread-id']),
      wallBackstopMs: 3_000,
      onStdout: () => undefined,
      onStderr: () => undefined,
    });
    expect(r).toMatchObject({ kind: 'result' });
    expect(await stdoutOf(pool, ['thread-id'])).not.toBe(first);
  });

  it('a thread whose JS heap grew past half its limit is replaced; a lean one is reused', async () => {
    const retired: string[] = [];
    pool = new VmPool({
      engine: SCRIPTED_ENGINE,
      heapMb: 64,
      warm: 1,
      runsPerThread: 100,
      onRetire: (why) => retired.push(why),
    });
    const first = await stdoutOf(pool, ['thread-id']);
    expect(await stdoutOf(pool, ['thread-id'])).toBe(first);
    expect(retired).toEqual([]);
    await stdoutOf(pool, ['retain', '40']);
    expect(retired).toEqual(['heap']);
    expect(await stdoutOf(pool, ['thread-id'])).not.toBe(first);
  });

  it('the output of a short run arrives whole and in order before its result', async () => {
    pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100 });
    expect(await stdoutOf(pool, ['chunks', '20', '0'])).toBe(
      Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(''),
    );
  });

  it('a long run streams its output while it runs, not only with its result', async () => {
    pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100 });
    const seen: { line: string; at: number }[] = [];
    const t0 = performance.now();
    const r = await pool.run({
      job: job(['chunks', '5', '60']),
      wallBackstopMs: 20_000,
      onStdout: (c) => seen.push({ line: Buffer.from(c).toString(), at: performance.now() - t0 }),
      onStderr: () => undefined,
    });
    const ended = performance.now() - t0;
    expect(r.kind).toBe('result');
    expect(seen.map((s) => s.line).join('')).toBe('line 0\nline 1\nline 2\nline 3\nline 4\n');
    // Lines are 60 ms apart; the first must not wait for the end (~300 ms).
    expect(seen[0].at).toBeLessThan(ended - 150);
  });

  describe('with maxRunning', () => {
    const run = (p: VmPool, argv: string[], signal?: AbortSignal): Promise<{ out: string; r: ThreadOutcome }> => {
      let out = '';
      return p
        .run({
          job: job(argv),
          wallBackstopMs: 20_000,
          signal,
          onStdout: (c) => (out += Buffer.from(c).toString()),
          onStderr: () => undefined,
        })
        .then((r) => ({ out, r }));
    };

    it('runs one VM at a time in one thread, the others waiting first come, first served', async () => {
      pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100, maxRunning: 1 });
      const order: string[] = [];
      const runs = ['a', 'b', 'c'].map((x) =>
        run(pool as VmPool, ['sleep-ms', '80']).then((v) => {
          order.push(x);
          return v;
        }),
      );
      expect(pool.waiting).toBe(2);
      await vi.waitFor(() => expect(pool?.activeThreads).toBe(1));
      expect(pool.waiting).toBe(2);
      const done = await Promise.all(runs);
      expect(done.map((d) => d.r.kind)).toEqual(['result', 'result', 'result']);
      expect(order).toEqual(['a', 'b', 'c']);
      // The same thread ran all three: the next VM it runs is its fourth.
      expect((await run(pool, ['count'])).out).toBe('4\n');
    });

    it('a waiting run whose signal fires ends cancelled without a VM; the others go on', async () => {
      pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100, maxRunning: 1 });
      const ac = new AbortController();
      const first = run(pool, ['sleep-ms', '150']);
      const second = run(pool, ['echo', 'never'], ac.signal);
      const third = run(pool, ['echo', 'third']);
      await new Promise((r) => setTimeout(r, 30));
      ac.abort();
      expect((await second).r).toEqual({
        kind: 'terminated',
        reason: 'cancelled',
        message: 'cancelled before its VM started',
      });
      expect(pool.waiting).toBe(1);
      expect((await first).r.kind).toBe('result');
      expect((await third).out).toBe('third\n');
    });

    it('a crash fails only the run in the thread; the waiting run gets a fresh thread', async () => {
      pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100, maxRunning: 1 });
      const crash = run(pool, ['throw']);
      const next = run(pool, ['echo', 'after']);
      expect((await crash).r.kind).toBe('crash');
      expect((await next).out).toBe('after\n');
    });

    it('closing the pool fails the waiting runs as a closed pool', async () => {
      pool = new VmPool({ engine: SCRIPTED_ENGINE, heapMb: 128, warm: 1, runsPerThread: 100, maxRunning: 1 });
      const busy = run(pool, ['sleep-ms', '300']).catch((e: Error) => e);
      const waiting = run(pool, ['echo', 'x']).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 30));
      await pool.close();
      expect(await waiting).toEqual(new Error('VM pool is closed'));
      await busy;
      pool = null;
    });
  });
});
