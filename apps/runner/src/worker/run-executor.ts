import type { ArtifactStore } from '../core/artifacts';
import { artifactKey } from '../core/artifacts';
import type { LichenConfig } from '../core/config';
import type { ImageProvider } from '../core/images';
import type { ServiceMetrics } from '../core/metrics';
import type { ClaimPolicy, RunMeta, RunStore } from '../core/run-store';
import { RunStore as Store } from '../core/run-store';
import type { TenantStore } from '../core/tenants';
import type { ConsoleEvent, RunOutcome, RunSpec } from '../core/types';
import { deliverWebhook } from '../core/webhook';
import type { ThreadJob } from '../vm/protocol';
import type { ThreadOutcome, VmPool } from '../vm/vm-pool';
import { BoundedBuffer, ConsoleSink } from './console-sink';
import { emptyStats, toOutcome } from './outcome';

/**
 * What a VM thread is given for a run: its spec with files and stdin decoded, on the image file
 * (null: an empty tmpfs root). The runner's warm-up VMs are built here too, so they have the
 * shape of real jobs (see WarmupSpec).
 */
export function threadJob(spec: RunSpec, imagePath: string | null): ThreadJob {
  return {
    argv: spec.argv,
    env: spec.env,
    cwd: spec.cwd,
    rootfs: imagePath === null ? { kind: 'tmpfs' } : { kind: 'ext4', path: imagePath },
    files: spec.files.map((f) => ({ path: f.path, mode: f.mode, content: Buffer.from(f.content, 'base64') })),
    stdin: spec.stdin === null ? null : Buffer.from(spec.stdin, 'base64'),
    limits: { ...spec.limits },
    deterministic: spec.deterministic,
    collectArtifacts: spec.artifacts,
  };
}

export interface ExecLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Called once per run that became final (batches hook in here). Must be idempotent. */
export type FinishedHook = (runId: string, spec: RunSpec, meta: RunMeta) => Promise<void>;

/** The tenant slot a claimed run holds; `released` once the outcome's write freed it. */
interface HeldSlot {
  tenant: string;
  released: boolean;
}

export type ExecResult =
  | { kind: 'done'; status: string }
  /** The tenant has no free running slot: try again later (the job is delayed, not failed). */
  | { kind: 'busy' }
  | { kind: 'skipped'; why: string };

/**
 * Executes one run: claims it (new attempt), boots the VM in a worker thread, streams the
 * console, writes the outcome once, then fires hooks (batch, webhook, metrics).
 */
export class RunExecutor {
  private readonly cancels = new Map<string, AbortController>();
  /** A slot's lease lasts this long past the run's wall limit (a dead runner's slot frees itself). */
  private static readonly LEASE_MARGIN_MS = 120_000;
  private hooks: FinishedHook[] = [];
  private abandoning = false;
  private readonly claimPolicy: ClaimPolicy;

  constructor(
    private readonly cfg: LichenConfig,
    private readonly runs: RunStore,
    private readonly tenants: TenantStore,
    private readonly pool: VmPool,
    private readonly images: ImageProvider,
    private readonly artifacts: ArtifactStore,
    private readonly metrics: ServiceMetrics,
    private readonly log: ExecLogger,
  ) {
    const t = cfg.tenantDefaults;
    this.claimPolicy = {
      defaultCap: t.concurrency,
      defaultWallMs: t.maxLimits.wallMs,
      leaseMarginMs: RunExecutor.LEASE_MARGIN_MS,
    };
  }

  onFinished(hook: FinishedHook): void {
    this.hooks.push(hook);
  }

  /** A cancel message from pub/sub: aborts the local VM of that run, if any. */
  cancelLocal(runId: string): boolean {
    const ac = this.cancels.get(runId);
    if (!ac) return false;
    ac.abort();
    return true;
  }

  get running(): number {
    return this.cancels.size;
  }

  /**
   * Shutdown after the grace period: VMs still running are dropped WITHOUT writing an outcome,
   * so their jobs go back to the queue and another runner runs them (as a new attempt).
   */
  abandonAll(): void {
    this.abandoning = true;
  }

  /** Starts the run (record, spec and claim in one round trip) and runs it if the claim allows. */
  async execute(runId: string, maxAttempts: number): Promise<ExecResult> {
    const started = Date.now();
    const { meta, spec, claim } = await this.runs.start(runId, this.claimPolicy, started);
    if (claim === 'missing' || !meta) return { kind: 'skipped', why: 'run record expired or missing' };
    if (claim === 'busy') return { kind: 'busy' };
    if (claim === 'terminal') {
      await this.afterFinish(runId, meta, spec);
      return { kind: 'skipped', why: `already ${meta.status}` };
    }
    const ac = new AbortController();
    this.cancels.set(runId, ac);
    const held = { tenant: meta.tenant, released: false };
    try {
      return await this.executeClaimed(runId, spec, meta, claim, started, held, ac, maxAttempts);
    } finally {
      this.cancels.delete(runId);
      if (!held.released) await this.tenants.releaseSlot(meta.tenant, runId).catch(() => undefined);
    }
  }

  private async executeClaimed(
    runId: string,
    spec: RunSpec | null,
    meta: RunMeta,
    claim: number | 'cancel',
    started: number,
    held: HeldSlot,
    ac: AbortController,
    maxAttempts: number,
  ): Promise<ExecResult> {
    const queueMs = Math.max(0, started - meta.createdAt);
    const attempt = claim === 'cancel' ? meta.attempt + 1 : claim;
    const quick = (status: RunOutcome['status'], message: string): RunOutcome => ({
      status,
      exitCode: null,
      signal: null,
      message,
      stdout: '',
      stdoutTruncated: false,
      stderr: '',
      stderrTruncated: false,
      encoding: 'utf8',
      stats: emptyStats(queueMs, 0),
      crash: null,
      artifactsKey: null,
      attempt,
    });
    // The record as the claim left it (what the hooks see once the outcome is written).
    const claimed: RunMeta =
      claim === 'cancel' ? meta : { ...meta, status: 'running', attempt: claim, startedAt: started };
    const done = { spec, meta: claimed, held };
    // Claimed, but its spec expired or was lost: end it clearly (and free the slot).
    if (!spec) return this.complete(runId, quick('internal_error', 'run spec missing'), attempt, done);
    if (claim === 'cancel') return this.complete(runId, quick('cancelled', 'cancelled before start'), 0, done);
    if (attempt > maxAttempts) {
      return this.complete(
        runId,
        quick('internal_error', `the run was interrupted ${attempt - 1} times (runner lost); giving up`),
        attempt,
        done,
      );
    }
    this.metrics.queueWait.observe(queueMs / 1000);

    let image: Awaited<ReturnType<ImageProvider['acquire']>> | null = null;
    try {
      image = await this.images.acquire(spec.image);
    } catch (e) {
      return this.complete(
        runId,
        quick('internal_error', `image ${spec.image}: ${(e as Error).message}`),
        attempt,
        done,
      );
    }
    this.metrics.imageCache.inc({ result: image.cacheHit ? 'hit' : 'miss' });
    this.metrics.imageCacheBytes.inc(
      { result: image.cacheHit ? 'hit' : 'miss' },
      image.cacheHit ? image.size : image.bytesFetched,
    );

    const sink = new ConsoleSink(
      this.runs,
      runId,
      attempt,
      this.cfg.results.consoleMaxBytes,
      this.cfg.results.consoleMaxEvents,
    );
    const stdout = new BoundedBuffer(this.cfg.results.outputBytes);
    const stderr = new BoundedBuffer(this.cfg.results.outputBytes);
    const job = threadJob(spec, image.path);
    this.metrics.activeVms.inc();
    let t: ThreadOutcome;
    try {
      t = await this.pool.run({
        job,
        signal: ac.signal,
        wallBackstopMs: spec.limits.wallMs + 2000,
        onStdout: (c) => {
          stdout.push(c);
          sink.push('stdout', c);
        },
        onStderr: (c) => {
          stderr.push(c);
          sink.push('stderr', c);
        },
      });
    } finally {
      this.metrics.activeVms.dec();
      await image.release().catch(() => undefined);
    }
    const wallMs = Date.now() - started;
    if (this.abandoning) throw new Error('runner shutting down: run abandoned for another runner');
    const rest = await sink.drain();
    if (rest.failed) this.log.warn({ runId, err: rest.failed.message }, 'console stream write failed');
    let key: string | null = null;
    if (spec.artifacts && t.kind === 'result' && t.result.artifacts) {
      key = artifactKey(runId);
      try {
        await this.artifacts.put(key, t.result.artifacts);
      } catch (e) {
        this.log.error({ runId, err: (e as Error).message }, 'artifact upload failed');
        key = null;
      }
    }
    const outcome = toOutcome(
      t,
      {
        stdout: stdout.bytes(),
        stdoutTruncated: stdout.truncated,
        stderr: stderr.bytes(),
        stderrTruncated: stderr.truncated,
      },
      { attempt, queueMs, wallMs, artifactsKey: key },
    );
    if (t.kind === 'crash') this.log.error({ runId, reason: t.reason, err: t.message }, 'VM worker thread crashed');
    return this.complete(runId, outcome, attempt, done, rest.events);
  }

  /**
   * Writes the outcome (with the console's last events and the release of the tenant slot, in
   * one round trip), then runs the hooks. When this call made the run final, the record is
   * known without reading it back.
   */
  private async complete(
    runId: string,
    outcome: RunOutcome,
    attempt: number,
    done: { spec: RunSpec | null; meta: RunMeta; held: HeldSlot },
    events: ConsoleEvent[] = [],
  ): Promise<ExecResult> {
    const now = Date.now();
    const { held } = done;
    const won = await this.runs.finish(runId, outcome, attempt, {
      now,
      events,
      releaseSlot: this.tenants.runningKey(held.tenant),
    });
    held.released = true;
    if (won) this.record(outcome);
    const meta: RunMeta | null = won
      ? { ...done.meta, status: outcome.status, finishedAt: now, outcome }
      : await this.runs.meta(runId);
    await this.afterFinish(runId, meta, done.spec);
    return { kind: 'done', status: outcome.status };
  }

  private record(o: RunOutcome): void {
    const m = this.metrics;
    m.runsTotal.inc({ status: o.status });
    m.runDuration.observe({ status: o.status }, o.stats.wallMs / 1000);
    if (o.stats.instructions > 0) {
      m.guestInstructions.inc(o.stats.instructions);
      if (o.stats.wallMs > 0) m.guestMips.observe(o.stats.instructions / o.stats.wallMs / 1000);
    }
    if (o.stats.maxMemoryBytes > 0) m.vmMemory.observe(o.stats.maxMemoryBytes);
    for (const [name, n] of Object.entries(o.stats.syscalls)) m.syscalls.inc({ name }, n);
    for (const [name, n] of Object.entries(o.stats.unsupportedSyscalls)) m.unsupportedSyscalls.inc({ name }, n);
  }

  /** Hooks after a run is final: webhook (first time only, guarded in Redis) and batch progress. */
  async afterFinish(runId: string, meta: RunMeta | null, known: RunSpec | null = null): Promise<void> {
    if (!meta || !meta.outcome) return;
    const spec = known ?? (await this.runs.spec(runId));
    if (!spec) return;
    for (const h of this.hooks) {
      try {
        await h(runId, spec, meta);
      } catch (e) {
        this.log.error({ runId, err: (e as Error).message }, 'run-finished hook failed');
        throw e;
      }
    }
    if (meta.webhookUrl && (await this.runs.claimWebhook(runId))) {
      void deliverWebhook(
        this.tenants,
        meta.tenant,
        meta.webhookUrl,
        'run.finished',
        { event: 'run.finished', run: Store.view(meta) },
        { timeoutMs: this.cfg.webhook.timeoutMs, attempts: this.cfg.webhook.attempts, log: this.log },
      );
    }
  }
}
