import { randomUUID } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';
import type { Keys } from './keys';
import type { Loaded, PageQuery } from './tenant-index';
import { INDEX_ADD_LUA, TenantIndex } from './tenant-index';
import { TAKE_SLOT_LUA } from './tenants';
import type { ConsoleEvent, RunOutcome, RunSpec, RunStatus, RunSummary, RunView } from './types';
import { isTerminal } from './types';

/**
 * Creates a run: its record (KEYS[1], the field/value pairs from ARGV[11] on), its spec (KEYS[2],
 * ARGV[2]) and its console stream (KEYS[3]) with the `queued` event ARGV[3], all expiring after
 * ARGV[1] s, and indexes it in its tenant's run index KEYS[4] (index_add with ARGV[4..10]:
 * TenantIndex.addArgs). Queued in the transaction that adds the run's job.
 */
const CREATE =
  INDEX_ADD_LUA +
  `
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1])
redis.call('XADD', KEYS[3], '*', 'e', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return index_add(KEYS[4], unpack(ARGV, 4, 10))
`;

/**
 * Claims a run for a new attempt: queued/running → running with attempt n+1 (a runner that
 * died mid-run leaves the run `running`; the retry takes the next attempt), after taking one of
 * its tenant's running slots ('busy' when none is free). The tenant comes from the record; its
 * cap is the tenant record's `overrides.concurrency` (key ARGV[7] .. tenant) or ARGV[6]; the
 * slot set is ARGV[8] .. tenant .. ARGV[9]; the lease ends ARGV[10] ms after the run's wall
 * limit (the record's `wallMs`, else ARGV[4]). A run that is final or gone is not touched and
 * takes no slot. Replies `{ claim, record, spec }`: the claim's result, the record as it was
 * BEFORE the claim (HGETALL, flat) and the spec (KEYS[3]; nil when gone).
 */
const CLAIM =
  TAKE_SLOT_LUA +
  `
local flat = redis.call('HGETALL', KEYS[1])
local spec = redis.call('GET', KEYS[3])
local function reply(r) return { r, flat, spec } end
local h = {}
for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
local st = h['status']
if not st then return reply('missing') end
if st ~= 'queued' and st ~= 'running' then return reply('terminal') end
local tenant = h['tenant'] or ''
local cap = tonumber(ARGV[6])
local rec = redis.call('GET', ARGV[7] .. tenant)
if rec then
  local ok, t = pcall(cjson.decode, rec)
  if ok and type(t) == 'table' and type(t['overrides']) == 'table' and type(t['overrides']['concurrency']) == 'number' then
    cap = t['overrides']['concurrency']
  end
end
local wall = tonumber(h['wallMs'] or '') or tonumber(ARGV[4])
local expiry = tonumber(ARGV[1]) + wall + tonumber(ARGV[10])
if not take_slot(ARGV[8] .. tenant .. ARGV[9], ARGV[1], expiry, ARGV[5], cap) then return reply('busy') end
if h['cancel'] == '1' then return reply('cancel') end
local att = tonumber(h['attempt'] or '0') + 1
redis.call('HSET', KEYS[1], 'attempt', att, 'status', 'running', 'startedAt', ARGV[1])
-- Where the console of earlier attempts ended: a retry continues there.
local out = tonumber(h['consoleOut'] or '0')
local err = tonumber(h['consoleErr'] or '0')
if att > 1 then
  local a = { type = 'attempt', attempt = att, reason = 'runner_lost', message = ARGV[3], stdoutOffset = out, stderrOffset = err }
  redis.call('XADD', KEYS[2], '*', 'e', cjson.encode(a))
end
local ev = cjson.decode(ARGV[2])
ev['attempt'] = att
redis.call('XADD', KEYS[2], '*', 'e', cjson.encode(ev))
return reply(att .. ':' .. out .. ':' .. err)
`;

/**
 * Idempotent completion: only the first write for the current attempt wins. Before that, and
 * whatever the outcome: the run (ARGV[8], its id) leaves the running-slot set ARGV[12] (when
 * not ''), and, when the record exists, the console events not yet written (ARGV[15] on) are
 * appended and the console's ends ARGV[13]/ARGV[14] (consoleOut/consoleErr, when not '') are
 * stored. A final status event follows them only when this call wins.
 */
const FINISH = `
if ARGV[12] ~= '' then redis.call('ZREM', ARGV[12], ARGV[8]) end
local f = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'index')
local st, att, idx = f[1], f[2], f[3]
if not st then return 0 end
for i = 15, #ARGV do redis.call('XADD', KEYS[2], '*', 'e', ARGV[i]) end
local ends = {}
if ARGV[13] ~= '' then ends[#ends + 1] = 'consoleOut'; ends[#ends + 1] = ARGV[13] end
if ARGV[14] ~= '' then ends[#ends + 1] = 'consoleErr'; ends[#ends + 1] = ARGV[14] end
if (st ~= 'queued' and st ~= 'running') or (ARGV[1] ~= '0' and att ~= ARGV[1]) then
  if #ends > 0 then redis.call('HSET', KEYS[1], unpack(ends)) end
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'result', ARGV[3], 'finishedAt', ARGV[4], 'exitCode', ARGV[9], 'instructions', ARGV[10], unpack(ends))
redis.call('XADD', KEYS[2], '*', 'e', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
-- The tenant's run index lives at least as long as its newest record.
if idx and idx ~= '' and redis.call('TTL', idx) < tonumber(ARGV[6]) then redis.call('EXPIRE', idx, ARGV[6]) end
-- The completion notice carries the record when it is small (the API answers ?wait= from it).
local msg = ARGV[8]
local inline = tonumber(ARGV[11])
if inline > 0 then
  local rec = cjson.encode(redis.call('HGETALL', KEYS[1]))
  if #rec <= inline then msg = msg .. ' ' .. rec end
end
redis.call('PUBLISH', ARGV[7], msg)
return 1
`;

/** Largest record (JSON bytes) a completion notice carries; larger ones are read by the waiter. */
export const DONE_INLINE_MAX_BYTES = 16 * 1024;

/** A completion notice on the done channel: the run id and, when it was small, its final record. */
export interface DoneNotice {
  id: string;
  meta: RunMeta | null;
}

const CANCEL = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 'missing' end
if st ~= 'queued' and st ~= 'running' then return 'terminal' end
redis.call('HSET', KEYS[1], 'cancel', '1')
return st
`;

export interface RunMeta {
  id: string;
  tenant: string;
  status: RunStatus;
  attempt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  image: string;
  argv: string[];
  batchId: string | null;
  artifacts: boolean;
  webhookUrl: string | null;
  cancelRequested: boolean;
  outcome: RunOutcome | null;
}

/**
 * What a claim falls back on: the tenant cap when the tenant's record sets none, the wall
 * limit of a record that does not carry its own (records made before `wallMs` was stored),
 * and how long past the wall limit a slot's lease lasts (a dead runner's slot frees itself).
 */
export interface ClaimPolicy {
  defaultCap: number;
  defaultWallMs: number;
  leaseMarginMs: number;
}

export type ClaimResult = number | 'busy' | 'terminal' | 'cancel' | 'missing';

/** A run as a runner starts it: the record before the claim, the spec and the claim's result. */
export interface StartedRun {
  meta: RunMeta | null;
  spec: RunSpec | null;
  claim: ClaimResult;
}

/** Extra writes done with a run's final outcome, in the same script. */
export interface FinishOptions {
  now?: number;
  /** Console events not yet written: appended before the final status event. */
  events?: ConsoleEvent[];
  /**
   * The running-slot set (TenantStore.runningKey) to remove the run from, whether or not this
   * call makes the run final.
   */
  releaseSlot?: string;
}

type FinishArgs = [
  k1: string,
  k2: string,
  attempt: string,
  status: string,
  result: string,
  now: string,
  ev: string,
  ttl: string,
  channel: string,
  id: string,
  exitCode: string,
  instructions: string,
  inlineMax: string,
  slotKey: string,
  consoleOut: string,
  consoleErr: string,
  ...events: string[],
];

/** The reply of CLAIM: the claim's result, the record before the claim (flat HGETALL), the spec. */
type ClaimReply = [claim: string, record: string[], spec: string | null];

type Scripted = Redis & {
  lichenCreate(
    record: string,
    spec: string,
    events: string,
    index: string,
    ttl: string,
    specJson: string,
    queuedEvent: string,
    // TenantIndex.addArgs (7), then the record's field/value pairs.
    ...indexArgsAndFields: string[]
  ): Promise<number>;
  lichenClaim(
    k1: string,
    k2: string,
    k3: string,
    now: string,
    ev: string,
    retryMessage: string,
    defaultWallMs: string,
    member: string,
    defaultCap: string,
    tenantPrefix: string,
    runningBefore: string,
    runningAfter: string,
    leaseMarginMs: string,
  ): Promise<ClaimReply>;
  lichenFinish(...args: FinishArgs): Promise<number>;
  lichenCancel(k1: string): Promise<string>;
};

export function defineRunScripts(redis: Redis): Scripted {
  const r = redis as Scripted;
  if (typeof r.lichenClaim !== 'function') {
    redis.defineCommand('lichenCreate', { numberOfKeys: 4, lua: CREATE });
    redis.defineCommand('lichenClaim', { numberOfKeys: 3, lua: CLAIM });
    redis.defineCommand('lichenFinish', { numberOfKeys: 2, lua: FINISH });
    redis.defineCommand('lichenCancel', { numberOfKeys: 1, lua: CANCEL });
  }
  return r;
}

/** Hash fields a listing reads (never the result with its console output). */
const SUMMARY_FIELDS = [
  'tenant',
  'status',
  'image',
  'argv',
  'createdAt',
  'finishedAt',
  'exitCode',
  'instructions',
  'batchId',
];

/** Console events as stored: stream entries (JSON) and the record's new console ends. */
interface ConsoleWrites {
  entries: string[];
  ends: { consoleOut?: string; consoleErr?: string };
}

const RETRY_MESSAGE =
  'the previous attempt did not finish (its runner was lost or shut down); the run starts again: ' +
  'discard the console shown so far, this attempt continues at stdoutOffset/stderrOffset';

/** Run records (Redis hashes), their specs and console streams. Shared by the API and the runner. */
export class RunStore {
  private readonly r: Scripted;
  /** Runs of this process on a retried attempt: where their console continues (see appendEvents). */
  private readonly consoleBase = new Map<string, { attempt: number; stdout: number; stderr: number }>();
  /** Each tenant's runs by creation time (GET /v1/runs). */
  readonly index: TenantIndex;
  constructor(
    redis: Redis,
    readonly keys: Keys,
    private readonly ttlSeconds: number,
  ) {
    this.r = defineRunScripts(redis);
    this.index = new TenantIndex(redis, (t) => keys.tenantRuns(t), keys.runParts(), ttlSeconds);
  }

  newId(): string {
    return randomUUID();
  }

  /** Creates the record, the spec and the stream's first (`queued`) event in one transaction. */
  async create(id: string, tenant: string, spec: RunSpec, now = Date.now()): Promise<void> {
    const m = this.r.multi();
    this.queueCreate(m, id, tenant, spec, now);
    RunStore.checkCreated(await m.exec());
  }

  /**
   * Queues the creation of a run on the caller's transaction (which may hold other commands
   * before it, e.g. the run's job): one script (CREATE) writes the record, the spec and the
   * stream's `queued` event, and indexes the run (trimming the index's expired entries). The
   * transaction must come from a connection with the run scripts (defineRunScripts). Give its
   * results to checkCreated().
   */
  queueCreate(m: ChainableCommander, id: string, tenant: string, spec: RunSpec, now: number): void {
    const c = m as ChainableCommander & Partial<Pick<Scripted, 'lichenCreate'>>;
    if (typeof c.lichenCreate !== 'function') {
      throw new Error("the transaction's connection has no run scripts (call defineRunScripts on it)");
    }
    const ev: ConsoleEvent = { type: 'status', status: 'queued', attempt: 0 };
    const index = this.index.key(tenant);
    c.lichenCreate(
      this.keys.run(id),
      this.keys.runSpec(id),
      this.keys.runEvents(id),
      index,
      String(this.ttlSeconds),
      JSON.stringify(spec),
      JSON.stringify(ev),
      ...this.index.addArgs(id, now),
      // The record's fields.
      'tenant',
      tenant,
      'status',
      'queued',
      'attempt',
      '0',
      'createdAt',
      String(now),
      'image',
      spec.image,
      'argv',
      JSON.stringify(spec.argv),
      'batchId',
      spec.batch?.id ?? '',
      'artifacts',
      spec.artifacts ? '1' : '0',
      'webhookUrl',
      spec.webhookUrl ?? '',
      'index',
      index,
      // The claim's slot lease is sized from it.
      'wallMs',
      String(spec.limits.wallMs),
    );
  }

  /** Checks a creating transaction's results: throws when it was aborted or any command failed. */
  static checkCreated(results: [Error | null, unknown][] | null): void {
    if (!results) throw new Error('run creation transaction was aborted');
    for (const [err] of results) if (err) throw err;
  }

  /**
   * A page of the tenant's runs, newest first (summaries: no console output). Ids whose
   * record expired are dropped from the index on the way.
   */
  async list(
    tenant: string,
    q: PageQuery,
    statuses: ReadonlySet<RunStatus> | null,
  ): Promise<{ items: RunSummary[]; nextCursor: string | null }> {
    return this.index.page(tenant, q, async (ids) => {
      const p = this.r.pipeline();
      for (const id of ids) p.hmget(this.keys.run(id), ...SUMMARY_FIELDS);
      const res = (await p.exec()) ?? [];
      return ids.map((id, i): Loaded<RunSummary> => {
        const [t, status, image, argv, createdAt, finishedAt, exitCode, instructions, batchId] = (res[i]?.[1] ??
          []) as (string | null)[];
        if (!status || t !== tenant) return null;
        if (statuses && !statuses.has(status as RunStatus)) return undefined;
        return {
          id,
          status: status as RunStatus,
          image: image ?? '',
          argv: argv ? (JSON.parse(argv) as string[]) : [],
          createdAt: new Date(Number(createdAt)).toISOString(),
          finishedAt: finishedAt ? new Date(Number(finishedAt)).toISOString() : null,
          exitCode: exitCode ? Number(exitCode) : null,
          instructions: instructions ? Number(instructions) : null,
          batchId: batchId ? batchId : null,
        };
      });
    });
  }

  async spec(id: string): Promise<RunSpec | null> {
    return RunStore.specOf(await this.r.get(this.keys.runSpec(id)));
  }

  async meta(id: string): Promise<RunMeta | null> {
    return RunStore.metaOf(id, await this.r.hgetall(this.keys.run(id)));
  }

  static specOf(s: string | null): RunSpec | null {
    return s ? (JSON.parse(s) as RunSpec) : null;
  }

  /** Parses a completion notice (see FINISH): `<id>` or `<id> <HGETALL of the record as JSON>`. */
  static doneNotice(message: string): DoneNotice {
    const sp = message.indexOf(' ');
    if (sp < 0) return { id: message, meta: null };
    const id = message.slice(0, sp);
    try {
      const flat = JSON.parse(message.slice(sp + 1)) as unknown;
      if (!Array.isArray(flat)) return { id, meta: null };
      return { id, meta: RunStore.metaOf(id, RunStore.hashOf(flat)) };
    } catch {
      return { id, meta: null };
    }
  }

  /** A hash from HGETALL's flat field/value list (as a script returns it). */
  static hashOf(flat: readonly unknown[]): Record<string, string> {
    const h: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
    return h;
  }

  static metaOf(id: string, h: Record<string, string> | null): RunMeta | null {
    if (!h || !h.status) return null;
    return {
      id,
      tenant: h.tenant ?? '',
      status: h.status as RunStatus,
      attempt: Number(h.attempt ?? 0),
      createdAt: Number(h.createdAt),
      startedAt: h.startedAt ? Number(h.startedAt) : null,
      finishedAt: h.finishedAt ? Number(h.finishedAt) : null,
      image: h.image ?? '',
      argv: h.argv ? (JSON.parse(h.argv) as string[]) : [],
      batchId: h.batchId ? h.batchId : null,
      artifacts: h.artifacts === '1',
      webhookUrl: h.webhookUrl ? h.webhookUrl : null,
      cancelRequested: h.cancel === '1',
      outcome: h.result ? (JSON.parse(h.result) as RunOutcome) : null,
    };
  }

  /**
   * Starts a run in one script (CLAIM): reads its record (as it was before the claim) and spec
   * and claims it (takes one of its tenant's slots and starts a new attempt). The claim is the
   * attempt, or why it must not run: 'busy' (no free slot: try later), 'cancel' (cancelled
   * before start; the slot is taken), 'terminal' or 'missing'.
   */
  async start(id: string, policy: ClaimPolicy, now = Date.now()): Promise<StartedRun> {
    const ev: ConsoleEvent = { type: 'status', status: 'running', attempt: 0 };
    const [runningBefore, runningAfter] = this.keys.tenantRunningParts();
    const [r, flat, specJson] = await this.r.lichenClaim(
      this.keys.run(id),
      this.keys.runEvents(id),
      this.keys.runSpec(id),
      String(now),
      JSON.stringify(ev),
      RETRY_MESSAGE,
      String(policy.defaultWallMs),
      id,
      String(policy.defaultCap),
      this.keys.tenantKeyPrefix(),
      runningBefore,
      runningAfter,
      String(policy.leaseMarginMs),
    );
    const meta = RunStore.metaOf(id, RunStore.hashOf(flat));
    const spec = RunStore.specOf(specJson);
    if (r === 'busy' || r === 'terminal' || r === 'cancel' || r === 'missing') return { meta, spec, claim: r };
    const [attempt, out, err] = r.split(':').map(Number) as [number, number, number];
    // A retry's chunks continue after the earlier attempts' console (see appendEvents).
    if (out > 0 || err > 0) this.consoleBase.set(id, { attempt, stdout: out, stderr: err });
    else this.consoleBase.delete(id);
    return { meta, spec, claim: attempt };
  }

  /**
   * Writes the final outcome once. Returns true when this call made the run final; false when
   * it already was (another attempt, a cancel) — the caller then does nothing visible.
   * `attempt` 0 finishes whatever attempt is current (used for cancelling queued runs).
   * One script (FINISH) also writes `opts.events` and releases `opts.releaseSlot`.
   */
  async finish(id: string, outcome: RunOutcome, attempt: number, opts: FinishOptions = {}): Promise<boolean> {
    if (!isTerminal(outcome.status)) throw new Error(`finish with non-final status ${outcome.status}`);
    const ev: ConsoleEvent = {
      type: 'status',
      status: outcome.status,
      attempt: outcome.attempt,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
    };
    const { entries, ends } = this.consoleWrites(id, opts.events ?? []);
    this.consoleBase.delete(id);
    const args: FinishArgs = [
      this.keys.run(id),
      this.keys.runEvents(id),
      String(attempt),
      outcome.status,
      JSON.stringify(outcome),
      String(opts.now ?? Date.now()),
      JSON.stringify(ev),
      String(this.ttlSeconds),
      this.keys.doneChannel(),
      id,
      outcome.exitCode === null ? '' : String(outcome.exitCode),
      String(outcome.stats.instructions),
      String(DONE_INLINE_MAX_BYTES),
      opts.releaseSlot ?? '',
      ends.consoleOut ?? '',
      ends.consoleErr ?? '',
      ...entries,
    ];
    return (await this.r.lichenFinish(...args)) === 1;
  }

  /** Marks a cancel request. Returns the status it found: 'queued' | 'running' | 'terminal' | 'missing'. */
  async requestCancel(id: string): Promise<string> {
    return this.r.lichenCancel(this.keys.run(id));
  }

  /** True for the first caller only: the completion webhook is sent once. */
  async claimWebhook(id: string): Promise<boolean> {
    return (await this.r.hsetnx(this.keys.run(id), 'webhookSent', '1')) === 1;
  }

  /**
   * Appends an attempt's console events (one round trip). The sink numbers its chunks from 0;
   * on a retried attempt they are moved past the earlier attempts' output, so offsets in the
   * stream only grow. The end of each stream is kept in the record for the next retry.
   */
  async appendEvents(id: string, events: ConsoleEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { entries, ends } = this.consoleWrites(id, events);
    const p = this.r.pipeline();
    for (const e of entries) p.xadd(this.keys.runEvents(id), '*', 'e', e);
    if (Object.keys(ends).length > 0) p.hset(this.keys.run(id), ends);
    await p.exec();
  }

  /**
   * What writing console events stores: each event as a stream entry (JSON, offsets moved past
   * earlier attempts' console on a retry) and where each stream's console now ends.
   */
  private consoleWrites(id: string, events: ConsoleEvent[]): ConsoleWrites {
    const base = this.consoleBase.get(id);
    const ends: ConsoleWrites['ends'] = {};
    const entries: string[] = [];
    for (const ev of events) {
      let out: ConsoleEvent = ev;
      if (ev.type === 'stdout' || ev.type === 'stderr') {
        const offset = ev.offset + (base && base.attempt === ev.attempt ? base[ev.type] : 0);
        const size =
          ev.encoding === 'utf8' ? Buffer.byteLength(ev.data, 'utf8') : Buffer.from(ev.data, 'base64').length;
        ends[ev.type === 'stdout' ? 'consoleOut' : 'consoleErr'] = String(offset + size);
        out = { ...ev, offset };
      } else if (ev.type === 'truncated' && base && base.attempt === ev.attempt) {
        out = { ...ev, droppedFrom: ev.droppedFrom + base[ev.stream] };
      }
      entries.push(JSON.stringify(out));
    }
    return { entries, ends };
  }

  /** Events after `afterId` (exclusive; '0' for all), up to `count`. */
  async readEvents(id: string, afterId: string, count = 500): Promise<{ id: string; event: ConsoleEvent }[]> {
    const start = afterId === '0' ? '-' : `(${afterId}`;
    const rows = await this.r.xrange(this.keys.runEvents(id), start, '+', 'COUNT', count);
    return rows.map(([eid, fields]) => ({ id: eid, event: JSON.parse(fields[1] ?? '{}') as ConsoleEvent }));
  }

  static view(m: RunMeta): RunView {
    const o = m.outcome;
    return {
      id: m.id,
      status: m.status,
      image: m.image,
      argv: m.argv,
      createdAt: new Date(m.createdAt).toISOString(),
      startedAt: m.startedAt ? new Date(m.startedAt).toISOString() : null,
      finishedAt: m.finishedAt ? new Date(m.finishedAt).toISOString() : null,
      attempt: m.attempt,
      batchId: m.batchId,
      exitCode: o?.exitCode ?? null,
      signal: o?.signal ?? null,
      message: o?.message ?? null,
      stdout: o ? o.stdout : null,
      stdoutTruncated: o?.stdoutTruncated ?? false,
      stderr: o ? o.stderr : null,
      stderrTruncated: o?.stderrTruncated ?? false,
      encoding: o?.encoding ?? 'utf8',
      stats: o?.stats ?? null,
      crash: o?.crash ?? null,
      artifacts: !!o?.artifactsKey,
    };
  }
}
