import type { Job } from 'bullmq';

export type JobHandler = (job: Job, token: string | undefined) => Promise<unknown>;

/**
 * Job name → handler. Every BullMQ job the runner understands is registered in one place
 * (`processors.ts`) and the set is checked at start-up, so an unknown job name fails loudly.
 */
export class JobRegistry {
  private readonly handlers = new Map<string, JobHandler>();

  register(name: string, handler: JobHandler): void {
    if (this.handlers.has(name)) throw new Error(`job ${name} registered twice`);
    this.handlers.set(name, handler);
  }

  /** Throws unless exactly `names` are registered. */
  assertComplete(names: readonly string[]): void {
    const missing = names.filter((n) => !this.handlers.has(n));
    const extra = [...this.handlers.keys()].filter((n) => !names.includes(n));
    if (missing.length || extra.length) {
      throw new Error(`job registry mismatch: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`);
    }
  }

  async dispatch(job: Job, token: string | undefined): Promise<unknown> {
    const h = this.handlers.get(job.name);
    if (!h) throw new Error(`no processor for job ${job.name}`);
    return h(job, token);
  }
}
