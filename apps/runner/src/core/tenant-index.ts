import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';

/** A position in an index: the creation time (ms) and id of the last entry a page looked at. */
export interface IndexPosition {
  at: number;
  id: string;
}

const CURSOR = /^(\d{1,16})\.([0-9a-f-]{36})$/;

/** Opaque page cursor (base64url of `<ms>.<id>`). */
export function encodeCursor(p: IndexPosition): string {
  return Buffer.from(`${p.at}.${p.id}`, 'utf8').toString('base64url');
}

/** The position a cursor stands for, or null when it is not one this service made. */
export function decodeCursor(cursor: string): IndexPosition | null {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(cursor)) return null;
  const m = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { at: Number(m[1]), id: m[2] as string } : null;
}

export interface PageQuery {
  limit: number;
  /** Continue after this position (exclusive). */
  after: IndexPosition | null;
  /** Only entries created at or after this time (ms). */
  since: number | null;
}

/**
 * What a loader says of one id: the item, `null` when the record is gone (expired: the id
 * is dropped from the index), or `undefined` when it exists but a filter leaves it out.
 */
export type Loaded<T> = T | null | undefined;

/** Entries examined per request at most; a page filtered down to fewer items still gets a cursor. */
const MAX_EXAMINED = 2000;
/** Old entries checked (and dropped when their record is gone) per insert. */
const TRIM_BATCH = 50;

/**
 * Lua: `index_add(key, at, id, ttl, cutoff, batch, rec_before, rec_after)` adds `id` scored `at`,
 * renews the index's TTL (`ttl` s), then drops up to `batch` entries scored at or before `cutoff`
 * whose record (`rec_before .. id .. rec_after`) no longer exists. Returns how many it dropped.
 * TenantIndex.add queues it as a script of its own; RunStore's creation script calls it too.
 * Its arguments after the key are TenantIndex.addArgs().
 */
export const INDEX_ADD_LUA = `
local function index_add(key, at, id, ttl, cutoff, batch, rec_before, rec_after)
  redis.call('ZADD', key, at, id)
  redis.call('EXPIRE', key, ttl)
  local old = redis.call('ZRANGEBYSCORE', key, '-inf', cutoff, 'LIMIT', 0, batch)
  local gone = {}
  for _, o in ipairs(old) do
    if redis.call('EXISTS', rec_before .. o .. rec_after) == 0 then gone[#gone + 1] = o end
  end
  if #gone > 0 then redis.call('ZREM', key, unpack(gone)) end
  return #gone
end
`;

/**
 * A tenant's records (runs or batches) newest first: a Redis sorted set of ids scored by
 * creation time. Bounded: it expires with its newest record and every insert drops entries
 * older than the result TTL whose record no longer exists; pages drop the gone ids they meet.
 */
type Indexed = ChainableCommander & { lichenIndexAdd?(key: string, ...args: string[]): ChainableCommander };

export class TenantIndex {
  /**
   * `recordParts`: a record's key as the text before and after its id (the index's trim checks
   * whether the records of old entries still exist).
   */
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (tenant: string) => string,
    private readonly recordParts: readonly [before: string, after: string],
    private readonly ttlSeconds: number,
  ) {
    if (typeof (redis as unknown as Indexed).lichenIndexAdd !== 'function') {
      redis.defineCommand('lichenIndexAdd', {
        numberOfKeys: 1,
        lua: `${INDEX_ADD_LUA}\nreturn index_add(KEYS[1], unpack(ARGV))`,
      });
    }
  }

  key(tenant: string): string {
    return this.keyOf(tenant);
  }

  /**
   * Adds the id inside the caller's transaction (with the record it indexes; from this index's
   * connection) and, in the same script, drops a bounded batch of entries past the TTL whose
   * record has expired (an old entry whose record still exists — a run that finished late —
   * stays).
   */
  add(m: ChainableCommander, tenant: string, id: string, createdAt: number): void {
    const c = m as Indexed;
    if (typeof c.lichenIndexAdd !== 'function') throw new Error("the transaction's connection has no index script");
    c.lichenIndexAdd(this.keyOf(tenant), ...this.addArgs(id, createdAt));
  }

  /**
   * index_add's arguments after the key for inserting `id` at `createdAt`: at, id, ttl, and which
   * old entries it checks (scored at or before createdAt − TTL, TRIM_BATCH at most) and how.
   */
  addArgs(id: string, createdAt: number): string[] {
    const [before, after] = this.recordParts;
    return [
      String(createdAt),
      id,
      String(this.ttlSeconds),
      String(createdAt - this.ttlSeconds * 1000),
      String(TRIM_BATCH),
      before,
      after,
    ];
  }

  /** One page, newest first. `nextCursor` is null once the index has nothing older. */
  async page<T>(
    tenant: string,
    q: PageQuery,
    load: (ids: string[]) => Promise<Loaded<T>[]>,
  ): Promise<{ items: T[]; nextCursor: string | null }> {
    const key = this.keyOf(tenant);
    const items: { item: T; pos: IndexPosition }[] = [];
    const gone: string[] = [];
    const max = q.after ? String(q.after.at) : '+inf';
    const min = q.since === null ? '-inf' : String(q.since);
    const chunk = Math.min(500, q.limit * 2 + 10);
    let offset = 0;
    let examined = 0;
    let last: IndexPosition | null = null;
    let exhausted = false;
    // One item more than asked tells whether a next page exists.
    while (items.length <= q.limit && examined < MAX_EXAMINED) {
      const rows = await this.redis.zrevrangebyscore(key, max, min, 'WITHSCORES', 'LIMIT', offset, chunk);
      if (rows.length === 0) {
        exhausted = true;
        break;
      }
      offset += rows.length / 2;
      const batch: IndexPosition[] = [];
      for (let i = 0; i < rows.length; i += 2) {
        const pos = { id: rows[i] as string, at: Number(rows[i + 1]) };
        // Same millisecond as the cursor: members come in descending order; skip up to it.
        if (q.after && pos.at === q.after.at && pos.id >= q.after.id) continue;
        batch.push(pos);
      }
      const loaded = batch.length > 0 ? await load(batch.map((b) => b.id)) : [];
      for (let i = 0; i < batch.length && items.length <= q.limit; i++) {
        const pos = batch[i] as IndexPosition;
        const it = loaded[i];
        examined++;
        if (it === null) gone.push(pos.id);
        else if (it !== undefined) items.push({ item: it, pos });
        if (items.length <= q.limit) last = pos;
      }
      if (rows.length / 2 < chunk && items.length <= q.limit) {
        exhausted = true;
        break;
      }
    }
    if (gone.length > 0) await this.redis.zrem(key, ...gone);
    if (items.length > q.limit) {
      items.length = q.limit;
      const lastItem = items[q.limit - 1];
      return { items: items.map((x) => x.item), nextCursor: lastItem ? encodeCursor(lastItem.pos) : null };
    }
    return {
      items: items.map((x) => x.item),
      nextCursor: !exhausted && last ? encodeCursor(last) : null,
    };
  }
}
