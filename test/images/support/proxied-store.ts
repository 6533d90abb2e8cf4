import { S3ImageStore } from '../../../libs/images/src/s3/store';
import type { S3Config } from '../../../libs/images/src/s3/config';
import { FaultProxy } from './fault-proxy';
import { s3ConfigFor, type S3Backend } from './s3-server';

/** A started S3 backend with a fresh bucket, a fault proxy in front of it, and stores on both paths. */
export interface ProxiedStore {
  server: S3Backend;
  proxy: FaultProxy;
  /** Talks to the server directly. */
  direct: S3ImageStore;
  /** Talks through the fault proxy. */
  viaProxy: S3ImageStore;
  stop(): Promise<void>;
}

export async function startProxiedStore(
  backend: { start: () => Promise<S3Backend> },
  over: Partial<S3Config> = {},
): Promise<ProxiedStore> {
  const server = await backend.start();
  const proxy = new FaultProxy({ host: server.host, port: server.port });
  const port = await proxy.start();
  const cfg = s3ConfigFor(server, over);
  const direct = new S3ImageStore(cfg);
  await direct.ensureBucket();
  const viaProxy = new S3ImageStore({ ...cfg, endpoint: `http://127.0.0.1:${port}` });
  return {
    server,
    proxy,
    direct,
    viaProxy,
    stop: async () => {
      await proxy.stop();
      await server.stop();
    },
  };
}
