import type { RunStore } from '../core/run-store';
import type { ConsoleEvent } from '../core/types';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text when the bytes are valid UTF-8, base64 otherwise. */
export function encodeChunk(b: Uint8Array): { data: string; encoding: 'utf8' | 'base64' } {
  try {
    return { data: utf8.decode(b), encoding: 'utf8' };
  } catch {
    return { data: Buffer.from(b).toString('base64'), encoding: 'base64' };
  }
}

/** Keeps at most `limit` bytes of one output stream for the final result. */
export class BoundedBuffer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(b: Uint8Array): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      if (b.length > 0) this.truncated = true;
      return;
    }
    const take = b.length <= room ? b : b.subarray(0, room);
    if (take.length < b.length) this.truncated = true;
    this.parts.push(take);
    this.size += take.length;
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

/**
 * Streams one attempt's console to the run's Redis stream: chunks of the same stream are
 * coalesced for up to `flushMs`, offsets are byte offsets per stream, and the stream is
 * bounded in bytes and entries (one `truncated` event marks where it stopped).
 */
export class ConsoleSink {
  private pending: { type: 'stdout' | 'stderr'; offset: number; parts: Uint8Array[]; size: number } | null = null;
  private queue: ConsoleEvent[] = [];
  private readonly offsets = { stdout: 0, stderr: 0 };
  private streamedBytes = 0;
  private events = 0;
  private truncated = false;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private failed: Error | null = null;

  constructor(
    private readonly store: RunStore,
    private readonly runId: string,
    private readonly attempt: number,
    private readonly maxBytes: number,
    private readonly maxEvents: number,
    private readonly flushMs = 20,
    private readonly chunkBytes = 64 * 1024,
  ) {}

  push(type: 'stdout' | 'stderr', b: Uint8Array): void {
    const offset = this.offsets[type];
    this.offsets[type] += b.length;
    if (this.truncated || b.length === 0) return;
    const budget = Math.min(this.maxBytes - this.streamedBytes, b.length);
    if (budget <= 0 || this.events >= this.maxEvents - 1) {
      this.cut(type, offset);
      return;
    }
    const take = budget < b.length ? b.subarray(0, budget) : b;
    if (this.pending && (this.pending.type !== type || this.pending.size + take.length > this.chunkBytes)) this.seal();
    if (!this.pending) this.pending = { type, offset, parts: [], size: 0 };
    this.pending.parts.push(take);
    this.pending.size += take.length;
    this.streamedBytes += take.length;
    if (take.length < b.length) this.cut(type, offset + take.length);
    else this.schedule();
  }

  private cut(type: 'stdout' | 'stderr', at: number): void {
    if (this.truncated) return;
    this.seal();
    this.truncated = true;
    this.queue.push({ type: 'truncated', attempt: this.attempt, stream: type, droppedFrom: at });
    this.events++;
    this.schedule(0);
  }

  private seal(): void {
    if (!this.pending) return;
    const { type, offset, parts } = this.pending;
    this.pending = null;
    const { data, encoding } = encodeChunk(Buffer.concat(parts));
    this.queue.push({ type, offset, attempt: this.attempt, data, encoding });
    this.events++;
  }

  private schedule(ms = this.flushMs): void {
    if (this.timer) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushNow();
    }, ms);
  }

  private flushNow(): void {
    this.seal();
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.writing.then(() =>
      this.store.appendEvents(this.runId, batch).catch((e: Error) => {
        this.failed = e;
      }),
    );
  }

  /**
   * Ends the sink without writing what is still queued: waits for the writes in flight and
   * returns the rest, for the caller to send with the run's outcome in one round trip.
   * `failed` is the error of an earlier write, if one failed.
   */
  async drain(): Promise<{ events: ConsoleEvent[]; failed: Error | null }> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.seal();
    await this.writing;
    const events = this.queue;
    this.queue = [];
    return { events, failed: this.failed };
  }
}
