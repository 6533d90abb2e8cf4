import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { DelayedError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type Redis from 'ioredis';
import { BatchCoordinator } from './batch/coordinator';
import type { Limits } from './core/config';
import type { ServiceContext } from './core/context';
import { bullConnection } from './core/context';
import { allowedCpus, pinProcess } from './core/cpu-affinity';
import type { ImageProvider } from './core/images';
import { ResolvingImageProvider } from './core/images';
import { createRedis, closeRedis } from './core/redis';
import { RUN_JOB, RunSubmitter } from './core/submitter';
import type { RunOutcome } from './core/types';
import { JobRegistry } from './worker/job-registry';
import { RunExecutor, threadJob } from './worker/run-executor';
import type { ExecLogger } from './worker/run-executor';
import { emptyStats } from './worker/outcome';
import type { ThreadJob, WarmupSpec } from './vm/protocol';
import { VmPool } from './vm/vm-pool';

/** Bounds of one warm-up VM. */
const WARMUP_MAX_WALL_MS = 5_000;
const WARMUP_MAX_CPU_STEPS = 20_000_000;

/**
 * The job a VM thread warms up with: a run as the API makes it with the default limits (the same
 * guest-memory size and object shapes as most jobs), bounded so a broken warm-up image cannot
 * hold the thread. Built by the executor's own `threadJob`.
 */
export function warmupJob(defaults: Limits, image: string, imagePath: string): ThreadJob {
  return threadJob(
    {
      image,
      argv: ['echo', 'lichen VM warm-up'],
      env: [],
      cwd: '/',
      stdin: null,
      files: [],
      limits: {
        ...defaults,
        wallMs: Math.min(defaults.wallMs, WARMUP_MAX_WALL_MS),
        cpuSteps: Math.min(defaults.cpuSteps, WARMUP_MAX_CPU_STEPS),
      },
      deterministic: null,
      artifacts: false,
      webhookUrl: null,
      batch: null,
    },
    imagePath,
  );
}

/** Job names the runner must handle (checked against the registry at start-up). */
export const JOB_NAMES = [RUN_JOB] as const;

export interface RunnerOptions {
  /** Engine module for VM threads (default `@lichen/kernel`, or LICHEN_VM_ENGINE). */
  engine?: string;
  images?: ImageProvider;
  /** Serve /metrics and /healthz on the configured runner port (default true). */
  metricsServer?: boolean;
  /** Delay before retrying a run whose tenant has no free slot. */
  busyDelayMs?: number;
}

/**
 * The runner: a BullMQ worker whose processors are registered in one place, a pool of VM
 * worker threads, cancel messages over Redis pub/sub, graceful shutdown, stalled-job recovery.
 */
export class RunnerCore {
  readonly pool: VmPool;
  readonly executor: RunExecutor;
  readonly submitter: RunSubmitter;
  readonly coordinator: BatchCoordinator;
  readonly registry = new JobRegistry();
  private worker: Worker | null = null;
  private sub: Redis | null = null;
  private http: Server | null = null;
  private stopping = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly log: ExecLogger,
    private readonly opts: RunnerOptions = {},
  ) {
    const cfg = ctx.cfg;
    const images = opts.images ?? new ResolvingImageProvider(ctx.localImages, ctx.s3);
    const engine = opts.engine ?? cfg.runner.engineModule;
    const { warmup } = cfg.runner;
    this.pool = new VmPool({
      engine: engine ?? '@lichen/kernel',
      heapMb: cfg.runner.vmHeapMb,
      warm: cfg.runner.vmThreads,
      maxRunning: cfg.runner.vmThreads < cfg.runner.concurrency ? cfg.runner.vmThreads : undefined,
      runsPerThread: cfg.runner.runsPerThread,
      cancelGraceMs: 500,
      // Only the kernel is warmed (a plugged-in engine may not run real images).
      warmup: engine === null && warmup.runs > 0 ? () => this.warmupSpec(images, warmup) : undefined,
      onWarmup: (r) =>
        r.error
          ? log.warn({ ...r, image: warmup.image }, 'VM thread warm-up stopped early')
          : log.info({ ...r, image: warmup.image }, 'VM thread warmed up'),
      onCrash: (reason) => ctx.metrics.workerCrashes.inc({ reason }),
      onRetire: (reason) => ctx.metrics.vmThreadRetirements.inc({ reason }),
    });
    this.executor = new RunExecutor(cfg, ctx.runs, ctx.tenants, this.pool, images, ctx.artifacts, ctx.metrics, log);
    this.submitter = new RunSubmitter(cfg, ctx.keys, ctx.runs, ctx.redis);
    this.coordinator = new BatchCoordinator(cfg, ctx.batches, this.submitter, ctx.artifacts, log, ctx.tenants);
    this.executor.onFinished((id, spec, meta) => this.coordinator.onRunFinished(id, spec, meta));
    ctx.metrics.setQueueDepthSource(() => this.submitter.counts());
    ctx.metrics.setWarmingThreadsSource(() => this.pool.warmingThreads);
    this.registerProcessors();
  }

  /** The warm-up image on local disk (pinned for the pool's life), or null when it is not available. */
  private async warmupSpec(
    images: ImageProvider,
    warmup: { image: string; runs: number; blockingRuns: number },
  ): Promise<WarmupSpec | null> {
    try {
      const img = await images.acquire(warmup.image);
      if (img.path === null) return null;
      return {
        job: warmupJob(this.ctx.cfg.tenantDefaults.defaultLimits, warmup.image, img.path),
        runs: warmup.runs,
        blockingRuns: warmup.blockingRuns,
      };
    } catch (e) {
      this.log.info(
        { image: warmup.image, err: (e as Error).message },
        'VM thread warm-up skipped: the warm-up image is not available (set LICHEN_VM_WARMUP_IMAGE or LICHEN_VM_WARMUP_RUNS=0)',
      );
      return null;
    }
  }

  /** The one place job handlers are registered. */
  private registerProcessors(): void {
    this.registry.register(RUN_JOB, async (job: Job, token) => {
      const { runId } = job.data as { runId?: unknown };
      if (typeof runId !== 'string') throw new Error('run job without runId');
      const res = await this.executor.execute(runId, this.ctx.cfg.runner.attempts);
      if (res.kind === 'busy') {
        await job.moveToDelayed(Date.now() + (this.opts.busyDelayMs ?? 250), token);
        throw new DelayedError();
      }
      return res;
    });
    this.registry.assertComplete(JOB_NAMES);
  }

  async start(): Promise<void> {
    const cfg = this.ctx.cfg;
    if (cfg.runner.cpus !== null) {
      // Before the VM threads start work: they inherit the mask (docs/operations.md, CPU pinning).
      pinProcess(cfg.runner.cpus);
      this.log.info({ cpus: allowedCpus() }, 'runner pinned to CPUs');
    }
    this.sub = createRedis(cfg.redisUrl, { name: 'lichen-runner-sub' });
    await this.sub.subscribe(this.ctx.keys.cancelChannel());
    this.sub.on('message', (_ch: string, runId: string) => {
      this.executor.cancelLocal(runId);
    });
    this.worker = new Worker(cfg.queueName, (job, token) => this.registry.dispatch(job, token), {
      connection: bullConnection(cfg),
      prefix: this.ctx.keys.bullPrefix(),
      concurrency: cfg.runner.concurrency,
      stalledInterval: cfg.runner.stalledIntervalMs,
      lockDuration: Math.max(cfg.runner.stalledIntervalMs, 2_000),
      maxStalledCount: cfg.runner.attempts,
      autorun: true,
    });
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      void this.onJobFailed(job, err);
    });
    this.worker.on('error', (err) => this.log.error({ err: err.message }, 'BullMQ worker error'));
    if (this.opts.metricsServer !== false && cfg.runner.metricsPort > 0) {
      this.http = createServer((req, res) => {
        if (req.url === '/metrics') {
          this.ctx.metrics.text().then(
            (t) => {
              res.writeHead(200, { 'content-type': this.ctx.metrics.registry.contentType });
              res.end(t);
            },
            (e: Error) => {
              res.writeHead(500);
              res.end(e.message);
            },
          );
        } else if (req.url === '/healthz') {
          res.writeHead(this.stopping ? 503 : 200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: this.stopping ? 'stopping' : 'ok', running: this.executor.running }));
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((resolve) => this.http?.listen(cfg.runner.metricsPort, resolve));
    }
    await this.worker.waitUntilReady();
    this.log.info({ queue: cfg.queueName, concurrency: cfg.runner.concurrency }, 'runner started');
  }

  /** A job failed for good (infrastructure errors retried out, or stalled too often): fail the run clearly. */
  private async onJobFailed(job: Job, err: Error): Promise<void> {
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled/i.test(err.message);
    if (!final) return;
    const runId = (job.data as { runId?: string }).runId;
    if (!runId) return;
    const outcome: RunOutcome = {
      status: 'internal_error',
      exitCode: null,
      signal: null,
      message: `run could not be completed: ${err.message}`,
      stdout: '',
      stdoutTruncated: false,
      stderr: '',
      stderrTruncated: false,
      encoding: 'utf8',
      stats: emptyStats(0, 0),
      crash: null,
      artifactsKey: null,
      attempt: 0,
    };
    try {
      if (await this.ctx.runs.finish(runId, outcome, 0)) this.ctx.metrics.runsTotal.inc({ status: 'internal_error' });
      await this.executor.afterFinish(runId, await this.ctx.runs.meta(runId));
    } catch (e) {
      this.log.error({ runId, err: (e as Error).message }, 'could not record a failed job');
    }
  }

  /**
   * Graceful shutdown: stop taking jobs, let running VMs finish for up to the grace period,
   * then force-close: their jobs' locks lapse and BullMQ hands them to another runner
   * (the run's attempt counter makes the retry visible as a new attempt).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const w = this.worker;
    if (w) {
      const graceful = w.close();
      const timeout = new Promise<'timeout'>((r) =>
        setTimeout(() => r('timeout'), this.ctx.cfg.runner.shutdownGraceMs).unref(),
      );
      if ((await Promise.race([graceful.then(() => 'closed' as const), timeout])) === 'timeout') {
        this.log.warn(
          { running: this.executor.running },
          'shutdown grace over: abandoning running VMs for another runner',
        );
        this.executor.abandonAll();
        await this.pool.close();
        await w.close(true);
      }
    }
    await this.pool.close();
    await this.submitter.close();
    if (this.sub) await closeRedis(this.sub);
    if (this.http) await new Promise<void>((r) => this.http?.close(() => r()));
  }
}
