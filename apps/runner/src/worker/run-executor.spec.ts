import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../core/artifacts';
import { loadConfig } from '../core/config';
import type { ImageProvider } from '../core/images';
import { Keys } from '../core/keys';
import { ServiceMetrics } from '../core/metrics';
import { RunStore } from '../core/run-store';
import { TenantStore } from '../core/tenants';
import type { RunSpec } from '../core/types';
import type { VmPool } from '../vm/vm-pool';
import { RunExecutor } from './run-executor';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('RunExecutor (real Redis)', () => {
  const cfg = loadConfig({});
  const keys = new Keys(`lichen-test-${randomUUID().slice(0, 8)}`);
  const redis = new Redis(REDIS_URL);
  const runs = new RunStore(redis, keys, 60);
  const tenants = new TenantStore(redis, keys, cfg.tenantDefaults, null);
  const unused = (what: string): never => {
    throw new Error(`${what} must not be used for a run without its spec`);
  };
  const executor = new RunExecutor(
    cfg,
    runs,
    tenants,
    { run: () => unused('the VM pool') } as unknown as VmPool,
    { acquire: () => unused('the image provider') } as unknown as ImageProvider,
    { put: () => unused('the artifact store') } as unknown as ArtifactStore,
    new ServiceMetrics('runner', { defaultMetrics: false }),
    { info: () => undefined, warn: () => undefined, error: () => undefined },
  );
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });

  it('a claimed run whose spec is gone ends internal_error and frees its tenant slot, without a VM', async () => {
    const spec: RunSpec = {
      image: 'busybox',
      argv: ['echo'],
      env: [],
      cwd: '/',
      stdin: null,
      files: [],
      limits: { ...cfg.tenantDefaults.defaultLimits },
      deterministic: null,
      artifacts: false,
      webhookUrl: null,
      batch: null,
    };
    const id = randomUUID();
    await runs.create(id, 't', spec);
    await redis.del(keys.runSpec(id));
    expect(await executor.execute(id, 2)).toEqual({ kind: 'done', status: 'internal_error' });
    const meta = await runs.meta(id);
    expect(meta?.status).toBe('internal_error');
    expect(meta?.outcome?.message).toBe('run spec missing');
    expect(meta?.outcome?.attempt).toBe(1);
    expect(await redis.zcard(keys.tenantRunning('t'))).toBe(0);
  });
});
