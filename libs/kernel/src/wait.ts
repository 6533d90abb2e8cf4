/**
 * Wait queues: how a blocked task (an async syscall awaiting) is woken. A sleep ends when a
 * queue it is on is woken, its deadline passes, or a signal interrupts it (ERESTARTSYS).
 */
export type Waker = () => void;

export class WaitQueue {
  private readonly waiters = new Set<Waker>();
  /** Incremented on every wake: edge-triggered epoll reports a ready file again after a new event. */
  seq = 0;
  add(w: Waker): void {
    this.waiters.add(w);
  }
  remove(w: Waker): void {
    this.waiters.delete(w);
  }
  get size(): number {
    return this.waiters.size;
  }
  /** Wakes every waiter (they re-check their condition). */
  wakeAll(): void {
    this.seq++;
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) w();
  }
}
