import type Redis from 'ioredis';
import { closeRedis, createRedis } from '../../../runner/src/core/redis';

/** One pub/sub subscription for the whole API: resolves `?wait=` requests when their run becomes final. */
export class DoneWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private sub: Redis | null = null;

  constructor(
    private readonly url: string,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.sub = createRedis(this.url, { name: 'lichen-api-done' });
    this.sub.on('message', (_c: string, id: string) => {
      const set = this.waiters.get(id);
      if (!set) return;
      this.waiters.delete(id);
      for (const f of set) f();
    });
    await this.sub.subscribe(this.channel);
  }

  /** Resolves true when `id` finished, false after `ms`. Call `isDone` after subscribing to close the race. */
  wait(id: string, ms: number, isDone: () => Promise<boolean>): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const done = (v: boolean): void => {
        clearTimeout(timer);
        set?.delete(fire);
        if (set && set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve(v);
      };
      const fire = (): void => done(true);
      const timer = setTimeout(() => done(false), ms);
      set.add(fire);
      isDone().then(
        (d) => d && done(true),
        () => undefined,
      );
    });
  }

  async close(): Promise<void> {
    if (this.sub) await closeRedis(this.sub);
  }
}
