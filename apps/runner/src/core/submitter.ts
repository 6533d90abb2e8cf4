import { Queue } from 'bullmq';
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

  async submit(tenant: string, spec: RunSpec, id = this.runs.newId()): Promise<string> {
    await this.runs.create(id, tenant, spec);
    await this.queue.add(
      RUN_JOB,
      // The tenant lets the runner read the run and the tenant's policy in one round trip.
      { runId: id, tenant },
      {
        jobId: id,
        // Our own attempt counter (in the run record) bounds executions; BullMQ retries infra errors.
        attempts: this.cfg.runner.attempts + 1,
        backoff: { type: 'fixed', delay: 500 },
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 86_400, count: 10_000 },
      },
    );
    return id;
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
