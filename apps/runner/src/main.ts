import './core/v8-service';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadConfig } from './core/config';
import type { RunnerOptions } from './runner-core';
import { RunnerModule } from './runner.module';

export { RunnerCore } from './runner-core';
export { RunnerModule } from './runner.module';
export { loadConfig } from './core/config';

/** Starts a runner (Nest application context); resolves once it takes jobs. */
export async function startRunner(env: NodeJS.ProcessEnv = process.env, opts: RunnerOptions = {}) {
  const cfg = loadConfig(env);
  const app = await NestFactory.createApplicationContext(RunnerModule.forRoot(cfg, opts), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.init();
  return app;
}

if (require.main === module) {
  startRunner().catch((e: unknown) => {
    const msg =
      e instanceof ConfigError || (e instanceof Error && e.name === 'S3ConfigError') ? e.message : (e as Error).stack;
    process.stderr.write(`lichen-runner: ${msg}\n`);
    process.exit(1);
  });
}
