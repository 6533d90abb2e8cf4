import { Inject, Injectable } from '@nestjs/common';
import type { ServiceContext } from '../../../runner/src/core/context';
import { SCRATCH_IMAGE } from '../../../runner/src/core/images';
import type { RunMeta } from '../../../runner/src/core/run-store';
import { RunStore } from '../../../runner/src/core/run-store';
import type { RunSubmitter } from '../../../runner/src/core/submitter';
import type { Principal } from '../../../runner/src/core/tenants';
import type { TenantPolicy } from '../../../runner/src/core/config';
import type { RunSpec, RunSummary, RunView } from '../../../runner/src/core/types';
import { badRequest, notFound } from '../common/api-error';
import { CTX, DONE_WAITER, SUBMITTER } from '../common/tokens';
import type { DoneWaiter, WaitResult } from './done-waiter';
import type { ListRunsQueryDto } from './list.dto';
import { listScope } from './listing';
import type { CreateRunDto } from './run.dto';
import {
  checkArgBytes,
  checkArgv,
  checkEnv,
  checkFiles,
  checkImage,
  checkStdin,
  checkWebhook,
  guestPath,
  resolveLimits,
} from './normalize';

@Injectable()
export class RunsService {
  constructor(
    @Inject(CTX) private readonly ctx: ServiceContext,
    @Inject(SUBMITTER) private readonly submitter: RunSubmitter,
    @Inject(DONE_WAITER) private readonly waiter: DoneWaiter,
  ) {}

  /** Fails with a 4xx before anything is stored or queued. */
  async normalise(tenant: string, dto: CreateRunDto, known?: TenantPolicy): Promise<RunSpec> {
    const cfg = this.ctx.cfg;
    const image = checkImage(dto.image);
    const argv = checkArgv(cfg, 'argv', dto.argv);
    const env = checkEnv(cfg, dto.env);
    checkArgBytes(cfg, argv, env);
    const files = checkFiles(cfg, 'files', dto.files);
    const stdin = checkStdin(cfg, dto.stdin, dto.stdinBase64);
    const cwd = dto.cwd === undefined ? '/' : guestPath('cwd', dto.cwd);
    const webhookUrl = checkWebhook(dto.webhookUrl);
    const policy = known ?? (await this.ctx.tenants.policy(tenant));
    const limits = resolveLimits(policy, dto.limits);
    await this.checkImageExists(image);
    return {
      image,
      argv,
      env,
      cwd,
      stdin,
      files,
      limits,
      deterministic: dto.deterministic ? { seed: dto.deterministic.seed } : null,
      artifacts: dto.artifacts ?? false,
      webhookUrl,
      batch: null,
    };
  }

  async checkImageExists(image: string): Promise<void> {
    if (image === SCRATCH_IMAGE) return;
    if (!(await this.ctx.catalog.exists(image))) throw badRequest('unknown_image', `image ${image} does not exist`);
  }

  /**
   * Queues a run for the principal's tenant. With `waitMs` > 0, also waits (up to that long)
   * for it to finish: the wait is registered before the job is queued, so the completion
   * notice cannot be missed and no extra read is needed before waiting.
   */
  async submit(p: Principal, dto: CreateRunDto, waitMs = 0): Promise<{ id: string; wait: WaitResult }> {
    const tenant = p.kind === 'tenant' ? p.tenant : '';
    const spec = await this.normalise(tenant, dto, p.kind === 'tenant' ? p.policy : undefined);
    const id = this.ctx.runs.newId();
    const wait = waitMs > 0 ? this.waiter.expect(id, waitMs) : null;
    try {
      await this.submitter.submit(tenant, spec, id);
    } catch (e) {
      wait?.cancel();
      throw e;
    }
    return { id, wait: wait ? await wait.done : { finished: false } };
  }

  /** A page of runs of the caller's tenant (or, for the admin key, of `?tenant=`), newest first. */
  list(p: Principal, q: ListRunsQueryDto): Promise<{ items: RunSummary[]; nextCursor: string | null }> {
    const { tenant, page } = listScope(p, q);
    return this.ctx.runs.list(tenant, page, q.status?.length ? new Set(q.status) : null);
  }

  /** The run if the principal may see it; 404 otherwise (also for other tenants' runs). */
  async meta(p: Principal, id: string): Promise<RunMeta> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound('run', id);
    const m = await this.ctx.runs.meta(id);
    if (!m || (p.kind === 'tenant' && m.tenant !== p.tenant)) throw notFound('run', id);
    return m;
  }

  async view(p: Principal, id: string): Promise<RunView> {
    return RunStore.view(await this.meta(p, id));
  }

  /**
   * The view of a run the caller just submitted and waited for: from the completion notice's
   * record when it carried one (no read), else read.
   */
  async finishedView(p: Principal, id: string, wait: WaitResult): Promise<RunView> {
    if (wait.finished && wait.meta) return RunStore.view(wait.meta);
    return this.view(p, id);
  }

  async cancel(p: Principal, id: string): Promise<RunView> {
    await this.meta(p, id);
    const found = await this.ctx.runs.requestCancel(id);
    if (found === 'queued') {
      // Not started: finish it here; a runner that picks the job up later sees it final.
      await this.submitter.removeWaiting(id);
      await this.ctx.runs.finish(
        id,
        {
          status: 'cancelled',
          exitCode: null,
          signal: null,
          message: 'cancelled before start',
          stdout: '',
          stdoutTruncated: false,
          stderr: '',
          stderrTruncated: false,
          encoding: 'utf8',
          stats: {
            instructions: 0,
            wallMs: 0,
            queueMs: 0,
            maxMemoryBytes: 0,
            syscalls: {},
            unsupportedSyscalls: {},
            tasksCreated: 0,
            outputBytes: 0,
          },
          crash: null,
          artifactsKey: null,
          attempt: 0,
        },
        0,
      );
    }
    // Running (or became running meanwhile): the runner holding it aborts its VM.
    await this.ctx.redis.publish(this.ctx.keys.cancelChannel(), id);
    return this.view(p, id);
  }

  async artifacts(p: Principal, id: string): Promise<Uint8Array> {
    const m = await this.meta(p, id);
    if (!m.artifacts) throw notFound('artifacts of run', id);
    if (!m.outcome) throw badRequest('run_not_finished', `run ${id} has not finished yet`);
    if (!m.outcome.artifactsKey) throw notFound('artifacts of run', id);
    const data = await this.ctx.artifacts.get(m.outcome.artifactsKey);
    if (!data) throw notFound('artifacts of run', id);
    return data;
  }
}
