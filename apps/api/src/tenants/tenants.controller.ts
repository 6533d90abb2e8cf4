import { randomBytes } from 'node:crypto';
import { Body, Controller, Delete, Get, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import type { ServiceContext } from '../../../runner/src/core/context';
import type { Tenant } from '../../../runner/src/core/tenants';
import { ApiError, notFound } from '../common/api-error';
import { AdminOnly } from '../common/auth';
import { CTX } from '../common/tokens';
import { LimitsDto } from '../runs/run.dto';

export class CreateTenantDto {
  @ApiProperty({ example: 'course-os-2026' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'tenant id must be 1-63 of [a-z0-9_-]' })
  id!: string;

  @ApiPropertyOptional({ type: LimitsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => LimitsDto)
  defaultLimits?: LimitsDto;
  @ApiPropertyOptional({ type: LimitsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => LimitsDto)
  maxLimits?: LimitsDto;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) @Max(100_000) concurrency?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) rateLimitPerMinute?: number;
}

const newKey = (): string => `lk_${randomBytes(24).toString('base64url')}`;

@ApiTags('tenants')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/tenants')
export class TenantsController {
  constructor(@Inject(CTX) private readonly ctx: ServiceContext) {}

  @Get()
  @ApiOperation({ summary: 'Tenants (admin)' })
  async list(): Promise<{ tenants: Tenant[] }> {
    return { tenants: await this.ctx.tenants.list() };
  }

  @Post()
  @ApiOperation({ summary: 'Create a tenant and its first API key (shown once; stored hashed)' })
  async create(@Body() dto: CreateTenantDto): Promise<{ tenant: Tenant; apiKey: string }> {
    if (await this.ctx.tenants.exists(dto.id))
      throw new ApiError(409, 'tenant_exists', `tenant ${dto.id} already exists`);
    const { id, ...overrides } = dto;
    const tenant = await this.ctx.tenants.create(id, { ...overrides });
    const apiKey = newKey();
    await this.ctx.tenants.addKey(id, apiKey);
    return { tenant, apiKey };
  }

  @Post(':id/keys')
  @ApiOperation({ summary: 'Issue another API key for a tenant' })
  async addKey(@Param('id') id: string): Promise<{ apiKey: string }> {
    if (!(await this.ctx.tenants.exists(id))) throw notFound('tenant', id);
    const apiKey = newKey();
    await this.ctx.tenants.addKey(id, apiKey);
    return { apiKey };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a tenant (its keys stop working)' })
  async remove(@Param('id') id: string): Promise<{ removed: string }> {
    if (!(await this.ctx.tenants.delete(id))) throw notFound('tenant', id);
    return { removed: id };
  }
}
