import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import type { BatchSummary } from '../../../runner/src/batch/types';
import { commaList, ListQueryDto } from '../runs/list.dto';
import { DeterministicDto, FileDto, LimitsDto } from '../runs/run.dto';

export class SubmissionDto {
  @ApiProperty({ example: 'alice' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { message: 'submission id must be 1-64 of [A-Za-z0-9_.-]' })
  id!: string;

  @ApiProperty({ type: [FileDto] })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FileDto)
  files!: FileDto[];
}

export class BuildDto {
  @ApiProperty({
    description: 'Build command, run once per submission; its file changes are given to every case',
    example: ['gcc', '-O2', '-o', '/work/a.out', '/work/main.c'],
  })
  @IsArray()
  @IsString({ each: true })
  argv!: string[];

  @ApiPropertyOptional({ type: LimitsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => LimitsDto)
  limits?: LimitsDto;
}

export class CaseDto {
  @ApiProperty({ example: 'sample-1' })
  @IsString()
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f]{1,128}$/, { message: 'case name must be 1-128 printable characters' })
  name!: string;

  @ApiProperty({ example: ['/work/a.out'] })
  @IsArray()
  @IsString({ each: true })
  argv!: string[];

  @ApiPropertyOptional({ description: 'stdin as text' })
  @IsOptional()
  @IsString()
  stdin?: string;

  @ApiPropertyOptional({ description: 'stdin as base64' })
  @IsOptional()
  @IsString()
  stdinBase64?: string;

  @ApiPropertyOptional({ description: 'Expected stdout as text' })
  @IsOptional()
  @IsString()
  expected?: string;

  @ApiPropertyOptional({ description: 'Expected stdout as base64' })
  @IsOptional()
  @IsString()
  expectedBase64?: string;

  @ApiPropertyOptional({ enum: ['exact', 'trim', 'tokens', 'checker'], default: 'trim' })
  @IsOptional()
  @IsIn(['exact', 'trim', 'tokens', 'checker'])
  compare?: 'exact' | 'trim' | 'tokens' | 'checker';

  @ApiPropertyOptional({
    description:
      'Checker command (compare=checker); gets input, output and expected file paths appended; exit 0 accepted, 1 wrong answer',
  })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  checkerArgv?: string[];
}

export class CreateBatchDto {
  @ApiProperty({ example: 'debian:bookworm' })
  @IsString()
  @MaxLength(300)
  image!: string;

  @ApiProperty({ type: [SubmissionDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => SubmissionDto)
  submissions!: SubmissionDto[];

  @ApiPropertyOptional({ type: BuildDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => BuildDto)
  build?: BuildDto;

  @ApiProperty({ type: [CaseDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => CaseDto)
  cases!: CaseDto[];

  @ApiPropertyOptional({ type: [FileDto], description: 'Files for the checker runs (e.g. the checker program)' })
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FileDto)
  checkerFiles?: FileDto[];

  @ApiPropertyOptional({ description: 'Environment of every step' })
  @IsOptional()
  @IsObject()
  env?: Record<string, string>;

  @ApiPropertyOptional({ type: LimitsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => LimitsDto)
  limits?: LimitsDto;

  @ApiPropertyOptional({
    type: DeterministicDto,
    description: 'Default: deterministic with seed 0 (grading must not flap)',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => DeterministicDto)
  deterministic?: DeterministicDto;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  stopOnFirstFailure?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  webhookUrl?: string;
}

export const BATCH_STATUSES = ['running', 'completed'] as const;

export class ListBatchesQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ description: 'Comma-separated statuses to keep: running, completed', example: 'completed' })
  @IsOptional()
  @Transform(commaList)
  @IsIn(BATCH_STATUSES, { each: true, message: 'status must be a comma-separated list of: running, completed' })
  status?: ('running' | 'completed')[];
}

export class BatchProgressDto {
  @ApiProperty() total!: number;
  @ApiProperty() done!: number;
  @ApiProperty() pending!: number;
}

export class BatchSummaryDto implements BatchSummary {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: BATCH_STATUSES }) status!: 'running' | 'completed';
  @ApiProperty({ example: 'busybox:latest' }) image!: string;
  @ApiProperty({ format: 'date-time', description: 'Creation (or latest regrade) time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt!: string | null;
  @ApiProperty({ description: 'Regrade generation (1 = never regraded)' }) generation!: number;
  @ApiProperty({ type: BatchProgressDto }) progress!: BatchProgressDto;
}

export class BatchPageDto {
  @ApiProperty({ type: [BatchSummaryDto], description: 'Newest first' }) items!: BatchSummaryDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as ?cursor= for the next page; null at the end' })
  nextCursor!: string | null;
}
