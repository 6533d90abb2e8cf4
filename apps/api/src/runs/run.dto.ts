import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class FileDto {
  @ApiProperty({
    description: 'Guest path; relative paths are relative to /. Must not escape /.',
    example: '/work/main.sh',
  })
  @IsString()
  @MaxLength(4096)
  path!: string;

  @ApiProperty({ description: 'File content, base64', example: 'ZWNobyBoaQo=' })
  @IsString()
  content!: string;

  @ApiPropertyOptional({ description: 'Permission bits, default 0o644 (420)', example: 493 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(0o7777)
  mode?: number;
}

export class LimitsDto {
  @ApiPropertyOptional({ description: 'Guest instructions' }) @IsOptional() @IsInt() @Min(1) cpuSteps?: number;
  @ApiPropertyOptional({ description: 'Guest memory bytes' }) @IsOptional() @IsInt() @Min(1) memoryBytes?: number;
  @ApiPropertyOptional({ description: 'Wall-clock milliseconds' }) @IsOptional() @IsInt() @Min(1) wallMs?: number;
  @ApiPropertyOptional({ description: 'stdout+stderr bytes' }) @IsOptional() @IsInt() @Min(1) outputBytes?: number;
  @ApiPropertyOptional({ description: 'Live guest tasks' }) @IsOptional() @IsInt() @Min(1) processes?: number;
  @ApiPropertyOptional({ description: 'Open descriptors per process' })
  @IsOptional()
  @IsInt()
  @Min(3)
  openFiles?: number;
  @ApiPropertyOptional({ description: 'Largest file a guest may write' })
  @IsOptional()
  @IsInt()
  @Min(0)
  fileSizeBytes?: number;
}

export class DeterministicDto {
  @ApiProperty({ description: 'Seed of the deterministic clock, randomness and scheduling', example: 42 })
  @IsInt()
  @Min(0)
  @Max(0xffffffff)
  seed!: number;
}

export class CreateRunDto {
  @ApiProperty({ description: 'Image NAME[:TAG], or "scratch" for an empty root', example: 'busybox:latest' })
  @IsString()
  @MaxLength(300)
  image!: string;

  @ApiProperty({
    description: 'argv; argv[0] is the program (absolute or looked up in PATH)',
    example: ['echo', 'hello'],
  })
  @IsArray()
  @IsString({ each: true })
  argv!: string[];

  @ApiPropertyOptional({ description: 'Environment variables', example: { LANG: 'C' } })
  @IsOptional()
  @IsObject()
  env?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Working directory (absolute), default /' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  cwd?: string;

  @ApiPropertyOptional({ description: 'stdin as text (UTF-8)' })
  @IsOptional()
  @IsString()
  stdin?: string;

  @ApiPropertyOptional({ description: 'stdin as base64 (exclusive with stdin)' })
  @IsOptional()
  @IsString()
  stdinBase64?: string;

  @ApiPropertyOptional({ type: [FileDto] })
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FileDto)
  files?: FileDto[];

  @ApiPropertyOptional({ type: LimitsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => LimitsDto)
  limits?: LimitsDto;

  @ApiPropertyOptional({ type: DeterministicDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => DeterministicDto)
  deterministic?: DeterministicDto;

  @ApiPropertyOptional({ description: 'Keep a tar of the files the run created or changed' })
  @IsOptional()
  @IsBoolean()
  artifacts?: boolean;

  @ApiPropertyOptional({ description: 'POSTed the finished run (JSON) once' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  webhookUrl?: string;
}
