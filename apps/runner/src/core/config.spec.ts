import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.api.port).toBe(8080);
    expect(c.adminKey).toBeNull();
    expect(c.runner.concurrency).toBeGreaterThan(0);
    expect(c.tenantDefaults.defaultLimits.wallMs).toBe(30_000);
    expect(c.s3Enabled).toBe(false);
  });
  it('parses tenants and keys', () => {
    const c = loadConfig({ LICHEN_API_KEYS: 'a=0123456789abcdef, b-2=fedcba9876543210' });
    expect(c.bootstrapKeys).toEqual([
      { tenant: 'a', key: '0123456789abcdef' },
      { tenant: 'b-2', key: 'fedcba9876543210' },
    ]);
  });
  it('names every bad variable at once', () => {
    try {
      loadConfig({
        LICHEN_API_PORT: 'eighty',
        REDIS_URL: 'http://x',
        LICHEN_ADMIN_KEY: 'short',
        LICHEN_API_KEYS: 'nokey',
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const m = (e as Error).message;
      for (const v of ['LICHEN_API_PORT', 'REDIS_URL', 'LICHEN_ADMIN_KEY', 'LICHEN_API_KEYS']) expect(m).toContain(v);
    }
  });
  it('refuses defaults above maxima', () => {
    expect(() => loadConfig({ LICHEN_DEFAULT_WALL_MS: '10', LICHEN_MAX_WALL_MS: '5' })).toThrow(/wallMs/);
  });
  it('S3 is enabled by a bucket or endpoint', () => {
    expect(loadConfig({ LICHEN_S3_BUCKET: 'b' }).s3Enabled).toBe(true);
  });
});
