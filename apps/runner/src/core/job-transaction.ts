import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { defineRunScripts } from './run-store';

/** A Lua script as BullMQ ships it (bullmq/dist/cjs/scripts). */
interface BullScript {
  name: string;
  content: string;
  keys: number;
}

/**
 * BullMQ's job-adding script and version, from the package's own files. Fails at start-up,
 * clearly, when an upgraded BullMQ moved them.
 */
function bullmqAddJobScript(): { command: string; script: BullScript } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require('bullmq/dist/cjs/version') as { version?: unknown };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const scripts = require('bullmq/dist/cjs/scripts') as Record<string, Partial<BullScript> | undefined>;
  const s = scripts.addStandardJob;
  if (typeof version !== 'string' || !s || typeof s.content !== 'string' || typeof s.keys !== 'number') {
    throw new Error(
      `BullMQ ${String(version)} has no addStandardJob script where Lichen looks for it ` +
        '(apps/runner/src/core/job-transaction.ts must follow the BullMQ upgrade)',
    );
  }
  return { command: `addStandardJob:${version}`, script: s as BullScript };
}

/**
 * Transactions on the service's own Redis connection that BullMQ can add a job to.
 *
 * A run's record and its job are written in one MULTI. On BullMQ's connection every
 * transaction copies all ~65 BullMQ scripts onto a new ioredis Pipeline (about 7% of the API's
 * CPU per run); here the connection has only the one BullMQ script a run's job needs, defined
 * under the name BullMQ calls it by, and the transaction answers BullMQ's `runCommand` the way
 * BullMQ's own transaction wrapper does. It also has the run store's scripts: the run's
 * creation script (RunStore.queueCreate) goes into the same transaction.
 */
export class JobTransactions {
  private readonly command: string;

  constructor(private readonly redis: Redis) {
    const { command, script } = bullmqAddJobScript();
    this.command = command;
    redis.defineCommand(command, { numberOfKeys: script.keys, lua: script.content });
    defineRunScripts(redis);
  }

  begin(): ChainableCommander {
    const m = this.redis.multi();
    const queue = m as unknown as Record<string, (args: unknown[]) => unknown>;
    const runCommand = (name: string, args: unknown[]): ChainableCommander => {
      // A delayed, prioritised or child job needs a script this connection does not have.
      if (name !== this.command) throw new Error(`job transactions take standard jobs only, not ${name}`);
      queue[name](args);
      return m;
    };
    return Object.assign(m, { runCommand });
  }
}
