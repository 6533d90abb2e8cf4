import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Keys } from '../core/keys';
import type { Loaded, PageQuery } from '../core/tenant-index';
import { TenantIndex } from '../core/tenant-index';
import type { BatchMeta, BatchSpec, BatchSummary, BatchView, BuildCell, Cell } from './types';
import { VERDICTS } from './verdict';

// Sets a cell only if it still belongs to `expectRunId` and is not final; counts finals down.
const SET_CELL = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
local c = cjson.decode(cur)
if c['runId'] ~= ARGV[2] or c['state'] == 'done' then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '1' then
  local left = redis.call('HINCRBY', KEYS[2], 'pending', -1)
  if left == 0 then
    redis.call('HSET', KEYS[2], 'status', 'completed', 'finishedAt', ARGV[5])
  end
  return left
end
return -2
`;

type Scripted = Redis & {
  lichenSetCell(
    cells: string,
    batch: string,
    field: string,
    expect: string,
    json: string,
    final: string,
    now: string,
  ): Promise<number>;
};

export const caseField = (sub: string, index: number): string => `c:${sub}:${index}`;
export const buildField = (sub: string): string => `b:${sub}`;

/** Grading batches in Redis: meta hash, spec, and a hash of cells (submission × case, builds). */
export class BatchStore {
  private readonly r: Scripted;
  /** Each tenant's batches by creation time (GET /v1/batches). */
  readonly index: TenantIndex;
  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly ttlSeconds: number,
  ) {
    this.r = redis as Scripted;
    if (typeof this.r.lichenSetCell !== 'function')
      redis.defineCommand('lichenSetCell', { numberOfKeys: 2, lua: SET_CELL });
    this.index = new TenantIndex(redis, (t) => keys.tenantBatches(t), keys.batchParts(), ttlSeconds);
  }

  newId(): string {
    return randomUUID();
  }

  private specKey(id: string): string {
    return `${this.keys.batch(id)}:spec`;
  }
  buildFilesKey(id: string, sub: string): string {
    return `${this.keys.batch(id)}:build:${sub}`;
  }

  /** Creates (or, for a regrade, resets) the batch with every cell pending. */
  async reset(id: string, tenant: string, spec: BatchSpec, generation: number, createdAt = Date.now()): Promise<void> {
    const cells: Record<string, string> = {};
    for (const s of spec.submissions) {
      spec.cases.forEach((c, i) => {
        const cell: Cell = {
          submission: s.id,
          case: c.name,
          index: i,
          state: 'pending',
          runId: '',
          checkerRunId: '',
          verdict: null,
          detail: null,
          exitCode: null,
          signal: null,
          stats: null,
        };
        cells[caseField(s.id, i)] = JSON.stringify(cell);
      });
      if (spec.build) {
        const b: BuildCell = { submission: s.id, state: 'pending', runId: '', status: null, detail: null };
        cells[buildField(s.id)] = JSON.stringify(b);
      }
    }
    const total = spec.submissions.length * spec.cases.length;
    const m = this.r.multi();
    m.del(this.keys.batchCells(id));
    m.hset(this.keys.batch(id), {
      tenant,
      status: total === 0 ? 'completed' : 'running',
      createdAt: String(createdAt),
      finishedAt: total === 0 ? String(Date.now()) : '',
      generation: String(generation),
      pending: String(total),
      total: String(total),
      webhookSent: '',
      image: spec.image,
    });
    m.set(this.specKey(id), JSON.stringify(spec), 'EX', this.ttlSeconds);
    if (Object.keys(cells).length > 0) m.hset(this.keys.batchCells(id), cells);
    m.expire(this.keys.batch(id), this.ttlSeconds);
    m.expire(this.keys.batchCells(id), this.ttlSeconds);
    this.index.add(m, tenant, id, createdAt);
    await m.exec();
  }

  /** A page of the tenant's batches, newest first (progress counts, no cells). */
  async list(
    tenant: string,
    q: PageQuery,
    statuses: ReadonlySet<BatchMeta['status']> | null,
  ): Promise<{ items: BatchSummary[]; nextCursor: string | null }> {
    return this.index.page(tenant, q, async (ids) => {
      const p = this.r.pipeline();
      for (const id of ids) p.hgetall(this.keys.batch(id));
      const res = (await p.exec()) ?? [];
      return ids.map((id, i): Loaded<BatchSummary> => {
        const h = (res[i]?.[1] ?? {}) as Record<string, string>;
        const m = BatchStore.parseMeta(id, h);
        if (!m || m.tenant !== tenant) return null;
        if (statuses && !statuses.has(m.status)) return undefined;
        return {
          id,
          status: m.status,
          image: h.image ?? '',
          createdAt: new Date(m.createdAt).toISOString(),
          finishedAt: m.finishedAt ? new Date(m.finishedAt).toISOString() : null,
          generation: m.generation,
          progress: { total: m.total, done: m.total - m.pending, pending: m.pending },
        };
      });
    });
  }

  async meta(id: string): Promise<BatchMeta | null> {
    return BatchStore.parseMeta(id, await this.r.hgetall(this.keys.batch(id)));
  }

  private static parseMeta(id: string, h: Record<string, string> | null): BatchMeta | null {
    if (!h || !h.tenant) return null;
    return {
      id,
      tenant: h.tenant,
      status: h.status as BatchMeta['status'],
      createdAt: Number(h.createdAt),
      finishedAt: h.finishedAt ? Number(h.finishedAt) : null,
      generation: Number(h.generation ?? 1),
      pending: Number(h.pending ?? 0),
      total: Number(h.total ?? 0),
    };
  }

  async spec(id: string): Promise<BatchSpec | null> {
    const s = await this.r.get(this.specKey(id));
    return s ? (JSON.parse(s) as BatchSpec) : null;
  }

  async cell(id: string, field: string): Promise<Cell | null> {
    const s = await this.r.hget(this.keys.batchCells(id), field);
    return s ? (JSON.parse(s) as Cell) : null;
  }

  async build(id: string, sub: string): Promise<BuildCell | null> {
    const s = await this.r.hget(this.keys.batchCells(id), buildField(sub));
    return s ? (JSON.parse(s) as BuildCell) : null;
  }

  async cells(id: string): Promise<{ cases: Cell[]; builds: BuildCell[] }> {
    const h = await this.r.hgetall(this.keys.batchCells(id));
    const cases: Cell[] = [];
    const builds: BuildCell[] = [];
    for (const [k, v] of Object.entries(h)) {
      if (k.startsWith('c:')) cases.push(JSON.parse(v) as Cell);
      else builds.push(JSON.parse(v) as BuildCell);
    }
    return { cases, builds };
  }

  /**
   * Compare-and-set of one cell (keyed by the run it expects). Returns -1 when the cell moved on
   * (stale run, regrade), -2 when set but not final, else the number of cells still pending.
   */
  async setCell(
    id: string,
    field: string,
    expectRunId: string,
    value: Cell | BuildCell,
    final: boolean,
  ): Promise<number> {
    return this.r.lichenSetCell(
      this.keys.batchCells(id),
      this.keys.batch(id),
      field,
      expectRunId,
      JSON.stringify(value),
      final ? '1' : '0',
      String(Date.now()),
    );
  }

  async saveBuildFiles(id: string, sub: string, json: string): Promise<void> {
    await this.r.set(this.buildFilesKey(id, sub), json, 'EX', this.ttlSeconds);
  }

  async buildFiles(id: string, sub: string): Promise<string | null> {
    return this.r.get(this.buildFilesKey(id, sub));
  }

  async claimWebhook(id: string, generation: number): Promise<boolean> {
    const m = await this.r.hget(this.keys.batch(id), 'webhookSent');
    if (m === String(generation)) return false;
    const res = await this.r.eval(
      `if redis.call('HGET', KEYS[1], 'webhookSent') == ARGV[1] then return 0 end redis.call('HSET', KEYS[1], 'webhookSent', ARGV[1]) return 1`,
      1,
      this.keys.batch(id),
      String(generation),
    );
    return res === 1;
  }

  async view(id: string): Promise<BatchView | null> {
    const [meta, spec] = await Promise.all([this.meta(id), this.spec(id)]);
    if (!meta || !spec) return null;
    const { cases, builds } = await this.cells(id);
    return BatchStore.render(meta, spec, cases, builds);
  }

  static render(meta: BatchMeta, spec: BatchSpec, cases: Cell[], builds: BuildCell[]): BatchView {
    const verdicts: Record<string, number> = {};
    for (const v of VERDICTS) verdicts[v] = 0;
    let done = 0;
    for (const c of cases) {
      if (c.state === 'done' && c.verdict) {
        verdicts[c.verdict] = (verdicts[c.verdict] ?? 0) + 1;
        done++;
      }
    }
    return {
      id: meta.id,
      status: meta.status,
      image: spec.image,
      createdAt: new Date(meta.createdAt).toISOString(),
      finishedAt: meta.finishedAt ? new Date(meta.finishedAt).toISOString() : null,
      generation: meta.generation,
      progress: { total: meta.total, done, pending: meta.total - done, verdicts },
      submissions: spec.submissions.map((s) => {
        const b = builds.find((x) => x.submission === s.id) ?? null;
        const mine = cases.filter((c) => c.submission === s.id).sort((a, z) => a.index - z.index);
        return {
          id: s.id,
          build: b ? { status: b.status, detail: b.detail, runId: b.runId || null } : null,
          accepted: mine.filter((c) => c.verdict === 'accepted').length,
          cases: mine.map((c) => ({
            name: c.case,
            verdict: c.state === 'done' ? c.verdict : null,
            detail: c.detail,
            runId: c.runId || null,
            exitCode: c.exitCode,
            signal: c.signal,
            stats: c.stats,
          })),
        };
      }),
    };
  }
}
