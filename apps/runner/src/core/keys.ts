/** Every Redis key the service uses, in one place. */
export class Keys {
  constructor(readonly prefix: string) {}
  run(id: string): string {
    return `${this.prefix}:run:${id}`;
  }
  /** run(id) as the text before and after the id (for a Lua script that finds a run's record). */
  runParts(): [before: string, after: string] {
    return [`${this.prefix}:run:`, ''];
  }
  runSpec(id: string): string {
    return `${this.prefix}:run:${id}:spec`;
  }
  runEvents(id: string): string {
    return `${this.prefix}:run:${id}:events`;
  }
  batch(id: string): string {
    return `${this.prefix}:batch:${id}`;
  }
  /** batch(id) as the text before and after the id (see runParts). */
  batchParts(): [before: string, after: string] {
    return [`${this.prefix}:batch:`, ''];
  }
  batchCells(id: string): string {
    return `${this.prefix}:batch:${id}:cells`;
  }
  apiKey(hash: string): string {
    return `${this.prefix}:apikey:${hash}`;
  }
  tenant(id: string): string {
    return `${this.prefix}:tenant:${id}`;
  }
  tenants(): string {
    return `${this.prefix}:tenants`;
  }
  /** Sorted set of a tenant's run ids scored by creation time (ms): GET /v1/runs. */
  tenantRuns(id: string): string {
    return `${this.prefix}:tenant:${id}:runs`;
  }
  /** Sorted set of a tenant's batch ids scored by creation time (ms): GET /v1/batches. */
  tenantBatches(id: string): string {
    return `${this.prefix}:tenant:${id}:batches`;
  }
  /** The tenant's current webhook signing secret (plain: it signs). */
  tenantWebhookSecret(id: string): string {
    return `${this.prefix}:tenant:${id}:whsec`;
  }
  /** The secret before the latest rotation, still signing for a grace period (expires). */
  tenantWebhookSecretPrevious(id: string): string {
    return `${this.prefix}:tenant:${id}:whsec:previous`;
  }
  tenantRunning(id: string): string {
    return `${this.prefix}:tenant:${id}:running`;
  }
  /** tenantRunning(id) as the text before and after the id (for a Lua script that finds the id). */
  tenantRunningParts(): [before: string, after: string] {
    return [`${this.prefix}:tenant:`, ':running'];
  }
  rateLimit(tenant: string, window: number): string {
    return `${this.prefix}:rl:${tenant}:${window}`;
  }
  /** rateLimit(tenant, window) as the text before and after the tenant (for a Lua script that finds the tenant). */
  rateLimitParts(window: number): [before: string, after: string] {
    return [`${this.prefix}:rl:`, `:${window}`];
  }
  /** tenant(id) without the id (for a Lua script that finds the id). */
  tenantKeyPrefix(): string {
    return this.tenant('');
  }
  cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }
  /** Pub/sub channel carrying the id of every run that became final. */
  doneChannel(): string {
    return `${this.prefix}:done`;
  }
  /** BullMQ key prefix: queues live under `<prefix>:bull:<queue>:*`. */
  bullPrefix(): string {
    return `${this.prefix}:bull`;
  }
}
