import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyStats } from '../worker/outcome';
import { Keys } from './keys';
import { commandsOf, sent } from './redis-commands.fixture';
import { DONE_INLINE_MAX_BYTES, RunStore } from './run-store';
import { sampleSpec } from './run-spec.fixture';
import type { ConsoleEvent, RunOutcome } from './types';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const spec = sampleSpec;

const outcome = (stdout: string, attempt = 1): RunOutcome => ({
  status: 'succeeded',
  exitCode: 0,
  signal: null,
  message: null,
  stdout,
  stdoutTruncated: false,
  stderr: '',
  stderrTruncated: false,
  encoding: 'utf8',
  stats: emptyStats(1, 2),
  crash: null,
  artifactsKey: null,
  attempt,
});

const chunk = (type: 'stdout' | 'stderr', offset: number, data: string, attempt = 1): ConsoleEvent => ({
  type,
  offset,
  attempt,
  data,
  encoding: 'utf8',
});

describe('run completion notices (real Redis)', () => {
  const keys = new Keys(`lichen-test-${randomUUID().slice(0, 8)}`);
  const redis = new Redis(REDIS_URL);
  const sub = new Redis(REDIS_URL);
  const runs = new RunStore(redis, keys, 60);
  const notices: string[] = [];
  const policy = { defaultCap: 4, defaultWallMs: 1000, leaseMarginMs: 60_000 };

  beforeAll(async () => {
    sub.on('message', (_c: string, m: string) => notices.push(m));
    await sub.subscribe(keys.doneChannel());
  });
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    sub.disconnect();
    redis.disconnect();
  });

  const finishAndHear = async (id: string, stdout: string): Promise<string> => {
    await runs.create(id, 't1', spec);
    const started = await runs.start(id, policy);
    expect(started.claim).toBe(1);
    expect(await runs.finish(id, outcome(stdout), 1)).toBe(true);
    for (let i = 0; i < 100 && !notices.some((n) => n.startsWith(id)); i++) await new Promise((r) => setTimeout(r, 10));
    const n = notices.find((m) => m.startsWith(id));
    if (!n) throw new Error('no completion notice');
    return n;
  };

  it('a small run carries its final record, which reads back as the stored record does', async () => {
    const id = randomUUID();
    const n = RunStore.doneNotice(await finishAndHear(id, 'hi\n'));
    expect(n.id).toBe(id);
    expect(n.meta).not.toBeNull();
    expect(n.meta).toEqual(await runs.meta(id));
    expect(n.meta?.outcome?.stdout).toBe('hi\n');
  });

  it('a run whose record is above the inline bound carries only its id', async () => {
    const id = randomUUID();
    const message = await finishAndHear(id, 'x'.repeat(DONE_INLINE_MAX_BYTES + 1));
    expect(message).toBe(id);
    expect(RunStore.doneNotice(message)).toEqual({ id, meta: null });
  });

  it('a malformed notice gives the id and no record', () => {
    expect(RunStore.doneNotice('abc {not json')).toEqual({ id: 'abc', meta: null });
    expect(RunStore.doneNotice('abc {"a":1}')).toEqual({ id: 'abc', meta: null });
  });
});

describe('starting a run: record, spec and claim in one round trip (real Redis)', () => {
  const keys = new Keys(`lichen-test-${randomUUID().slice(0, 8)}`);
  const redis = new Redis(REDIS_URL);
  const runs = new RunStore(redis, keys, 60);
  const policy = { defaultCap: 2, defaultWallMs: 5000, leaseMarginMs: 60_000 };
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });

  it('takes a slot leased for the run wall limit plus the margin, and returns the record and spec', async () => {
    const id = randomUUID();
    await runs.create(id, 'a', spec);
    const s = await runs.start(id, policy, 1_000_000);
    expect(s.claim).toBe(1);
    expect(s.meta?.status).toBe('queued');
    expect(s.spec).toEqual(spec);
    expect(Number(await redis.zscore(keys.tenantRunning('a'), id))).toBe(1_000_000 + spec.limits.wallMs + 60_000);
    expect((await runs.meta(id))?.status).toBe('running');
  });

  it("uses the tenant record's concurrency over the default cap", async () => {
    await redis.set(keys.tenant('b'), JSON.stringify({ id: 'b', createdAt: '', overrides: { concurrency: 1 } }));
    const [x, y] = [randomUUID(), randomUUID()];
    await runs.create(x, 'b', spec);
    await runs.create(y, 'b', spec);
    expect((await runs.start(x, policy)).claim).toBe(1);
    expect((await runs.start(y, policy)).claim).toBe('busy');
    expect((await runs.meta(y))?.status).toBe('queued');
  });

  it('does not claim a missing, final or cancelled-before-start run', async () => {
    expect((await runs.start(randomUUID(), policy)).claim).toBe('missing');
    const done = randomUUID();
    await runs.create(done, 'c', spec);
    await runs.finish(done, outcome(''), 0);
    const t = await runs.start(done, policy);
    expect(t.claim).toBe('terminal');
    expect(t.meta?.status).toBe('succeeded');
    expect(await redis.zcard(keys.tenantRunning('c'))).toBe(0);
    const cancelled = randomUUID();
    await runs.create(cancelled, 'c', spec);
    expect(await runs.requestCancel(cancelled)).toBe('queued');
    expect((await runs.start(cancelled, policy)).claim).toBe('cancel');
  });
});

describe("creating a run: one script in the caller's transaction (real Redis)", () => {
  const keys = new Keys(`lichen-test-${randomUUID().slice(0, 8)}`);
  const redis = new Redis(REDIS_URL);
  const ttl = 60;
  const runs = new RunStore(redis, keys, ttl);
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });

  it('writes the record, the spec and the queued event with the TTL, and indexes the run', async () => {
    // The connection's first use of a script loads it (once per connection): not counted.
    await runs.create(randomUUID(), 'a', spec);
    const id = randomUUID();
    const now = Date.now();
    const seen = await commandsOf(redis, () => runs.create(id, 'a', spec, now));
    expect(sent(seen)).toEqual(['multi', 'evalsha', 'exec']);
    expect(seen.filter((c) => c.inScript).map((c) => c.name)).toEqual([
      'hset',
      'set',
      'xadd',
      'expire',
      'expire',
      'zadd',
      'expire',
      'zrangebyscore',
    ]);
    expect(await redis.hgetall(keys.run(id))).toEqual({
      tenant: 'a',
      status: 'queued',
      attempt: '0',
      createdAt: String(now),
      image: spec.image,
      argv: JSON.stringify(spec.argv),
      batchId: '',
      artifacts: '0',
      webhookUrl: '',
      index: keys.tenantRuns('a'),
      wallMs: String(spec.limits.wallMs),
    });
    expect(await runs.spec(id)).toEqual(spec);
    expect((await runs.readEvents(id, '0')).map((e) => e.event)).toEqual([
      { type: 'status', status: 'queued', attempt: 0 },
    ]);
    for (const key of [keys.run(id), keys.runSpec(id), keys.runEvents(id), keys.tenantRuns('a')]) {
      const left = await redis.ttl(key);
      expect(left, key).toBeGreaterThan(ttl - 5);
      expect(left, key).toBeLessThanOrEqual(ttl);
    }
    expect(Number(await redis.zscore(keys.tenantRuns('a'), id))).toBe(now);
  });

  it('trims index entries past the TTL whose record is gone, and keeps those whose record exists', async () => {
    const now = Date.now();
    const old = now - ttl * 1000 - 1;
    const kept = randomUUID();
    await runs.create(kept, 'b', spec, old);
    const [gone1, gone2, recent] = [randomUUID(), randomUUID(), randomUUID()];
    await redis.zadd(keys.tenantRuns('b'), old - 1, gone1, old, gone2, now - 1, recent);
    const id = randomUUID();
    await runs.create(id, 'b', spec, now);
    expect((await redis.zrange(keys.tenantRuns('b'), '0', '-1')).sort()).toEqual([kept, recent, id].sort());
  });

  it('surfaces a failing write as an error', async () => {
    const id = randomUUID();
    await redis.set(keys.run(id), 'not a hash');
    await expect(runs.create(id, 'c', spec)).rejects.toThrow(/WRONGTYPE/);
  });
});

describe('start and finish: one script each (real Redis)', () => {
  const keys = new Keys(`lichen-test-${randomUUID().slice(0, 8)}`);
  const redis = new Redis(REDIS_URL);
  const runs = new RunStore(redis, keys, 60);
  const policy = { defaultCap: 4, defaultWallMs: 5000, leaseMarginMs: 60_000 };
  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });
  const stream = async (id: string): Promise<ConsoleEvent[]> => (await runs.readEvents(id, '0')).map((e) => e.event);

  it('start is one EVALSHA returning the record as it was before the claim, and the spec', async () => {
    await runs.start(randomUUID(), policy); // loads the script (once per connection)
    const id = randomUUID();
    await runs.create(id, 'a', spec, 1000);
    const before = await runs.meta(id);
    let s: Awaited<ReturnType<RunStore['start']>> | undefined;
    const seen = await commandsOf(redis, async () => (s = await runs.start(id, policy, 2000)));
    expect(sent(seen)).toEqual(['evalsha']);
    // The record and spec, the tenant's cap, the slot, the new attempt and its event.
    expect(seen.filter((c) => c.inScript).map((c) => c.name)).toEqual([
      'hgetall',
      'get',
      'get',
      'zremrangebyscore',
      'zscore',
      'zcard',
      'zadd',
      'hset',
      'xadd',
    ]);
    expect(s).toEqual({ meta: before, spec, claim: 1 });
    expect(s?.meta).toMatchObject({ status: 'queued', attempt: 0, startedAt: null });
    expect(await runs.meta(id)).toMatchObject({ status: 'running', attempt: 1, startedAt: 2000 });
  });

  it('start without a spec still claims, and gives the spec as null', async () => {
    const id = randomUUID();
    await runs.create(id, 'a', spec);
    await redis.del(keys.runSpec(id));
    const s = await runs.start(id, policy);
    expect(s.claim).toBe(1);
    expect(s.spec).toBeNull();
    expect(s.meta?.status).toBe('queued');
  });

  it('a retry sees the previous attempt in the record and continues its console offsets', async () => {
    const id = randomUUID();
    await runs.create(id, 'r', spec);
    expect((await runs.start(id, policy)).claim).toBe(1);
    await runs.appendEvents(id, [chunk('stdout', 0, 'hello'), chunk('stderr', 0, 'e')]);
    // The runner is lost; the retry starts attempt 2.
    const s = await runs.start(id, policy, 5000);
    expect(s.claim).toBe(2);
    expect(s.meta).toMatchObject({ status: 'running', attempt: 1 });
    const slot = keys.tenantRunning('r');
    expect(
      await runs.finish(id, outcome('abc', 2), 2, {
        events: [chunk('stdout', 0, 'abc', 2), chunk('stderr', 0, 'ee', 2)],
        releaseSlot: slot,
      }),
    ).toBe(true);
    const events = await stream(id);
    expect(events.map((e) => e.type)).toEqual([
      'status',
      'status',
      'stdout',
      'stderr',
      'attempt',
      'status',
      'stdout',
      'stderr',
      'status',
    ]);
    expect(events[4]).toMatchObject({ type: 'attempt', attempt: 2, stdoutOffset: 5, stderrOffset: 1 });
    expect(events[6]).toMatchObject({ type: 'stdout', offset: 5, data: 'abc', attempt: 2 });
    expect(events[7]).toMatchObject({ type: 'stderr', offset: 1, data: 'ee', attempt: 2 });
    expect(events[8]).toMatchObject({ type: 'status', status: 'succeeded', attempt: 2 });
    expect(await redis.hmget(keys.run(id), 'consoleOut', 'consoleErr')).toEqual(['8', '3']);
  });

  it('finish is one EVALSHA: console events, then the final status, then the slot is free', async () => {
    const id = randomUUID();
    await runs.create(id, 'f', spec);
    expect((await runs.start(id, policy)).claim).toBe(1);
    const slot = keys.tenantRunning('f');
    expect(await redis.zscore(slot, id)).not.toBeNull();
    const events = [chunk('stdout', 0, 'a'), chunk('stderr', 0, 'bb'), chunk('stdout', 1, 'c')];
    await runs.finish(randomUUID(), outcome(''), 1); // loads the script (once per connection)
    let won: boolean | undefined;
    const seen = await commandsOf(redis, async () => {
      won = await runs.finish(id, outcome('ac'), 1, { events, releaseSlot: slot });
    });
    expect(won).toBe(true);
    expect(sent(seen)).toEqual(['evalsha']);
    expect(await stream(id)).toEqual([
      { type: 'status', status: 'queued', attempt: 0 },
      { type: 'status', status: 'running', attempt: 1 },
      ...events,
      { type: 'status', status: 'succeeded', attempt: 1, exitCode: 0, signal: null },
    ]);
    expect(await redis.hmget(keys.run(id), 'consoleOut', 'consoleErr')).toEqual(['2', '2']);
    expect(await redis.zscore(slot, id)).toBeNull();
    expect(await redis.ttl(keys.runEvents(id))).toBeGreaterThan(0);
  });

  it('a finish that loses changes no outcome and adds no status event, but frees the slot', async () => {
    const id = randomUUID();
    await runs.create(id, 'g', spec);
    expect((await runs.start(id, policy)).claim).toBe(1);
    expect(await runs.finish(id, outcome('first'), 1)).toBe(true);
    const final = await runs.meta(id);
    const slot = keys.tenantRunning('g');
    await redis.zadd(slot, Date.now() + 60_000, id);
    expect(await runs.finish(id, { ...outcome('second'), status: 'failed' }, 1, { releaseSlot: slot })).toBe(false);
    expect(await runs.meta(id)).toEqual(final);
    expect((await stream(id)).filter((e) => e.type === 'status')).toHaveLength(3);
    expect(await redis.zscore(slot, id)).toBeNull();
    // Another attempt's finish loses too.
    expect(await runs.finish(id, outcome('x', 2), 2)).toBe(false);
  });

  it('a finish of a missing run writes nothing but frees the slot', async () => {
    const id = randomUUID();
    const slot = keys.tenantRunning('h');
    await redis.zadd(slot, Date.now() + 60_000, id);
    expect(await runs.finish(id, outcome('x'), 1, { events: [chunk('stdout', 0, 'x')], releaseSlot: slot })).toBe(
      false,
    );
    expect(await redis.exists(keys.run(id), keys.runEvents(id))).toBe(0);
    expect(await redis.zscore(slot, id)).toBeNull();
  });

  it('surfaces script errors', async () => {
    const id = randomUUID();
    await runs.create(id, 'i', spec);
    await redis.del(keys.runSpec(id));
    await redis.hset(keys.runSpec(id), 'x', '1');
    await expect(runs.start(id, policy)).rejects.toThrow(/WRONGTYPE/);
    await redis.del(keys.runEvents(id));
    await redis.set(keys.runEvents(id), 'not a stream');
    await expect(runs.finish(id, outcome(''), 0, { events: [chunk('stdout', 0, 'x')] })).rejects.toThrow(/WRONGTYPE/);
  });
});
