import { randomBytes } from 'node:crypto';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
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

export class WebhookSecretDto {
  @ApiProperty({ description: 'HMAC-SHA256 key of the Lichen-Signature header (the whole string)', example: 'whsec_…' })
  webhookSecret!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Until when the replaced secret still signs (a second v1); null when there was none',
  })
  previousValidUntil!: string | null;
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
  @ApiOperation({
    summary:
      'Create a tenant, its first API key (shown once; stored hashed) and its webhook signing secret (shown once)',
  })
  async create(@Body() dto: CreateTenantDto): Promise<{ tenant: Tenant; apiKey: string; webhookSecret: string }> {
    if (await this.ctx.tenants.exists(dto.id))
      throw new ApiError(409, 'tenant_exists', `tenant ${dto.id} already exists`);
    const { id, ...overrides } = dto;
    const tenant = await this.ctx.tenants.create(id, { ...overrides });
    const apiKey = newKey();
    await this.ctx.tenants.addKey(id, apiKey);
    const { secret } = await this.ctx.tenants.rotateWebhookSecret(id);
    return { tenant, apiKey, webhookSecret: secret };
  }

  @Post(':id/webhook-secret')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Rotate a tenant's webhook signing secret: returns the new one (shown once); the previous one keeps signing for 24 h",
  })
  @ApiOkResponse({ type: WebhookSecretDto })
  async rotateWebhookSecret(@Param('id') id: string): Promise<WebhookSecretDto> {
    if (!(await this.ctx.tenants.exists(id))) throw notFound('tenant', id);
    const { secret, previousValidUntil } = await this.ctx.tenants.rotateWebhookSecret(id);
    return { webhookSecret: secret, previousValidUntil };
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
