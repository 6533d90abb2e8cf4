import { randomUUID } from 'node:crypto';
import { Job } from 'bullmq';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { JobTransactions } from './job-transaction';
import { Keys } from './keys';
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

describe('JobTransactions', () => {
  it('refuses a BullMQ script other than the standard job one, before anything is sent', () => {
    const tx = new JobTransactions(redis);
    const m = tx.begin() as ReturnType<JobTransactions['begin']> & {
      runCommand(name: string, args: unknown[]): unknown;
    };
    expect(() => m.runCommand('addDelayedJob:0', [])).toThrow(/standard jobs only/);
  });
});
