import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../../../runner/src/core/context';
import { Public } from '../common/auth';
import { CTX } from '../common/tokens';

async function check(what: () => Promise<unknown>, ms: number): Promise<string> {
  try {
    await Promise.race([
      what(),
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms).unref()),
    ]);
    return 'ok';
  } catch (e) {
    return (e as Error).message || 'failed';
  }
}

@ApiExcludeController()
@Public()
@Controller()
export class HealthController {
  constructor(@Inject(CTX) private readonly ctx: ServiceContext) {}

  @Get('healthz')
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  /** Ready when Redis answers and the image store (S3 bucket or local directory) is reachable. */
  @Get('readyz')
  async readyz(
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<{ status: string; checks: Record<string, string> }> {
    const [redis, images] = await Promise.all([
      check(() => this.ctx.redis.ping(), 2000),
      check(() => this.ctx.catalog.ping(), 3000),
    ]);
    const checks = { redis, [this.ctx.catalog.kind === 's3' ? 's3' : 'imageStore']: images };
    const ok = Object.values(checks).every((v) => v === 'ok');
    void res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }

  @Get('metrics')
  async metrics(@Res() res: FastifyReply): Promise<void> {
    const text = await this.ctx.metrics.text();
    void res.status(200).header('Content-Type', this.ctx.metrics.registry.contentType).send(text);
  }
}
