import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, TenantIndex } from './tenant-index';

describe('listing cursors', () => {
  it('round-trip a position and look opaque', () => {
    const p = { at: 1733312345678, id: '3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e' };
    const c = encodeCursor(p);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(c).not.toContain(p.id);
    expect(decodeCursor(c)).toEqual(p);
  });

  it('refuse anything this service did not make', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64url');
    for (const bad of [
      '',
      'not a cursor!',
      b64('1733312345678'),
      b64('abc.3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e'),
      b64('1733312345678.not-an-id'),
      b64('-1.3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e'),
      b64('12345678901234567.3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e'),
      'A'.repeat(81),
    ])
      expect(decodeCursor(bad), bad).toBeNull();
  });
});

describe('an index insert (real Redis)', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `lichen-test-index-${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('adds the id with the TTL and drops old entries whose record is gone, in the caller’s transaction', async () => {
    const ttl = 100;
    const index = new TenantIndex(redis, (t) => `${prefix}:t:${t}`, [`${prefix}:rec:`, ':x'], ttl);
    const key = index.key('a');
    const now = 10_000_000;
    const old = now - ttl * 1000 - 1;
    await redis.zadd(key, String(old), 'gone', String(old), 'kept', String(now - 5), 'recent-gone');
    await redis.set(`${prefix}:rec:kept:x`, '1');
    const m = redis.multi();
    m.set(`${prefix}:rec:new:x`, '1');
    index.add(m, 'a', 'new', now);
    const res = await m.exec();
    expect(res?.map(([err]) => err)).toEqual([null, null]);
    expect(res?.[1]?.[1]).toBe(1);
    // Only entries past the TTL are checked: a recent one with no record stays until a page meets it.
    expect(await redis.zrange(key, '0', '-1')).toEqual(['kept', 'recent-gone', 'new']);
    expect(await redis.ttl(key)).toBeGreaterThan(ttl - 5);
  });
});
