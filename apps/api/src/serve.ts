import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import type { LichenConfig } from '../../runner/src/core/config';
import { loadConfig } from '../../runner/src/core/config';
import { checkImageStore, closeContext, createContext } from '../../runner/src/core/context';
import type { ServiceContext } from '../../runner/src/core/context';
import { RunnerModule } from '../../runner/src/runner.module';
import type { RunnerOptions } from '../../runner/src/runner-core';
import { createApiApp } from './bootstrap';
import { applyServiceV8Flags } from '../../runner/src/core/v8-flags';

export interface ServeOptions {
  env?: NodeJS.ProcessEnv;
  /** Override the listen port (0 = any free port). */
  port?: number;
  host?: string;
  runner?: RunnerOptions;
}

export interface ServeHandle {
  cfg: LichenConfig;
  url: string;
  api: INestApplication;
  runner: INestApplicationContext;
  context: ServiceContext;
  close(): Promise<void>;
}

/**
 * `lichen serve`: the API and one runner in one process, sharing one context (Redis
 * connections, metrics registry). Without S3 settings it uses the local image store.
 */
export async function startServe(opts: ServeOptions = {}): Promise<ServeHandle> {
  const cfg = loadConfig(opts.env ?? process.env);
  // Set before the first request compiles the request path (see v8-flags.ts).
  applyServiceV8Flags(opts.env ?? process.env);
  if (opts.port !== undefined) cfg.api.port = opts.port;
  if (opts.host !== undefined) cfg.api.host = opts.host;
  const context = createContext(cfg, { app: 'api', env: opts.env });
  try {
    await checkImageStore(context);
  } catch (e) {
    await closeContext(context);
    throw e;
  }
  // The API's /metrics shows everything; the runner's own metrics port is not opened.
  const runner = await NestFactory.createApplicationContext(
    RunnerModule.forRoot(cfg, { ...opts.runner, metricsServer: false, context }),
    {
      bufferLogs: true,
    },
  );
  runner.useLogger(runner.get(Logger));
  await runner.init();
  const api = await createApiApp(cfg, { context, shutdownHooks: false });
  await api.listen(cfg.api.port, cfg.api.host);
  const addr = api.getHttpServer().address() as { port: number } | string;
  const port = typeof addr === 'string' ? cfg.api.port : addr.port;
  const host = cfg.api.host === '0.0.0.0' || cfg.api.host === '::' ? '127.0.0.1' : cfg.api.host;
  return {
    cfg,
    url: `http://${host}:${port}`,
    api,
    runner,
    context,
    async close() {
      await api.close();
      await runner.close();
      await closeContext(context);
    },
  };
}
