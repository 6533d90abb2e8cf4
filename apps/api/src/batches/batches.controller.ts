import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { batchToCsv, batchToJunit } from '../../../runner/src/batch/export';
import type { BatchView } from '../../../runner/src/batch/types';
import type { Principal } from '../../../runner/src/core/tenants';
import { badRequest } from '../common/api-error';
import { CurrentPrincipal, TenantOnly } from '../common/auth';
import { BatchPageDto, CreateBatchDto, ListBatchesQueryDto } from './batch.dto';
import { BatchesService } from './batches.service';

@ApiTags('batches')
@ApiBearerAuth()
@Controller('v1/batches')
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @Post()
  @TenantOnly()
  @HttpCode(202)
  @ApiOperation({ summary: 'Grade submissions × cases (optional build step per submission)' })
  async create(@CurrentPrincipal() p: Principal, @Body() dto: CreateBatchDto): Promise<{ id: string }> {
    return { id: await this.batches.create(p, dto) };
  }

  @Get()
  @ApiOperation({
    summary:
      "The caller's batches, newest first: progress summaries, cursor pages, filters by status and creation time",
  })
  @ApiOkResponse({ type: BatchPageDto })
  list(@CurrentPrincipal() p: Principal, @Query() q: ListBatchesQueryDto): Promise<BatchPageDto> {
    return this.batches.list(p, q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Progress and verdicts; ?format=json|csv|junit' })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'csv', 'junit'] })
  async get(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<BatchView | string> {
    const v = await this.batches.view(p, id);
    switch (format ?? 'json') {
      case 'json':
        return v;
      case 'csv':
        void res.header('Content-Type', 'text/csv; charset=utf-8');
        void res.header('Content-Disposition', `attachment; filename="batch-${id}.csv"`);
        return batchToCsv(v);
      case 'junit':
        void res.header('Content-Type', 'application/xml; charset=utf-8');
        void res.header('Content-Disposition', `attachment; filename="batch-${id}.xml"`);
        return batchToJunit(v);
      default:
        throw badRequest('invalid_format', 'format must be json, csv or junit');
    }
  }

  @Post(':id/regrade')
  @HttpCode(202)
  @ApiOperation({ summary: 'Run every cell again' })
  regrade(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<BatchView> {
    return this.batches.regrade(p, id);
  }
}
