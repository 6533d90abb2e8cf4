import type Redis from 'ioredis';
import { closeRedis, createRedis } from '../../../runner/src/core/redis';
import type { RunMeta } from '../../../runner/src/core/run-store';
import { RunStore } from '../../../runner/src/core/run-store';

/** How a wait ended: `finished` with the final record when the notice carried it (else null). */
export type WaitResult = { finished: true; meta: RunMeta | null } | { finished: false };

/** One pub/sub subscription for the whole API: resolves `?wait=` requests when their run becomes final. */
export class DoneWaiter {
  private readonly waiters = new Map<string, Set<(meta: RunMeta | null) => void>>();
  /** Ends each pending wait as not finished (see release). */
  private readonly pending = new Set<() => void>();
  private released = false;
  private sub: Redis | null = null;

  constructor(
    private readonly url: string,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.sub = createRedis(this.url, { name: 'lichen-api-done' });
    this.sub.on('message', (_c: string, message: string) => {
      // Every API instance sees every notice: parse only the ones someone here waits for.
      const sp = message.indexOf(' ');
      const set = this.waiters.get(sp < 0 ? message : message.slice(0, sp));
      if (!set) return;
      const { id, meta } = RunStore.doneNotice(message);
      this.waiters.delete(id);
      for (const f of set) f(meta);
    });
    await this.sub.subscribe(this.channel);
  }

  /**
   * Waits for `id` to finish: `done` resolves `finished` on its completion notice (with the
   * record when the notice carried it), not finished after `ms` (or on `cancel`). Call before
   * the run can finish (before queueing it) to miss nothing. Once the waiter is released, a
   * wait ends at once, not finished.
   */
  expect(id: string, ms: number): { done: Promise<WaitResult>; cancel(): void } {
    if (this.released) return { done: Promise.resolve({ finished: false }), cancel: () => undefined };
    let stop: (v: WaitResult) => void = () => undefined;
    const cancel = (): void => stop({ finished: false });
    const done = new Promise<WaitResult>((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const fire = (meta: RunMeta | null): void => stop({ finished: true, meta });
      stop = (v: WaitResult): void => {
        clearTimeout(timer);
        this.pending.delete(cancel);
        set?.delete(fire);
        if (set && set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve(v);
      };
      const timer = setTimeout(() => stop({ finished: false }), ms);
      set.add(fire);
      this.pending.add(cancel);
    });
    return { done, cancel };
  }

  /**
   * The API is stopping: every pending wait ends now, not finished, so its `?wait=` request is
   * answered 202 with the run's id instead of holding the shutdown for up to the wait's length.
   */
  release(): void {
    this.released = true;
    for (const cancel of [...this.pending]) cancel();
  }

  async close(): Promise<void> {
    if (this.sub) await closeRedis(this.sub);
  }
}
