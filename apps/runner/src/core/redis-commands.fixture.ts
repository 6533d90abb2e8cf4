import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

/** A command Redis ran as MONITOR shows it: sent by the client, or run by one of its scripts. */
export interface SeenCommand {
  name: string;
  args: string[];
  inScript: boolean;
}

/**
 * Runs `fn` and returns the commands the connection `client` sent meanwhile and the commands its
 * scripts ran (Redis MONITOR, on a connection of its own; other clients are left out).
 */
export async function commandsOf(client: Redis, fn: () => Promise<unknown>): Promise<SeenCommand[]> {
  const info = String(await client.client('INFO'));
  const addr = / addr=(\S+)/.exec(` ${info}`)?.[1];
  if (!addr) throw new Error(`no addr in CLIENT INFO: ${info}`);
  const monitor = await client.monitor();
  const seen: SeenCommand[] = [];
  const sentinel = `lichen-monitor-end-${randomUUID()}`;
  let ours = false;
  let ended: () => void = () => undefined;
  const end = new Promise<void>((resolve) => (ended = resolve));
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0]).toLowerCase();
    if (source === addr) {
      if (name === 'echo' && args[1] === sentinel) return ended();
      seen.push({ name, args: args.slice(1), inScript: false });
      ours = name === 'evalsha' || name === 'eval';
    } else if (source === 'lua') {
      if (ours) seen.push({ name, args: args.slice(1), inScript: true });
    } else {
      ours = false;
    }
  });
  try {
    await fn();
    await client.echo(sentinel);
    await end;
  } finally {
    monitor.disconnect();
  }
  return seen;
}

/** The names of the commands the client itself sent. */
export const sent = (seen: SeenCommand[]): string[] => seen.filter((c) => !c.inScript).map((c) => c.name);
