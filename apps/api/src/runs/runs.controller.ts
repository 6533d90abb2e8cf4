import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../../runner/src/core/context';
import type { Principal } from '../../../runner/src/core/tenants';
import type { RunView } from '../../../runner/src/core/types';
import { isTerminal } from '../../../runner/src/core/types';
import { badRequest } from '../common/api-error';
import { CurrentPrincipal, TenantOnly } from '../common/auth';
import type { Draining } from '../common/draining';
import { CTX, DRAINING } from '../common/tokens';
import { streamEvents } from './events';
import { ListRunsQueryDto, RunPageDto } from './list.dto';
import { CreateRunDto } from './run.dto';
import { RunsService } from './runs.service';

@ApiTags('runs')
@ApiBearerAuth()
@Controller('v1/runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    @Inject(CTX) private readonly ctx: ServiceContext,
    @Inject(DRAINING) private readonly draining: Draining,
  ) {}

  @Post()
  @TenantOnly()
  @ApiOperation({ summary: 'Queue a run. 202 {id}; with ?wait=SECONDS, 200 and the finished run if it ends in time.' })
  @ApiQuery({
    name: 'wait',
    required: false,
    description: 'Seconds to wait for the result (bounded by LICHEN_WAIT_MAX_SECONDS)',
  })
  @ApiResponse({ status: 202, description: 'Queued' })
  async create(
    @CurrentPrincipal() p: Principal,
    @Body() dto: CreateRunDto,
    @Query('wait') wait: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<{ id: string; status: string } | RunView> {
    const seconds = this.waitSeconds(wait);
    const { id, wait: done } = await this.runs.submit(p, dto, seconds * 1000);
    void res.header('Location', `/v1/runs/${id}`);
    if (seconds > 0) {
      const v = await this.runs.finishedView(p, id, done);
      if (done.finished || isTerminal(v.status)) {
        void res.status(200);
        return v;
      }
      void res.status(202);
      return { id, status: v.status };
    }
    void res.status(202);
    return { id, status: 'queued' };
  }

  private waitSeconds(wait: string | undefined): number {
    if (wait === undefined || wait === '') return 0;
    const n = Number(wait);
    const max = this.ctx.cfg.api.maxWaitSeconds;
    if (!Number.isFinite(n) || n < 0 || n > max)
      throw badRequest('invalid_wait', `wait must be a number of seconds between 0 and ${max}`);
    return n;
  }

  @Get()
  @ApiOperation({
    summary:
      "The caller's runs, newest first: summaries (no console output), cursor pages, filters by status and creation time",
  })
  @ApiOkResponse({ type: RunPageDto })
  list(@CurrentPrincipal() p: Principal, @Query() q: ListRunsQueryDto): Promise<RunPageDto> {
    return this.runs.list(p, q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A run: status, exit code, signal, bounded stdout/stderr, stats, crash info' })
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<RunView> {
    return this.runs.view(p, id);
  }

  @Get(':id/events')
  @ApiOperation({
    summary:
      'Server-Sent Events: stdout/stderr chunks with byte offsets, status changes, an attempt event before a retried attempt; resume with Last-Event-ID',
  })
  async events(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ): Promise<void> {
    await this.runs.meta(p, id);
    await streamEvents(req, res, this.ctx.runs, this.ctx.redis, id, { stop: this.draining.signal });
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel a queued or running run (reaches the VM within a second)' })
  cancel(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<RunView> {
    return this.runs.cancel(p, id);
  }

  @Get(':id/artifacts')
  @ApiOperation({
    summary:
      "OCI-style layer tar of the run's changes: created or changed files, deleted image paths as .wh.<name> whiteouts (runs submitted with artifacts: true)",
  })
  async artifacts(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Res() res: FastifyReply): Promise<void> {
    const data = await this.runs.artifacts(p, id);
    void res
      .status(200)
      .header('Content-Type', 'application/x-tar')
      .header('Content-Disposition', `attachment; filename="${id}.tar"`)
      .send(Buffer.from(data));
  }
}
