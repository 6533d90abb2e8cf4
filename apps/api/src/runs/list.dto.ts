import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { RUN_STATUSES } from '../../../runner/src/core/types';
import type { RunStatus, RunSummary } from '../../../runner/src/core/types';

export const LIST_LIMIT_DEFAULT = 20;
export const LIST_LIMIT_MAX = 100;

/** `?status=a,b` (or repeated `?status=`) as a list of names. */
export const commaList = ({ value }: { value: unknown }): unknown => {
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]));
  return parts.map((p) => (typeof p === 'string' ? p.trim() : p)).filter((p) => p !== '');
};

/** Query of the listing endpoints (GET /v1/runs, GET /v1/batches): paging, time and tenant. */
export class ListQueryDto {
  @ApiPropertyOptional({
    description: `Items per page, 1-${LIST_LIMIT_MAX}`,
    default: LIST_LIMIT_DEFAULT,
    minimum: 1,
    maximum: LIST_LIMIT_MAX,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(LIST_LIMIT_MAX, { message: `limit must be at most ${LIST_LIMIT_MAX}` })
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (opaque)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({
    description: 'Only items created at or after this time (ISO 8601, e.g. 2026-12-04T10:00:00Z)',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO 8601 date-time, e.g. 2026-12-04T10:00:00Z' })
  since?: string;

  @ApiPropertyOptional({ description: 'Admin key only: the tenant whose items to list (tenant keys see their own)' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'tenant must be a tenant id ([a-z0-9_-], 1-63)' })
  tenant?: string;
}

export class ListRunsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({
    description: `Comma-separated statuses to keep: ${RUN_STATUSES.join(', ')}`,
    example: 'succeeded,failed',
  })
  @IsOptional()
  @Transform(commaList)
  @IsIn(RUN_STATUSES, { each: true, message: `status must be a comma-separated list of: ${RUN_STATUSES.join(', ')}` })
  status?: RunStatus[];
}

export class RunSummaryDto implements RunSummary {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: RUN_STATUSES }) status!: RunStatus;
  @ApiProperty({ example: 'busybox:latest' }) image!: string;
  @ApiProperty({ type: [String] }) argv!: string[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) exitCode!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Guest instructions (null until final)' })
  instructions!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Set for the steps of a batch' }) batchId!: string | null;
}

export class RunPageDto {
  @ApiProperty({ type: [RunSummaryDto], description: 'Newest first' }) items!: RunSummaryDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as ?cursor= for the next page; null at the end' })
  nextCursor!: string | null;
}
