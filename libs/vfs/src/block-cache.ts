/**
 * A bounded LRU cache of filesystem blocks over a BlockDevice. Concurrent misses of one
 * block share one device read.
 */
import type { BlockDevice } from './block-device';

export class BlockCache {
  private readonly map = new Map<number, Uint8Array>();
  private readonly pending = new Map<number, Promise<Uint8Array>>();
  hits = 0;
  misses = 0;

  constructor(
    readonly dev: BlockDevice,
    readonly blockSize: number,
    /** Maximum number of cached blocks. */
    readonly capacity: number,
  ) {}

  get(block: number): Promise<Uint8Array> {
    const b = this.map.get(block);
    if (b) {
      this.hits++;
      // LRU: move to the end.
      this.map.delete(block);
      this.map.set(block, b);
      return Promise.resolve(b);
    }
    const p = this.pending.get(block);
    if (p) return p;
    this.misses++;
    const q = this.dev.read(block * this.blockSize, this.blockSize).then(
      (data) => {
        this.pending.delete(block);
        this.map.set(block, data);
        if (this.map.size > this.capacity) {
          const first = this.map.keys().next().value;
          if (first !== undefined) this.map.delete(first);
        }
        return data;
      },
      (e: unknown) => {
        this.pending.delete(block);
        throw e;
      },
    );
    this.pending.set(block, q);
    return q;
  }

  /** Cached copy without I/O (or undefined). */
  peek(block: number): Uint8Array | undefined {
    return this.map.get(block);
  }

  get size(): number {
    return this.map.size;
  }
}
