import '../../runner/src/core/v8-service';
import { ConfigError, loadConfig } from '../../runner/src/core/config';
import { createApiApp } from './bootstrap';

export { createApiApp } from './bootstrap';
export { ApiModule } from './app.module';
export { loadConfig } from '../../runner/src/core/config';
export { startServe } from './serve';
export type { ServeHandle, ServeOptions } from './serve';

/** Starts the API on the configured host and port. */
export async function startApi(env: NodeJS.ProcessEnv = process.env) {
  const cfg = loadConfig(env);
  const app = await createApiApp(cfg);
  await app.listen(cfg.api.port, cfg.api.host);
  return app;
}

if (require.main === module) {
  startApi().catch((e: unknown) => {
    const msg =
      e instanceof ConfigError || (e instanceof Error && e.name === 'S3ConfigError') ? e.message : (e as Error).stack;
    process.stderr.write(`lichen-api: ${msg}\n`);
    process.exit(1);
  });
}
