import { randomUUID } from 'node:crypto';
import { Job } from 'bullmq';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { JobTransactions } from './job-transaction';
import { Keys } from './keys';
import { commandsOf, sent } from './redis-commands.fixture';
import { RunStore } from './run-store';
import { sampleSpec } from './run-spec.fixture';
import { RUN_JOB, RunSubmitter } from './submitter';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `lichen-submit-spec-${randomUUID().slice(0, 8)}`;
const cfg = loadConfig({ REDIS_URL, LICHEN_REDIS_PREFIX: prefix });
const keys = new Keys(prefix);

const spec = sampleSpec;

let redis: Redis;
let runs: RunStore;
let submitter: RunSubmitter;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  runs = new RunStore(redis, keys, 60);
  submitter = new RunSubmitter(cfg, keys, runs, redis);
});

afterAll(async () => {
  await submitter.close();
  const stale = await redis.keys(`${prefix}*`);
  if (stale.length > 0) await redis.del(...stale);
  redis.disconnect();
});

describe('RunSubmitter', () => {
  it('writes the run record and a waiting BullMQ job for it in one transaction', async () => {
    const id = await submitter.submit('t1', spec);
    const meta = await runs.meta(id);
    expect(meta).toMatchObject({ status: 'queued', tenant: 't1', attempt: 0 });
    expect(await runs.spec(id)).toEqual(spec);
    const job = await Job.fromId(submitter.queue, id);
    expect(job?.name).toBe(RUN_JOB);
    expect(job?.data).toEqual({ runId: id, tenant: 't1' });
    expect(job?.opts.attempts).toBe(cfg.runner.attempts + 1);
    expect(await job?.getState()).toBe('waiting');
    expect(await submitter.queue.getJobCounts('waiting')).toMatchObject({ waiting: 1 });
  });

  it('queues a run id once: a second submit of the same id adds no second job', async () => {
    const id = runs.newId();
    await submitter.submit('t1', spec, id);
    await submitter.submit('t1', spec, id);
    const waiting = await submitter.queue.getJobs(['waiting']);
    expect(waiting.filter((j) => j.id === id)).toHaveLength(1);
  });
});

describe('RunSubmitter: what a submit sends', () => {
  it("is one MULTI holding BullMQ's job script and the run's creation script", async () => {
    await submitter.submit('t2', spec); // scripts load on first use (once per connection)
    let id = '';
    const seen = await commandsOf(redis, async () => (id = await submitter.submit('t2', spec)));
    expect(sent(seen)).toEqual(['multi', 'evalsha', 'evalsha', 'exec']);
    const scripts = seen.filter((c) => c.name === 'evalsha');
    expect(scripts[0]?.args).toContain(`${prefix}:bull:${cfg.queueName}:wait`);
    expect(scripts[1]?.args.slice(1, 6)).toEqual([
      '4',
      keys.run(id),
      keys.runSpec(id),
      keys.runEvents(id),
      keys.tenantRuns('t2'),
    ]);
    expect(await runs.meta(id)).toMatchObject({ status: 'queued', tenant: 't2' });
    expect(await redis.zscore(keys.tenantRuns('t2'), id)).not.toBeNull();
    expect(await (await Job.fromId(submitter.queue, id))?.getState()).toBe('waiting');
  });

  it('fails when the creation fails', async () => {
    const id = runs.newId();
    await redis.set(keys.run(id), 'not a hash');
    await expect(submitter.submit('t1', spec, id)).rejects.toThrow(/WRONGTYPE/);
  });
});

describe('JobTransactions', () => {
  it("carries the run store's scripts: a run's creation can be queued on its transactions", () => {
    const other = new Redis(REDIS_URL, { lazyConnect: true });
    try {
      // A connection without them refuses before anything is sent.
      expect(() => runs.queueCreate(other.multi(), runs.newId(), 't1', spec, Date.now())).toThrow(/run scripts/);
      const m = new JobTransactions(other).begin();
      const before = m.length;
      runs.queueCreate(m, runs.newId(), 't1', spec, Date.now());
      expect(m.length - before).toBe(1);
    } finally {
      other.disconnect();
    }
  });

  it('refuses a BullMQ script other than the standard job one, before anything is sent', () => {
    const tx = new JobTransactions(redis);
    const m = tx.begin() as ReturnType<JobTransactions['begin']> & {
      runCommand(name: string, args: unknown[]): unknown;
    };
    expect(() => m.runCommand('addDelayedJob:0', [])).toThrow(/standard jobs only/);
  });
});
