import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Redis from 'ioredis';
import type { Limits, TenantPolicy } from './config';
import { LIMIT_NAMES } from './config';
import type { Keys } from './keys';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Overrides of the installation-wide tenant policy, stored per tenant. */
export interface TenantOverrides {
  defaultLimits?: Partial<Limits>;
  maxLimits?: Partial<Limits>;
  concurrency?: number;
  rateLimitPerMinute?: number;
}

export interface Tenant {
  id: string;
  createdAt: string;
  overrides: TenantOverrides;
}

/** How long the previous webhook secret keeps signing after a rotation. */
export const WEBHOOK_SECRET_GRACE_SECONDS = 24 * 3600;

const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenant: string };

const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
`;

type WithAcquire = Redis & {
  lichenAcquire(key: string, now: string, expiry: string, member: string, cap: string): Promise<number>;
};

/** Tenants, their hashed API keys, policies, rate limits and running-slot leases. */
export class TenantStore {
  private readonly r: WithAcquire;
  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly base: TenantPolicy,
    private readonly adminKey: string | null,
  ) {
    this.r = redis as WithAcquire;
    if (typeof this.r.lichenAcquire !== 'function')
      redis.defineCommand('lichenAcquire', { numberOfKeys: 1, lua: ACQUIRE });
  }

  /** The principal an API key stands for, or null. The admin key is compared in constant time. */
  async authenticate(key: string | undefined): Promise<Principal | null> {
    if (!key) return null;
    if (this.adminKey !== null) {
      const a = Buffer.from(hashKey(this.adminKey), 'hex');
      const b = Buffer.from(hashKey(key), 'hex');
      if (timingSafeEqual(a, b)) return { kind: 'admin' };
    }
    const tenant = await this.r.get(this.keys.apiKey(hashKey(key)));
    if (!tenant || !(await this.exists(tenant))) return null;
    return { kind: 'tenant', tenant };
  }

  async create(id: string, overrides: TenantOverrides = {}): Promise<Tenant> {
    const t: Tenant = { id, createdAt: new Date().toISOString(), overrides };
    await this.r.multi().set(this.keys.tenant(id), JSON.stringify(t)).sadd(this.keys.tenants(), id).exec();
    return t;
  }

  async get(id: string): Promise<Tenant | null> {
    const s = await this.r.get(this.keys.tenant(id));
    return s ? (JSON.parse(s) as Tenant) : null;
  }

  async list(): Promise<Tenant[]> {
    const ids = (await this.r.smembers(this.keys.tenants())).sort();
    const out: Tenant[] = [];
    for (const id of ids) {
      const t = await this.get(id);
      if (t) out.push(t);
    }
    return out;
  }

  async addKey(tenant: string, key: string): Promise<void> {
    await this.r.set(this.keys.apiKey(hashKey(key)), tenant);
  }

  async removeKey(key: string): Promise<boolean> {
    return (await this.r.del(this.keys.apiKey(hashKey(key)))) === 1;
  }

  /**
   * Makes a new webhook signing secret for the tenant and returns it (the only time it is
   * shown). The one it replaces keeps signing (a second v1) for WEBHOOK_SECRET_GRACE_SECONDS.
   */
  async rotateWebhookSecret(id: string): Promise<{ secret: string; previousValidUntil: string | null }> {
    const secret = newWebhookSecret();
    const old = await this.r.getset(this.keys.tenantWebhookSecret(id), secret);
    if (!old) return { secret, previousValidUntil: null };
    await this.r.set(this.keys.tenantWebhookSecretPrevious(id), old, 'EX', WEBHOOK_SECRET_GRACE_SECONDS);
    return { secret, previousValidUntil: new Date(Date.now() + WEBHOOK_SECRET_GRACE_SECONDS * 1000).toISOString() };
  }

  /** The secrets that sign the tenant's webhooks: the current one (made if missing), then the previous one. */
  async webhookSecrets(id: string): Promise<string[]> {
    const key = this.keys.tenantWebhookSecret(id);
    await this.r.set(key, newWebhookSecret(), 'NX');
    const [cur, prev] = await this.r.mget(key, this.keys.tenantWebhookSecretPrevious(id));
    return [cur, prev].filter((x): x is string => !!x);
  }

  async delete(id: string): Promise<boolean> {
    await this.r.del(this.keys.tenantWebhookSecret(id), this.keys.tenantWebhookSecretPrevious(id));
    const n = await this.r.del(this.keys.tenant(id));
    await this.r.srem(this.keys.tenants(), id);
    // Keys of a deleted tenant stop working: authenticate() checks the tenant still exists.
    return n === 1;
  }

  /** Tenant exists (keys of deleted tenants are refused). */
  async exists(id: string): Promise<boolean> {
    return (await this.r.exists(this.keys.tenant(id))) === 1;
  }

  /** Seeds tenants and keys from configuration (idempotent). */
  async bootstrap(entries: { tenant: string; key: string }[]): Promise<void> {
    for (const { tenant, key } of entries) {
      if (!(await this.exists(tenant))) await this.create(tenant);
      await this.addKey(tenant, key);
      // Seeded tenants get a webhook secret too (an admin rotates it to learn it).
      await this.webhookSecrets(tenant);
    }
  }

  async policy(id: string): Promise<TenantPolicy> {
    const t = await this.get(id);
    const o = t?.overrides ?? {};
    const pick = (base: Limits, over: Partial<Limits> | undefined): Limits => {
      const out = { ...base };
      for (const k of LIMIT_NAMES) if (over && typeof over[k] === 'number') out[k] = over[k] as number;
      return out;
    };
    return {
      defaultLimits: pick(this.base.defaultLimits, o.defaultLimits),
      maxLimits: pick(this.base.maxLimits, o.maxLimits),
      concurrency: o.concurrency ?? this.base.concurrency,
      rateLimitPerMinute: o.rateLimitPerMinute ?? this.base.rateLimitPerMinute,
    };
  }

  /** Fixed one-minute window. Returns the seconds to wait when over the limit, else 0. */
  async rateLimit(tenant: string, limit: number, now = Date.now()): Promise<number> {
    const window = Math.floor(now / 60_000);
    const key = this.keys.rateLimit(tenant, window);
    const res = await this.r.multi().incr(key).expire(key, 120).exec();
    const n = Number(res?.[0]?.[1] ?? 0);
    if (n <= limit) return 0;
    return Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
  }

  /** Takes one of the tenant's running slots for `runId` until `leaseMs` from now. False when all are taken. */
  async acquireSlot(tenant: string, runId: string, cap: number, leaseMs: number, now = Date.now()): Promise<boolean> {
    const n = await this.r.lichenAcquire(
      this.keys.tenantRunning(tenant),
      String(now),
      String(now + leaseMs),
      runId,
      String(cap),
    );
    return n === 1;
  }

  async releaseSlot(tenant: string, runId: string): Promise<void> {
    await this.r.zrem(this.keys.tenantRunning(tenant), runId);
  }
}
