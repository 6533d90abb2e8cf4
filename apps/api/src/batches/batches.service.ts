import { Inject, Injectable } from '@nestjs/common';
import type { BatchCoordinator } from '../../../runner/src/batch/coordinator';
import type { BatchSpec, BatchSummary, BatchView } from '../../../runner/src/batch/types';
import type { ServiceContext } from '../../../runner/src/core/context';
import type { TenantPolicy } from '../../../runner/src/core/config';
import type { Principal } from '../../../runner/src/core/tenants';
import { badRequest, notFound } from '../common/api-error';
import { COORDINATOR, CTX } from '../common/tokens';
import { RunsService } from '../runs/runs.service';
import {
  checkArgBytes,
  checkArgv,
  checkEnv,
  checkFiles,
  checkImage,
  checkStdin,
  checkWebhook,
  decodeBase64,
  resolveLimits,
} from '../runs/normalize';
import { listScope } from '../runs/listing';
import type { CreateBatchDto, ListBatchesQueryDto } from './batch.dto';

@Injectable()
export class BatchesService {
  constructor(
    @Inject(CTX) private readonly ctx: ServiceContext,
    @Inject(COORDINATOR) private readonly coordinator: BatchCoordinator,
    private readonly runs: RunsService,
  ) {}

  async normalise(tenant: string, dto: CreateBatchDto, known?: TenantPolicy): Promise<BatchSpec> {
    const cfg = this.ctx.cfg;
    const image = checkImage(dto.image);
    const cells = dto.submissions.length * dto.cases.length;
    if (cells > cfg.request.maxBatchCells) {
      throw badRequest(
        'batch_too_large',
        `${cells} submission × case cells; the maximum is ${cfg.request.maxBatchCells}`,
      );
    }
    const env = checkEnv(cfg, dto.env);
    const ids = new Set<string>();
    const submissions = dto.submissions.map((s, i) => {
      if (ids.has(s.id)) throw badRequest('duplicate_submission', `submission id ${s.id} appears twice`);
      ids.add(s.id);
      return { id: s.id, files: checkFiles(cfg, `submissions[${i}].files`, s.files) };
    });
    const names = new Set<string>();
    const cases = dto.cases.map((c, i) => {
      if (names.has(c.name)) throw badRequest('duplicate_case', `case name ${c.name} appears twice`);
      names.add(c.name);
      const argv = checkArgv(cfg, `cases[${i}].argv`, c.argv);
      checkArgBytes(cfg, argv, env);
      const compare = c.compare ?? 'trim';
      if (c.expected !== undefined && c.expectedBase64 !== undefined)
        throw badRequest('invalid_expected', `cases[${i}]: give expected or expectedBase64, not both`);
      const expected =
        c.expectedBase64 !== undefined
          ? decodeBase64(`cases[${i}].expectedBase64`, c.expectedBase64)
          : Buffer.from(c.expected ?? '', 'utf8');
      if (compare === 'checker' && (!c.checkerArgv || c.checkerArgv.length === 0)) {
        throw badRequest('invalid_checker', `cases[${i}]: compare "checker" needs checkerArgv`);
      }
      return {
        name: c.name,
        argv,
        stdin: checkStdin(cfg, c.stdin, c.stdinBase64, `cases[${i}].stdin`),
        expected: expected.toString('base64'),
        compare,
        checkerArgv: compare === 'checker' ? checkArgv(cfg, `cases[${i}].checkerArgv`, c.checkerArgv) : null,
      };
    });
    const policy = known ?? (await this.ctx.tenants.policy(tenant));
    const limits = resolveLimits(policy, dto.limits);
    const build = dto.build
      ? { argv: checkArgv(cfg, 'build.argv', dto.build.argv), limits: resolveLimits(policy, dto.build.limits) }
      : null;
    await this.runs.checkImageExists(image);
    return {
      image,
      env,
      cwd: '/',
      submissions,
      build,
      cases,
      checkerFiles: checkFiles(cfg, 'checkerFiles', dto.checkerFiles),
      limits,
      deterministic: dto.deterministic ? { seed: dto.deterministic.seed } : { seed: 0 },
      stopOnFirstFailure: dto.stopOnFirstFailure ?? false,
      webhookUrl: checkWebhook(dto.webhookUrl),
    };
  }

  async create(p: Principal, dto: CreateBatchDto): Promise<string> {
    if (p.kind !== 'tenant') throw badRequest('tenant_required', 'batches are created with a tenant key');
    const spec = await this.normalise(p.tenant, dto, p.policy);
    const id = this.ctx.batches.newId();
    await this.ctx.batches.reset(id, p.tenant, spec, 1);
    await this.coordinator.start(id, p.tenant);
    return id;
  }

  /** A page of batches of the caller's tenant (or, for the admin key, of `?tenant=`), newest first. */
  list(p: Principal, q: ListBatchesQueryDto): Promise<{ items: BatchSummary[]; nextCursor: string | null }> {
    const { tenant, page } = listScope(p, q);
    return this.ctx.batches.list(tenant, page, q.status?.length ? new Set(q.status) : null);
  }

  private async owned(p: Principal, id: string): Promise<{ tenant: string; generation: number }> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound('batch', id);
    const m = await this.ctx.batches.meta(id);
    if (!m || (p.kind === 'tenant' && m.tenant !== p.tenant)) throw notFound('batch', id);
    return m;
  }

  async view(p: Principal, id: string): Promise<BatchView> {
    await this.owned(p, id);
    const v = await this.ctx.batches.view(id);
    if (!v) throw notFound('batch', id);
    return v;
  }

  /** Runs every cell again (a new generation; results of older runs are ignored). */
  async regrade(p: Principal, id: string): Promise<BatchView> {
    const m = await this.owned(p, id);
    const spec = await this.ctx.batches.spec(id);
    if (!spec) throw notFound('batch', id);
    await this.ctx.batches.reset(id, m.tenant, spec, m.generation + 1);
    await this.coordinator.start(id, m.tenant);
    return this.view(p, id);
  }
}
