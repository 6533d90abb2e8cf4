import { Job, Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { LichenConfig } from './config';
import type { Keys } from './keys';
import type { RunStore } from './run-store';
import type { RunSpec } from './types';

export const RUN_JOB = 'run';

/** Creates run records and queues their jobs (BullMQ job id = run id, so a run is queued once). */
export class RunSubmitter {
  readonly queue: Queue;
  constructor(
    private readonly cfg: LichenConfig,
    keys: Keys,
    private readonly runs: RunStore,
  ) {
    this.queue = new Queue(cfg.queueName, {
      connection: { url: cfg.redisUrl, maxRetriesPerRequest: null },
      prefix: keys.bullPrefix(),
    });
  }

  /**
   * Creates the run record and queues its job in ONE transaction (one round trip): a runner
   * never sees a job without its record, and a record is never left without its job.
   */
  async submit(tenant: string, spec: RunSpec, id = this.runs.newId()): Promise<string> {
    const client = await this.queue.getBackend().client;
    // BullMQ's Redis client wraps ioredis: its transaction is ioredis's (with BullMQ's scripts
    // defined), so the run's own commands can go in with the job.
    const m = client.multi() as unknown as ChainableCommander;
    // The tenant is for people inspecting the queue; the runner takes it from the record.
    const job = new Job(this.queue, RUN_JOB, { runId: id, tenant }, this.jobOptions(id), id);
    // Queued on the transaction synchronously; its promise settles with the transaction.
    job.addJob(m as unknown as Parameters<Job['addJob']>[0]).catch(() => undefined);
    this.runs.queueCreate(m, id, tenant, spec, Date.now());
    const res = await m.exec();
    await this.runs.afterCreate(tenant, res);
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
