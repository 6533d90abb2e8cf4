import { randomUUID } from 'node:crypto';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '@lichen/vfs';
import type { ArtifactStore } from '../core/artifacts';
import type { LichenConfig } from '../core/config';
import type { RunMeta } from '../core/run-store';
import type { RunSubmitter } from '../core/submitter';
import { parseTar } from '../core/tar';
import type { RunFile, RunOutcome, RunSpec } from '../core/types';
import type { TenantStore } from '../core/tenants';
import { deliverWebhook } from '../core/webhook';
import type { BatchStore } from './batch-store';
import { buildField, caseField } from './batch-store';
import { compareOutput } from './compare';
import type { BatchSpec, BuildCell, Cell } from './types';
import { buildVerdict, caseVerdict, checkerVerdict } from './verdict';
import type { VerdictDecision } from './verdict';

export interface BatchLogger {
  warn(obj: object, msg: string): void;
}

const CHECK_DIR = '/lichen/check';

function outputBytes(o: RunOutcome, which: 'stdout' | 'stderr'): Uint8Array {
  return o.encoding === 'base64' ? Buffer.from(o[which], 'base64') : Buffer.from(o[which], 'utf8');
}

/**
 * Drives grading batches: queues build steps, then cases (all at once, or one after another
 * with stopOnFirstFailure), runs checkers, and turns finished runs into cell verdicts. Every
 * step is a compare-and-set keyed by run id, so repeated or stale notifications are harmless.
 */
export class BatchCoordinator {
  constructor(
    private readonly cfg: LichenConfig,
    private readonly batches: BatchStore,
    private readonly submitter: RunSubmitter,
    private readonly artifacts: ArtifactStore,
    private readonly log: BatchLogger,
    /** Signs the completion webhooks with the tenant's secret. */
    private readonly tenants: TenantStore,
  ) {}

  /** Queues the first steps of every submission (after create or regrade). */
  async start(batchId: string, tenant: string): Promise<void> {
    const spec = await this.batches.spec(batchId);
    if (!spec) throw new Error(`batch ${batchId} has no spec`);
    for (const s of spec.submissions) {
      if (spec.build) await this.queueBuild(batchId, tenant, spec, s.id);
      else await this.queueCases(batchId, tenant, spec, s.id, s.files, 0);
    }
  }

  private baseRun(
    spec: BatchSpec,
    batchId: string,
    sub: string,
  ): Omit<RunSpec, 'argv' | 'files' | 'stdin' | 'limits' | 'artifacts' | 'batch'> {
    void batchId;
    void sub;
    return { image: spec.image, env: spec.env, cwd: spec.cwd, deterministic: spec.deterministic, webhookUrl: null };
  }

  private async queueBuild(batchId: string, tenant: string, spec: BatchSpec, sub: string): Promise<void> {
    const build = spec.build;
    const s = spec.submissions.find((x) => x.id === sub);
    if (!build || !s) return;
    const runId = randomUUID();
    const cell: BuildCell = { submission: sub, state: 'running', runId, status: null, detail: null };
    if ((await this.batches.setCell(batchId, buildField(sub), '', cell, false)) === -1) return;
    await this.submitter.submit(
      tenant,
      {
        ...this.baseRun(spec, batchId, sub),
        argv: build.argv,
        files: s.files,
        stdin: null,
        limits: build.limits,
        artifacts: true,
        batch: { id: batchId, role: 'build', submission: sub, caseName: null },
      },
      runId,
    );
  }

  /** Queues case `from` (and, without stopOnFirstFailure, every later case) of a submission. */
  private async queueCases(
    batchId: string,
    tenant: string,
    spec: BatchSpec,
    sub: string,
    files: RunFile[],
    from: number,
  ): Promise<void> {
    const last = spec.stopOnFirstFailure ? Math.min(from + 1, spec.cases.length) : spec.cases.length;
    for (let i = from; i < last; i++) {
      const c = spec.cases[i];
      if (!c) continue;
      const field = caseField(sub, i);
      const cur = await this.batches.cell(batchId, field);
      if (!cur || cur.state !== 'pending' || cur.runId !== '') continue;
      const runId = randomUUID();
      const next: Cell = { ...cur, state: 'running', runId };
      if ((await this.batches.setCell(batchId, field, '', next, false)) === -1) continue;
      await this.submitter.submit(
        tenant,
        {
          ...this.baseRun(spec, batchId, sub),
          argv: c.argv,
          files,
          stdin: c.stdin,
          limits: spec.limits,
          artifacts: false,
          batch: { id: batchId, role: 'case', submission: sub, caseName: String(i) },
        },
        runId,
      );
    }
  }

  private async submissionFiles(batchId: string, spec: BatchSpec, sub: string): Promise<RunFile[]> {
    if (spec.build) {
      const saved = await this.batches.buildFiles(batchId, sub);
      if (saved) return JSON.parse(saved) as RunFile[];
    }
    return spec.submissions.find((s) => s.id === sub)?.files ?? [];
  }

  /** Hook: a run became final. Ignores runs that are not batch steps. */
  async onRunFinished(runId: string, run: RunSpec, meta: RunMeta): Promise<void> {
    const b = run.batch;
    const outcome = meta.outcome;
    if (!b || !outcome) return;
    const bmeta = await this.batches.meta(b.id);
    const spec = await this.batches.spec(b.id);
    if (!bmeta || !spec) return;
    if (b.role === 'build') return this.onBuild(b.id, bmeta.tenant, spec, b.submission, runId, meta.status, outcome);
    const index = Number(b.caseName);
    const field = caseField(b.submission, index);
    const cell = await this.batches.cell(b.id, field);
    if (!cell) return;
    if (b.role === 'checker') {
      if (cell.checkerRunId !== runId || cell.state !== 'checking') return;
      const d = checkerVerdict(meta.status, outcome);
      return this.finalCell(b.id, bmeta.tenant, spec, field, cell.runId, {
        ...cell,
        state: 'done',
        verdict: d.verdict,
        detail: d.detail,
      });
    }
    if (cell.runId !== runId || cell.state !== 'running') return;
    const kase = spec.cases[index];
    if (!kase) return;
    const stats = {
      instructions: outcome.stats.instructions,
      wallMs: outcome.stats.wallMs,
      maxMemoryBytes: outcome.stats.maxMemoryBytes,
    };
    const base = { ...cell, exitCode: outcome.exitCode, signal: outcome.signal, stats };
    const actual = outputBytes(outcome, 'stdout');
    const expected = Buffer.from(kase.expected, 'base64');
    let cmp = null;
    if (meta.status === 'succeeded' && kase.compare !== 'checker') {
      cmp = outcome.stdoutTruncated
        ? { equal: false, detail: 'output longer than the stored limit' }
        : compareOutput(kase.compare, actual, expected);
    }
    const d = caseVerdict(meta.status, outcome, cmp);
    if (d === 'needs_checker') {
      const checkerRunId = randomUUID();
      const next: Cell = { ...base, state: 'checking', checkerRunId };
      if ((await this.batches.setCell(b.id, field, runId, next, false)) === -1) return;
      const files: RunFile[] = [
        ...spec.checkerFiles,
        { path: `${CHECK_DIR}/input`, content: kase.stdin ?? '', mode: 0o644 },
        { path: `${CHECK_DIR}/output`, content: Buffer.from(actual).toString('base64'), mode: 0o644 },
        { path: `${CHECK_DIR}/expected`, content: kase.expected, mode: 0o644 },
      ];
      await this.submitter.submit(
        bmeta.tenant,
        {
          ...this.baseRun(spec, b.id, b.submission),
          argv: [...(kase.checkerArgv ?? []), `${CHECK_DIR}/input`, `${CHECK_DIR}/output`, `${CHECK_DIR}/expected`],
          files,
          stdin: null,
          limits: spec.limits,
          artifacts: false,
          batch: { id: b.id, role: 'checker', submission: b.submission, caseName: String(index) },
        },
        checkerRunId,
      );
      return;
    }
    return this.finalCell(b.id, bmeta.tenant, spec, field, runId, {
      ...base,
      state: 'done',
      verdict: d.verdict,
      detail: d.detail,
    });
  }

  private async onBuild(
    batchId: string,
    tenant: string,
    spec: BatchSpec,
    sub: string,
    runId: string,
    status: RunMeta['status'],
    outcome: RunOutcome,
  ): Promise<void> {
    const cell = await this.batches.build(batchId, sub);
    if (!cell || cell.runId !== runId || cell.state !== 'running') return;
    let d: VerdictDecision | null = buildVerdict(status, outcome);
    let files: RunFile[] = spec.submissions.find((s) => s.id === sub)?.files ?? [];
    if (d === null) {
      try {
        const tar = outcome.artifactsKey ? await this.artifacts.get(outcome.artifactsKey) : null;
        if (!tar) throw new Error('the build step produced no artifacts (the VM did not export its changes)');
        const byPath = new Map(files.map((f) => [f.path, f]));
        for (const e of parseTar(tar)) {
          if (e.type !== 'file') continue;
          const p = `/${e.path.replace(/^\.?\/+/, '')}`;
          const slash = p.lastIndexOf('/');
          const base = p.slice(slash + 1);
          if (base.startsWith(WHITEOUT_PREFIX)) {
            // OCI whiteouts: the build deleted a path (drop it and anything under it), or
            // replaced a directory (opaque: drop what was under it before; the tar lists the rest).
            const gone =
              base === OPAQUE_MARKER ? p.slice(0, slash) : `${p.slice(0, slash)}/${base.slice(WHITEOUT_PREFIX.length)}`;
            for (const k of [...byPath.keys()]) if (k === gone || k.startsWith(`${gone}/`)) byPath.delete(k);
            continue;
          }
          byPath.set(p, { path: p, mode: e.mode || 0o644, content: Buffer.from(e.content).toString('base64') });
        }
        files = [...byPath.values()];
        await this.batches.saveBuildFiles(batchId, sub, JSON.stringify(files));
      } catch (e) {
        d = { verdict: 'internal_error', detail: `build output: ${(e as Error).message}` };
      }
    }
    const done: BuildCell = { ...cell, state: 'done', status, detail: d ? d.detail : null };
    if ((await this.batches.setCell(batchId, buildField(sub), runId, done, false)) === -1) return;
    if (d === null) return this.queueCases(batchId, tenant, spec, sub, files, 0);
    // Build failed: every case of the submission gets the build's verdict.
    for (let i = 0; i < spec.cases.length; i++) {
      const field = caseField(sub, i);
      const c = await this.batches.cell(batchId, field);
      if (!c || c.state === 'done') continue;
      await this.finalCell(
        batchId,
        tenant,
        spec,
        field,
        c.runId,
        { ...c, state: 'done', verdict: d.verdict, detail: d.detail },
        false,
      );
    }
  }

  private async finalCell(
    batchId: string,
    tenant: string,
    spec: BatchSpec,
    field: string,
    expectRunId: string,
    cell: Cell,
    follow = true,
  ): Promise<void> {
    const left = await this.batches.setCell(batchId, field, expectRunId, cell, true);
    if (left === -1) return;
    if (follow && spec.stopOnFirstFailure) {
      if (cell.verdict === 'accepted') {
        const files = await this.submissionFiles(batchId, spec, cell.submission);
        await this.queueCases(batchId, tenant, spec, cell.submission, files, cell.index + 1);
      } else {
        for (let i = cell.index + 1; i < spec.cases.length; i++) {
          const f = caseField(cell.submission, i);
          const c = await this.batches.cell(batchId, f);
          if (!c || c.state !== 'pending') continue;
          const l = await this.batches.setCell(
            batchId,
            f,
            c.runId,
            { ...c, state: 'done', verdict: 'skipped', detail: `stopped after ${cell.case}: ${cell.verdict}` },
            true,
          );
          if (l === 0) await this.completed(batchId, spec);
        }
      }
    }
    if (left === 0) await this.completed(batchId, spec);
  }

  private async completed(batchId: string, spec: BatchSpec): Promise<void> {
    const meta = await this.batches.meta(batchId);
    if (!meta || !spec.webhookUrl || !(await this.batches.claimWebhook(batchId, meta.generation))) return;
    const view = await this.batches.view(batchId);
    void deliverWebhook(
      this.tenants,
      meta.tenant,
      spec.webhookUrl,
      'batch.completed',
      { event: 'batch.completed', batch: view },
      { timeoutMs: this.cfg.webhook.timeoutMs, attempts: this.cfg.webhook.attempts, log: this.log },
    );
  }
}
