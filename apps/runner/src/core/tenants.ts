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

/**
 * Who a request acts for. A tenant principal made by `admit` carries the tenant's policy as
 * read for this request (services use it instead of reading the tenant again).
 */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenant: string; policy?: TenantPolicy };

/** An admitted API key: its principal and, for a tenant over its rate limit, the seconds to wait. */
export interface Admission {
  principal: Principal;
  retryAfterSeconds: number;
}

/**
 * Lua: `take_slot(key, now, expiry, member, cap)` takes one of the running slots in sorted set
 * `key` for `member` until `expiry` (leases that ran out are dropped first; a member that holds
 * a slot renews it). False when `cap` slots are taken. Used by RunStore's claim script.
 */
export const TAKE_SLOT_LUA = `
local function take_slot(key, now, expiry, member, cap)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZSCORE', key, member) then
    redis.call('ZADD', key, expiry, member)
    return true
  end
  if redis.call('ZCARD', key) >= cap then return false end
  redis.call('ZADD', key, expiry, member)
  return true
end
`;

/**
 * Admission in one round trip: the tenant of API key KEYS[1], its record (key ARGV[1] .. tenant)
 * and the request counted in its rate-limit window (ARGV[2] .. tenant .. ARGV[3], expiring after
 * ARGV[4] s). False for an unknown key or a deleted tenant (nothing counted).
 */
const ADMIT = `
local tenant = redis.call('GET', KEYS[1])
if not tenant then return false end
local rec = redis.call('GET', ARGV[1] .. tenant)
if not rec then return false end
local rl = ARGV[2] .. tenant .. ARGV[3]
local n = redis.call('INCR', rl)
redis.call('EXPIRE', rl, ARGV[4])
return { tenant, rec, n }
`;

type AdmitScripted = Redis & {
  lichenAdmit(
    key: string,
    tenantPrefix: string,
    rlBefore: string,
    rlAfter: string,
    ttl: string,
  ): Promise<[string, string, number] | null>;
};

/** Tenants, their hashed API keys, policies, rate limits and running-slot leases. */
export class TenantStore {
  /** sha256 of the admin key (compared with each request's key hash in constant time). */
  private readonly adminHash: Buffer | null;
  constructor(
    private readonly r: Redis,
    private readonly keys: Keys,
    private readonly base: TenantPolicy,
    adminKey: string | null,
  ) {
    this.adminHash = adminKey === null ? null : Buffer.from(hashKey(adminKey), 'hex');
    if (typeof (r as AdmitScripted).lichenAdmit !== 'function') {
      r.defineCommand('lichenAdmit', { numberOfKeys: 1, lua: ADMIT });
    }
  }

  /**
   * The principal an API key stands for, or null (unknown key, deleted tenant). A tenant's
   * request is counted against its rate limit in the same round trip that finds and reads the
   * tenant (one script). The admin key is compared in constant time.
   */
  async admit(key: string | undefined, now = Date.now()): Promise<Admission | null> {
    if (!key) return null;
    const hash = hashKey(key);
    if (this.adminHash !== null && timingSafeEqual(this.adminHash, Buffer.from(hash, 'hex'))) {
      return { principal: { kind: 'admin' }, retryAfterSeconds: 0 };
    }
    const window = Math.floor(now / 60_000);
    const [before, after] = this.keys.rateLimitParts(window);
    const res = await (this.r as AdmitScripted).lichenAdmit(
      this.keys.apiKey(hash),
      this.keys.tenantKeyPrefix(),
      before,
      after,
      '120',
    );
    // Keys of a deleted tenant stop working.
    const record = res ? TenantStore.parse(res[1]) : null;
    if (!res || !record) return null;
    const tenant = res[0];
    const policy = this.policyOf(record);
    const n = Number(res[2]);
    const retryAfterSeconds =
      n <= policy.rateLimitPerMinute ? 0 : Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
    return { principal: { kind: 'tenant', tenant, policy }, retryAfterSeconds };
  }

  async create(id: string, overrides: TenantOverrides = {}): Promise<Tenant> {
    const t: Tenant = { id, createdAt: new Date().toISOString(), overrides };
    await this.r.multi().set(this.keys.tenant(id), JSON.stringify(t)).sadd(this.keys.tenants(), id).exec();
    return t;
  }

  async get(id: string): Promise<Tenant | null> {
    return TenantStore.parse(await this.r.get(this.keys.tenant(id)));
  }

  static parse(record: string | null): Tenant | null {
    return record ? (JSON.parse(record) as Tenant) : null;
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
    // Keys of a deleted tenant stop working: admit() checks the tenant still exists.
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
    return this.policyOf(await this.get(id));
  }

  /** The installation-wide policy with the tenant's overrides applied. */
  policyOf(t: Tenant | null): TenantPolicy {
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

  /** The sorted set of the tenant's running slots (member: run id, score: lease expiry in ms). */
  runningKey(tenant: string): string {
    return this.keys.tenantRunning(tenant);
  }

  async releaseSlot(tenant: string, runId: string): Promise<void> {
    await this.r.zrem(this.keys.tenantRunning(tenant), runId);
  }
}
