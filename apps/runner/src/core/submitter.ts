import { Job, Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type Redis from 'ioredis';
import type { LichenConfig } from './config';
import { JobTransactions } from './job-transaction';
import type { Keys } from './keys';
import { RunStore } from './run-store';
import type { RunSpec } from './types';

export const RUN_JOB = 'run';

/** Creates run records and queues their jobs (BullMQ job id = run id, so a run is queued once). */
export class RunSubmitter {
  readonly queue: Queue;
  private readonly tx: JobTransactions;
  constructor(
    private readonly cfg: LichenConfig,
    keys: Keys,
    private readonly runs: RunStore,
    redis: Redis,
  ) {
    this.queue = new Queue(cfg.queueName, {
      connection: { url: cfg.redisUrl, maxRetriesPerRequest: null },
      prefix: keys.bullPrefix(),
    });
    this.tx = new JobTransactions(redis);
  }

  /**
   * Creates the run record and queues its job in ONE transaction (one round trip): a runner
   * never sees a job without its record, and a record is never left without its job.
   */
  async submit(tenant: string, spec: RunSpec, id = this.runs.newId()): Promise<string> {
    const m = this.tx.begin();
    // The tenant is for people inspecting the queue; the runner takes it from the record.
    const job = new Job(this.queue, RUN_JOB, { runId: id, tenant }, this.jobOptions(id), id);
    // BullMQ queues its script on the transaction synchronously (the promise settles with the
    // transaction). If it queued nothing (it threw: another kind of job), the transaction is
    // never sent, so no record exists without its job.
    const before = m.length;
    job.addJob(m as unknown as Parameters<Job['addJob']>[0]).catch(() => undefined);
    if (m.length !== before + 1) throw new Error("BullMQ did not queue the run's job on the transaction");
    this.runs.queueCreate(m, id, tenant, spec, Date.now());
    RunStore.checkCreated(await m.exec());
    return id;
  }

  private jobOptions(id: string): JobsOptions {
    return {
      jobId: id,
      // Our own attempt counter (in the run record) bounds executions; BullMQ retries infra errors.
      attempts: this.cfg.runner.attempts + 1,
      backoff: { type: 'fixed', delay: 500 },
      // The run record is the result: a completed job is deleted at once (less work per run
      // for Redis). Failed jobs (infrastructure errors) stay a day for inspection.
      removeOnComplete: true,
      removeOnFail: { age: 86_400, count: 10_000 },
    };
  }

  /** Removes a waiting job (cancel before start); false when a runner already has it. */
  async removeWaiting(id: string): Promise<boolean> {
    const job = await this.queue.getJob(id);
    if (!job) return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
