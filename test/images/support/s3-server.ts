import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3Config } from '../../../libs/images/src/s3/config';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** A running S3-compatible server for tests. */
export interface S3Backend {
  name: string;
  host: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** Starts s3rver on a random loopback port (or uses LICHEN_S3_ENDPOINT when set). */
export async function startS3rver(): Promise<S3Backend> {
  const external = process.env.LICHEN_S3_ENDPOINT;
  if (external) {
    const u = new URL(external);
    return {
      name: `external ${external}`,
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
      accessKeyId: process.env.LICHEN_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.LICHEN_S3_SECRET_ACCESS_KEY ?? '',
      stop: async () => undefined,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'lichen-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const addr = await server.run();
  return {
    name: 's3rver',
    host: '127.0.0.1',
    port: addr.port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when a Docker engine looks reachable (socket or DOCKER_HOST). */
export function dockerAvailable(): boolean {
  return !!process.env.DOCKER_HOST || existsSync('/var/run/docker.sock');
}

/** Starts MinIO through Testcontainers (only call when dockerAvailable()). */
export async function startMinio(): Promise<S3Backend> {
  const { MinioContainer } = await import('@testcontainers/minio');
  const c = await new MinioContainer().start();
  return {
    name: 'minio',
    host: c.getHost(),
    port: c.getPort(),
    accessKeyId: c.getUsername(),
    secretAccessKey: c.getPassword(),
    stop: async () => {
      await c.stop();
    },
  };
}

let bucketSeq = 0;

/** An S3Config for a backend (optionally through a proxy port), fast retries for tests. */
export function s3ConfigFor(b: S3Backend, over: Partial<S3Config> & { port?: number } = {}): S3Config {
  const { port, ...rest } = over;
  return {
    endpoint: `http://${b.host}:${port ?? b.port}`,
    region: 'us-east-1',
    bucket: `lichen-test-${process.pid}-${++bucketSeq}`,
    prefix: '',
    credentials: { accessKeyId: b.accessKeyId, secretAccessKey: b.secretAccessKey },
    forcePathStyle: true,
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxAttempts: 4,
    retryBaseDelayMs: 20,
    multipartPartSize: 5 * 1024 * 1024,
    multipartQueueSize: 2,
    ...rest,
  };
}
