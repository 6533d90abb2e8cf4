import { cpus } from 'node:os';
import { join } from 'node:path';
import { defaultCacheRoot, defaultImageDir } from '@lichen/images';
import { z } from 'zod';
import { INTERRUPT_BUDGET_MAX, INTERRUPT_BUDGET_MIN, SERVICE_INTERRUPT_BUDGET } from './v8-flags';

/**
 * Service configuration (API and runner). Read from the environment and validated ONCE at
 * start-up into a typed object; every field is documented in docs/configuration.md.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Resource limits of a run, all optional at the API edge. */
export interface Limits {
  cpuSteps: number;
  memoryBytes: number;
  wallMs: number;
  outputBytes: number;
  processes: number;
  openFiles: number;
  fileSizeBytes: number;
}
export const LIMIT_NAMES: readonly (keyof Limits)[] = [
  'cpuSteps',
  'memoryBytes',
  'wallMs',
  'outputBytes',
  'processes',
  'openFiles',
  'fileSizeBytes',
];

export interface TenantPolicy {
  defaultLimits: Limits;
  maxLimits: Limits;
  /** Runs of one tenant executing at once (more wait in the queue). */
  concurrency: number;
  /** API requests per tenant per minute. */
  rateLimitPerMinute: number;
}

export interface LichenConfig {
  redisUrl: string;
  /** Prefix of every Redis key (runs, streams, tenants) and of the BullMQ queue keys. */
  redisPrefix: string;
  queueName: string;
  api: { host: string; port: number; bodyLimitBytes: number; maxWaitSeconds: number };
  /** Admin API key (manages tenants and images); null disables admin endpoints. */
  adminKey: string | null;
  /** Tenants and keys seeded at start-up: tenant id → plain keys (stored hashed). */
  bootstrapKeys: { tenant: string; key: string }[];
  tenantDefaults: TenantPolicy;
  request: {
    maxArgv: number;
    maxArgBytes: number;
    maxEnv: number;
    maxFiles: number;
    maxFilesBytes: number;
    maxStdinBytes: number;
    maxBatchCells: number;
  };
  results: { ttlSeconds: number; outputBytes: number; consoleMaxBytes: number; consoleMaxEvents: number };
  runner: {
    concurrency: number;
    /** VMs running at once (≤ concurrency): jobs beyond it wait for a VM thread in the runner. */
    vmThreads: number;
    vmHeapMb: number;
    /** VMs a worker thread runs one after another before it is replaced (1 = fresh thread per VM). */
    runsPerThread: number;
    /**
     * JIT warm-up of each fresh VM thread: `runs` VMs of `echo` on `image` (0 runs: none), the first
     * `blockingRuns` before the thread takes jobs, the rest while it has none.
     */
    warmup: { image: string; runs: number; blockingRuns: number };
    /** CPU list (taskset syntax, e.g. `0` or `2-3,6`) the runner pins all its threads to; null: no pinning. */
    cpus: string | null;
    metricsPort: number;
    attempts: number;
    shutdownGraceMs: number;
    stalledIntervalMs: number;
    /** Module a worker thread loads to run a VM; default the kernel adapter. Tests plug engines here. */
    engineModule: string | null;
  };
  /** Local image store (the CLI's, `defaultImageDir()` of libs/images) and the upload size cap. */
  images: { dir: string; maxBytes: number };
  artifacts: { dir: string };
  /** True when LICHEN_S3_BUCKET or LICHEN_S3_ENDPOINT is set (validated by libs/images). */
  s3Enabled: boolean;
  webhook: { timeoutMs: number; attempts: number };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const MiB = 1024 * 1024;

const int = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `must be an integer between ${min} and ${max}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

const str = (def: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? def : v.trim()));

const schema = z.object({
  REDIS_URL: str('redis://127.0.0.1:6379').refine(
    (v) => /^rediss?:\/\//.test(v),
    'must be a redis:// or rediss:// URL',
  ),
  LICHEN_REDIS_PREFIX: str('lichen').refine(
    (v) => /^[A-Za-z0-9_.:-]{1,64}$/.test(v),
    'must be 1-64 of [A-Za-z0-9_.:-]',
  ),
  LICHEN_QUEUE_NAME: str('runs').refine((v) => /^[A-Za-z0-9_-]{1,64}$/.test(v), 'must be 1-64 of [A-Za-z0-9_-]'),
  LICHEN_API_HOST: str('0.0.0.0'),
  LICHEN_API_PORT: int(8080, 0, 65535),
  LICHEN_BODY_LIMIT_BYTES: int(16 * MiB, 1024, 1024 * MiB),
  LICHEN_WAIT_MAX_SECONDS: int(60, 0, 3600),
  LICHEN_ADMIN_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || v.length >= 16, 'must be at least 16 characters'),
  LICHEN_API_KEYS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: { tenant: string; key: string }[] = [];
      for (const part of (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const eq = part.indexOf('=');
        const tenant = part.slice(0, eq);
        const key = part.slice(eq + 1);
        if (eq <= 0 || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenant) || key.length < 16) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: 'must be a comma-separated list of tenant=key (tenant: [a-z0-9_-], key: at least 16 characters)',
          });
          return z.NEVER;
        }
        out.push({ tenant, key });
      }
      return out;
    }),
  LICHEN_DEFAULT_CPU_STEPS: int(2_000_000_000, 1),
  LICHEN_MAX_CPU_STEPS: int(100_000_000_000, 1),
  LICHEN_DEFAULT_MEMORY_BYTES: int(256 * MiB, MiB),
  LICHEN_MAX_MEMORY_BYTES: int(2048 * MiB, MiB),
  LICHEN_DEFAULT_WALL_MS: int(30_000, 1),
  LICHEN_MAX_WALL_MS: int(600_000, 1),
  LICHEN_DEFAULT_OUTPUT_BYTES: int(MiB, 1),
  LICHEN_MAX_OUTPUT_BYTES: int(64 * MiB, 1),
  LICHEN_DEFAULT_PROCESSES: int(64, 1),
  LICHEN_MAX_PROCESSES: int(1024, 1),
  LICHEN_DEFAULT_OPEN_FILES: int(256, 3),
  LICHEN_MAX_OPEN_FILES: int(4096, 3),
  LICHEN_DEFAULT_FILE_SIZE_BYTES: int(64 * MiB, 0),
  LICHEN_MAX_FILE_SIZE_BYTES: int(1024 * MiB, 0),
  LICHEN_TENANT_CONCURRENCY: int(16, 1, 100_000),
  LICHEN_TENANT_RATE_LIMIT: int(600, 1, 10_000_000),
  LICHEN_MAX_ARGV: int(256, 1, 65536),
  LICHEN_MAX_ARG_BYTES: int(128 * 1024, 64),
  LICHEN_MAX_ENV: int(256, 0, 65536),
  LICHEN_MAX_FILES: int(256, 0, 100_000),
  LICHEN_MAX_FILES_BYTES: int(8 * MiB, 0),
  LICHEN_MAX_STDIN_BYTES: int(4 * MiB, 0),
  LICHEN_MAX_BATCH_CELLS: int(10_000, 1),
  LICHEN_RESULT_TTL_SECONDS: int(7 * 86400, 60),
  LICHEN_RESULT_OUTPUT_BYTES: int(MiB, 0),
  LICHEN_CONSOLE_MAX_BYTES: int(8 * MiB, 0),
  LICHEN_CONSOLE_MAX_EVENTS: int(20_000, 10),
  LICHEN_RUNNER_CONCURRENCY: int(Math.max(1, cpus().length), 1, 1024),
  LICHEN_RUNNER_VM_THREADS: int(0, 0, 1024),
  LICHEN_VM_HEAP_MB: int(512, 32, 65536),
  LICHEN_VM_RUNS_PER_THREAD: int(100_000, 1, 10_000_000),
  LICHEN_VM_WARMUP_RUNS: int(1500, 0, 100_000),
  LICHEN_VM_WARMUP_BLOCKING_RUNS: int(100, 0, 100_000),
  LICHEN_VM_WARMUP_IMAGE: z.string().min(1).optional().default('busybox'),
  LICHEN_RUNNER_CPUS: str('').refine(
    (v) => v === '' || /^\d{1,4}(-\d{1,4})?(,\d{1,4}(-\d{1,4})?)*$/.test(v),
    'must be a CPU list such as 0, 0-3 or 0,2,4-5',
  ),
  // Applied by the entry points before loading (v8-flags.ts); validated here like the rest.
  LICHEN_V8_INTERRUPT_BUDGET: int(SERVICE_INTERRUPT_BUDGET, 0, INTERRUPT_BUDGET_MAX).refine(
    (n) => n === 0 || n >= INTERRUPT_BUDGET_MIN,
    `must be 0 (V8's default) or at least ${INTERRUPT_BUDGET_MIN}`,
  ),
  LICHEN_RUNNER_METRICS_PORT: int(9464, 0, 65535),
  LICHEN_JOB_ATTEMPTS: int(2, 1, 20),
  LICHEN_SHUTDOWN_GRACE_MS: int(30_000, 0),
  LICHEN_STALLED_INTERVAL_MS: int(30_000, 1000),
  LICHEN_VM_ENGINE: z.string().optional(),
  LICHEN_IMAGE_DIR: z.string().optional(),
  LICHEN_IMAGE_MAX_BYTES: int(8 * 1024 * MiB, 1024 * 1024),
  LICHEN_ARTIFACT_DIR: z.string().optional(),
  LICHEN_S3_BUCKET: z.string().optional(),
  LICHEN_S3_ENDPOINT: z.string().optional(),
  LICHEN_WEBHOOK_TIMEOUT_MS: int(5000, 100, 120_000),
  LICHEN_WEBHOOK_ATTEMPTS: int(3, 1, 20),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
});

/** Validates the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LichenConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  - ${lines.join('\n  - ')}`);
  }
  const e = parsed.data;
  const defaultLimits: Limits = {
    cpuSteps: e.LICHEN_DEFAULT_CPU_STEPS,
    memoryBytes: e.LICHEN_DEFAULT_MEMORY_BYTES,
    wallMs: e.LICHEN_DEFAULT_WALL_MS,
    outputBytes: e.LICHEN_DEFAULT_OUTPUT_BYTES,
    processes: e.LICHEN_DEFAULT_PROCESSES,
    openFiles: e.LICHEN_DEFAULT_OPEN_FILES,
    fileSizeBytes: e.LICHEN_DEFAULT_FILE_SIZE_BYTES,
  };
  const maxLimits: Limits = {
    cpuSteps: e.LICHEN_MAX_CPU_STEPS,
    memoryBytes: e.LICHEN_MAX_MEMORY_BYTES,
    wallMs: e.LICHEN_MAX_WALL_MS,
    outputBytes: e.LICHEN_MAX_OUTPUT_BYTES,
    processes: e.LICHEN_MAX_PROCESSES,
    openFiles: e.LICHEN_MAX_OPEN_FILES,
    fileSizeBytes: e.LICHEN_MAX_FILE_SIZE_BYTES,
  };
  const bad = LIMIT_NAMES.filter((k) => defaultLimits[k] > maxLimits[k]);
  if (bad.length > 0) {
    throw new ConfigError(`invalid configuration:\n  - default limits above the maximum: ${bad.join(', ')}`);
  }
  return {
    redisUrl: e.REDIS_URL,
    redisPrefix: e.LICHEN_REDIS_PREFIX,
    queueName: e.LICHEN_QUEUE_NAME,
    api: {
      host: e.LICHEN_API_HOST,
      port: e.LICHEN_API_PORT,
      bodyLimitBytes: e.LICHEN_BODY_LIMIT_BYTES,
      maxWaitSeconds: e.LICHEN_WAIT_MAX_SECONDS,
    },
    adminKey: e.LICHEN_ADMIN_KEY ? e.LICHEN_ADMIN_KEY : null,
    bootstrapKeys: e.LICHEN_API_KEYS,
    tenantDefaults: {
      defaultLimits,
      maxLimits,
      concurrency: e.LICHEN_TENANT_CONCURRENCY,
      rateLimitPerMinute: e.LICHEN_TENANT_RATE_LIMIT,
    },
    request: {
      maxArgv: e.LICHEN_MAX_ARGV,
      maxArgBytes: e.LICHEN_MAX_ARG_BYTES,
      maxEnv: e.LICHEN_MAX_ENV,
      maxFiles: e.LICHEN_MAX_FILES,
      maxFilesBytes: e.LICHEN_MAX_FILES_BYTES,
      maxStdinBytes: e.LICHEN_MAX_STDIN_BYTES,
      maxBatchCells: e.LICHEN_MAX_BATCH_CELLS,
    },
    results: {
      ttlSeconds: e.LICHEN_RESULT_TTL_SECONDS,
      outputBytes: e.LICHEN_RESULT_OUTPUT_BYTES,
      consoleMaxBytes: e.LICHEN_CONSOLE_MAX_BYTES,
      consoleMaxEvents: e.LICHEN_CONSOLE_MAX_EVENTS,
    },
    runner: {
      concurrency: e.LICHEN_RUNNER_CONCURRENCY,
      vmThreads:
        e.LICHEN_RUNNER_VM_THREADS === 0
          ? e.LICHEN_RUNNER_CONCURRENCY
          : Math.min(e.LICHEN_RUNNER_VM_THREADS, e.LICHEN_RUNNER_CONCURRENCY),
      vmHeapMb: e.LICHEN_VM_HEAP_MB,
      runsPerThread: e.LICHEN_VM_RUNS_PER_THREAD,
      warmup: {
        image: e.LICHEN_VM_WARMUP_IMAGE,
        runs: e.LICHEN_VM_WARMUP_RUNS,
        blockingRuns: Math.min(e.LICHEN_VM_WARMUP_BLOCKING_RUNS, e.LICHEN_VM_WARMUP_RUNS),
      },
      cpus: e.LICHEN_RUNNER_CPUS === '' ? null : e.LICHEN_RUNNER_CPUS,
      metricsPort: e.LICHEN_RUNNER_METRICS_PORT,
      attempts: e.LICHEN_JOB_ATTEMPTS,
      shutdownGraceMs: e.LICHEN_SHUTDOWN_GRACE_MS,
      stalledIntervalMs: e.LICHEN_STALLED_INTERVAL_MS,
      engineModule: e.LICHEN_VM_ENGINE ? e.LICHEN_VM_ENGINE : null,
    },
    images: { dir: defaultImageDir(env), maxBytes: e.LICHEN_IMAGE_MAX_BYTES },
    artifacts: { dir: e.LICHEN_ARTIFACT_DIR || join(defaultCacheRoot(env), 'artifacts') },
    s3Enabled: !!(e.LICHEN_S3_BUCKET || e.LICHEN_S3_ENDPOINT),
    webhook: { timeoutMs: e.LICHEN_WEBHOOK_TIMEOUT_MS, attempts: e.LICHEN_WEBHOOK_ATTEMPTS },
    logLevel: e.LOG_LEVEL,
  };
}
