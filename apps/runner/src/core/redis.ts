import Redis from 'ioredis';

/** A Redis connection for the service. BullMQ needs `maxRetriesPerRequest: null` on its own connections. */
export function createRedis(url: string, opts: { forBullmq?: boolean; name?: string } = {}): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: opts.forBullmq ? null : 3,
    enableReadyCheck: true,
    connectionName: opts.name,
    lazyConnect: false,
  });
  quietErrors(r);
  return r;
}

/**
 * ioredis reconnects by itself; without a listener every failed attempt is printed as an
 * "unhandled error event". Commands still fail (and are handled) while Redis is away.
 */
export function quietErrors(r: Redis): Redis {
  r.on('error', () => undefined);
  return r;
}

/** Quits a connection, falling back to disconnect when it is not connected. */
export async function closeRedis(r: Redis): Promise<void> {
  try {
    if (r.status === 'ready') await r.quit();
    else r.disconnect();
  } catch {
    r.disconnect();
  }
}
