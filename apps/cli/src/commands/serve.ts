/**
 * `lichen serve`: the REST API and one runner in one process (apps/api startServe), against
 * REDIS_URL and — without LICHEN_S3_* settings — the local image store. Owned by the service
 * (apps/api, apps/runner); loaded lazily so the rest of the CLI never pulls NestJS in.
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { CliIo } from '../io';

interface ServeHandle {
  url: string;
  close(): Promise<void>;
}
interface ServeModule {
  startServe(opts: { env?: NodeJS.ProcessEnv; port?: number; host?: string }): Promise<ServeHandle>;
}

function loadServe(): ServeModule {
  try {
    // Built: node_modules/@lichen/api → apps/api/dist.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@lichen/api') as ServeModule;
  } catch (err) {
    // From sources (tsx): the API's TypeScript entry.
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(join(__dirname, '..', '..', '..', 'api', 'src', 'serve')) as ServeModule;
    } catch {
      throw err;
    }
  }
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port "${text}"`);
  return n;
}

export function serveCommand(io: CliIo): Command {
  return new Command('serve')
    .description('run the Lichen service on this machine: REST API + a runner in one process (Redis required)')
    .addOption(new Option('-p, --port <port>', 'API port (default LICHEN_API_PORT or 8080)').argParser(parsePort))
    .option('--host <address>', 'listen address (default LICHEN_API_HOST or 0.0.0.0)')
    .addHelpText(
      'after',
      `
Configuration comes from the environment (docs/configuration.md): REDIS_URL (default
redis://127.0.0.1:6379), LICHEN_API_KEYS=tenant=key,..., LICHEN_ADMIN_KEY, limits, and
LICHEN_S3_* for S3 (without them, images come from the local store of \`lichen image build\`).

Examples:
  $ LICHEN_API_KEYS=me=0123456789abcdef lichen serve --port 8080
  $ curl -H 'Authorization: Bearer 0123456789abcdef' -H 'content-type: application/json' \\
      -d '{"image":"busybox","argv":["echo","hi"]}' 'http://127.0.0.1:8080/v1/runs?wait=30'`,
    )
    .action(async (flags: { port?: number; host?: string }) => {
      const { startServe } = loadServe();
      const handle = await startServe({ env: io.env, port: flags.port, host: flags.host });
      io.stderr(`lichen: serving on ${handle.url} (OpenAPI at ${handle.url}/docs); Ctrl-C stops\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          io.stderr('lichen: stopping (running VMs get the shutdown grace period)\n');
          handle.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
