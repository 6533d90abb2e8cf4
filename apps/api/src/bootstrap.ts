import 'reflect-metadata';
import type { Server } from 'node:http';
import { ValidationPipe } from '@nestjs/common';
import type { INestApplication, ValidationError } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { LichenConfig } from '../../runner/src/core/config';
import type { ServiceContext } from '../../runner/src/core/context';
import { ApiError } from './common/api-error';
import { addEtags } from './common/etag';
import { acceptBodies } from './common/json-body';
import { observeRequests } from './common/request-log';
import type { Draining } from './common/draining';
import { CTX, DRAINING } from './common/tokens';
import { ApiModule } from './app.module';
import type { ApiModuleOptions } from './app.module';

function flatten(errors: ValidationError[], parent = ''): { field: string; problems: string[] }[] {
  const out: { field: string; problems: string[] }[] = [];
  for (const e of errors) {
    const field = parent
      ? /^\d+$/.test(e.property)
        ? `${parent}[${e.property}]`
        : `${parent}.${e.property}`
      : e.property;
    if (e.constraints) out.push({ field, problems: Object.values(e.constraints) });
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** Builds the API application (not listening yet): body limits, validation, errors, docs. */
export async function createApiApp(
  cfg: LichenConfig,
  opts: ApiModuleOptions & { shutdownHooks?: boolean } = {},
): Promise<INestApplication> {
  // Fastify rather than Express: the same routes cost about half the framework CPU per request
  // (docs/decisions.md, session 15).
  const adapter = new FastifyAdapter({
    trustProxy: true,
    // As with Express: `/v1/runs/` is `/v1/runs`, `/V1/Runs` too (path parameters keep their
    // case), and an overlong path parameter (an image reference) reaches its route's
    // validation instead of a bare 404 at 100 characters.
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false, maxParamLength: 1024 },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(cfg, opts), adapter, {
    // Bodies are ours (common/json-body.ts), not Nest's default parsers.
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  acceptBodies(fastify, cfg.api.bodyLimitBytes);
  addEtags(fastify);
  const ctx = app.get<ServiceContext>(CTX);
  // Once the API is stopping, connections whose response has ended are closed every 50 ms: the
  // HTTP server's close waits for every connection but closes idle ones only when it starts, and
  // one whose request was still being answered would otherwise idle for the keep-alive timeout.
  const server = app.getHttpServer() as Server;
  const sweepIdle = (): void => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    sweep.unref();
    server.once('close', () => clearInterval(sweep));
  };
  app.get<Draining>(DRAINING).signal.addEventListener('abort', sweepIdle, { once: true });
  // Counts and logs every request; PinoLogger.root is nestjs-pino's logger (set once the app initialises).
  observeRequests(fastify, ctx.metrics, () => PinoLogger.root as PinoLogger['logger'] | undefined);
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => {
        const details = flatten(errors);
        const msg = details.map((d) => `${d.field}: ${d.problems.join('; ')}`).join(', ');
        return new ApiError(400, 'validation_failed', `invalid request: ${msg}`, details);
      },
    }),
  );
  const doc = new DocumentBuilder()
    .setTitle('Lichen API')
    .setDescription('Run untrusted aarch64 Linux programs in TypeScript VMs; grade batches of submissions.')
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
  if (opts.shutdownHooks !== false) app.enableShutdownHooks();
  return app;
}
