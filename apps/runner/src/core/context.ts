import type Redis from 'ioredis';
import { isS3Configured, loadS3Config, S3ImageStore } from '@lichen/images';
import type { ArtifactStore } from './artifacts';
import { LocalArtifactStore, S3ArtifactStore } from './artifacts';
import type { LichenConfig } from './config';
import type { ImageCatalog } from './images';
import { LocalImageCatalog, S3ImageCatalog } from './images';
import { Keys } from './keys';
import { ServiceMetrics } from './metrics';
import { closeRedis, createRedis } from './redis';
import { RunStore } from './run-store';
import { TenantStore } from './tenants';
import { BatchStore } from '../batch/batch-store';

/** Everything the API and the runner share: config, Redis, stores, metrics. */
export interface ServiceContext {
  cfg: LichenConfig;
  keys: Keys;
  redis: Redis;
  runs: RunStore;
  tenants: TenantStore;
  batches: BatchStore;
  artifacts: ArtifactStore;
  catalog: ImageCatalog;
  localImages: LocalImageCatalog | null;
  s3: S3ImageStore | null;
  metrics: ServiceMetrics;
}

export interface ContextOptions {
  app: 'api' | 'runner';
  /** Share one metrics registry (lichen serve runs API and runner in one process). */
  metrics?: ServiceMetrics;
  env?: NodeJS.ProcessEnv;
}

export function createContext(cfg: LichenConfig, opts: ContextOptions): ServiceContext {
  const env = opts.env ?? process.env;
  const keys = new Keys(cfg.redisPrefix);
  const redis = createRedis(cfg.redisUrl, { name: `lichen-${opts.app}` });
  // Fail fast on malformed S3 settings (S3ConfigError lists every problem).
  const s3 = isS3Configured(env) ? new S3ImageStore(loadS3Config(env)) : null;
  const localImages = s3 ? null : new LocalImageCatalog(cfg.images.dir);
  const catalog: ImageCatalog = s3 ? new S3ImageCatalog(s3) : (localImages as LocalImageCatalog);
  const artifacts: ArtifactStore = s3
    ? new S3ArtifactStore(s3.client, s3.config.bucket, s3.config.prefix)
    : new LocalArtifactStore(cfg.artifacts.dir);
  const runs = new RunStore(redis, keys, cfg.results.ttlSeconds);
  return {
    cfg,
    keys,
    redis,
    runs,
    tenants: new TenantStore(redis, keys, cfg.tenantDefaults, cfg.adminKey),
    batches: new BatchStore(redis, keys, cfg.results.ttlSeconds),
    artifacts,
    catalog,
    localImages,
    s3,
    metrics: opts.metrics ?? new ServiceMetrics(opts.app),
  };
}

/** Fails clearly at start-up when the image store (S3 bucket or local directory) is unreachable. */
export async function checkImageStore(ctx: ServiceContext): Promise<void> {
  try {
    await ctx.catalog.ping();
  } catch (e) {
    const where = ctx.s3
      ? `S3 bucket ${ctx.s3.config.bucket} at ${ctx.s3.config.endpoint ?? 'AWS'}`
      : `local image store ${ctx.cfg.images.dir}`;
    throw new Error(`image store unreachable: ${where}: ${(e as Error).message}`);
  }
}

export async function closeContext(ctx: ServiceContext): Promise<void> {
  await closeRedis(ctx.redis);
  ctx.s3?.client.destroy();
}

/** BullMQ connection options for the configured Redis. */
export function bullConnection(cfg: LichenConfig): { url: string; maxRetriesPerRequest: null } {
  return { url: cfg.redisUrl, maxRetriesPerRequest: null };
}
