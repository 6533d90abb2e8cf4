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

  /**
   * Waits for `id` to finish: `done` resolves true on its completion notice, false after `ms`
   * (or on `cancel`). Call before the run can finish (before queueing it) to miss nothing.
   */
  expect(id: string, ms: number): { done: Promise<boolean>; cancel(): void } {
    let stop: (v: boolean) => void = () => undefined;
    const done = new Promise<boolean>((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const fire = (): void => stop(true);
      stop = (v: boolean): void => {
        clearTimeout(timer);
        set?.delete(fire);
        if (set && set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve(v);
      };
      const timer = setTimeout(() => stop(false), ms);
      set.add(fire);
    });
    return { done, cancel: () => stop(false) };
  }

  async close(): Promise<void> {
    if (this.sub) await closeRedis(this.sub);
  }
}
