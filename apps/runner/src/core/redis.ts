import Redis from 'ioredis';

/** A Redis connection for the service. BullMQ needs `maxRetriesPerRequest: null` on its own connections. */
export function createRedis(url: string, opts: { forBullmq?: boolean; name?: string } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: opts.forBullmq ? null : 3,
    enableReadyCheck: true,
    connectionName: opts.name,
    lazyConnect: false,
  });
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
