import { createHash } from 'node:crypto';
import type { BlockDevice } from '@lichen/vfs';
import { withRetry } from '../retry';
import { TransientError, withStallTimeout } from '../stream';
import type { S3ImageStore } from '../s3/store';

/** Reads exact byte ranges of one remote object. */
export interface RangeReader {
  /**
   * Resolves with exactly `length` bytes at `offset`, or rejects. `verify` throws for bad
   * data; a reader retries such a failure like a transfer error.
   */
  readRange(offset: number, length: number, verify?: (data: Uint8Array) => void): Promise<Uint8Array>;
}

export interface LazyDeviceStats {
  /** Bytes received from the remote (the `--stats` figure). */
  bytesFetched: number;
  /** Range requests that completed. */
  requests: number;
  /** Bytes the filesystem asked for. */
  bytesRead: number;
  chunkHits: number;
  chunkMisses: number;
  /** Reads that joined a chunk fetch already in flight. */
  inflightJoins: number;
  /** Chunks checked against the stored per-chunk sha256 index. */
  verifiedChunks: number;
}

export interface LazyBlockDeviceOptions {
  size: number;
  reader: RangeReader;
  /** Fetch granularity in bytes (power of two). Default 256 KiB. */
  chunkSize?: number;
  /** Upper bound of the chunk cache in bytes. Default 64 MiB. */
  maxCachedBytes?: number;
  /** sha256 (hex) of each chunk; when given every fetched chunk is verified. */
  chunkDigests?: readonly string[];
}

/**
 * A read-only BlockDevice over a remote object: reads are served from fixed-size chunks
 * fetched by HTTP range on first use, kept in a bounded LRU cache; concurrent reads of one
 * chunk share one request.
 */
export class LazyBlockDevice implements BlockDevice {
  readonly size: number;
  readonly chunkSize: number;
  readonly stats: LazyDeviceStats = {
    bytesFetched: 0,
    requests: 0,
    bytesRead: 0,
    chunkHits: 0,
    chunkMisses: 0,
    inflightJoins: 0,
    verifiedChunks: 0,
  };
  private readonly reader: RangeReader;
  private readonly maxChunks: number;
  private readonly chunkDigests: readonly string[] | undefined;
  private readonly cache = new Map<number, Uint8Array>();
  private readonly inflight = new Map<number, Promise<Uint8Array>>();
  private closed = false;

  constructor(opts: LazyBlockDeviceOptions) {
    const chunkSize = opts.chunkSize ?? 256 * 1024;
    if (!Number.isInteger(chunkSize) || chunkSize < 512 || (chunkSize & (chunkSize - 1)) !== 0) {
      throw new Error(`lazy device chunk size must be a power of two ≥ 512, got ${chunkSize}`);
    }
    if (!Number.isSafeInteger(opts.size) || opts.size < 0) throw new Error(`invalid device size ${opts.size}`);
    this.size = opts.size;
    this.chunkSize = chunkSize;
    this.reader = opts.reader;
    this.maxChunks = Math.max(1, Math.floor((opts.maxCachedBytes ?? 64 * 1024 * 1024) / chunkSize));
    const expectedChunks = Math.ceil(opts.size / chunkSize);
    if (opts.chunkDigests && opts.chunkDigests.length !== expectedChunks) {
      throw new Error(`chunk index has ${opts.chunkDigests.length} entries, device needs ${expectedChunks}`);
    }
    this.chunkDigests = opts.chunkDigests;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.closed) throw new Error('lazy block device is closed');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`invalid read at ${offset} length ${length}`);
    }
    if (offset + length > this.size) {
      throw new RangeError(`read of ${length} bytes at ${offset} is past the end of the device (${this.size} bytes)`);
    }
    this.stats.bytesRead += length;
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const first = Math.floor(offset / this.chunkSize);
    const last = Math.floor((offset + length - 1) / this.chunkSize);
    const chunks = await Promise.all(Array.from({ length: last - first + 1 }, (_, i) => this.chunk(first + i)));
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i] as Uint8Array;
      const chunkStart = (first + i) * this.chunkSize;
      const from = Math.max(offset, chunkStart) - chunkStart;
      const to = Math.min(offset + length, chunkStart + c.length) - chunkStart;
      out.set(c.subarray(from, to), chunkStart + from - offset);
    }
    return out;
  }

  private chunk(index: number): Promise<Uint8Array> {
    const hit = this.cache.get(index);
    if (hit) {
      this.stats.chunkHits++;
      this.cache.delete(index); // refresh LRU position
      this.cache.set(index, hit);
      return Promise.resolve(hit);
    }
    const running = this.inflight.get(index);
    if (running) {
      this.stats.inflightJoins++;
      return running;
    }
    this.stats.chunkMisses++;
    const start = index * this.chunkSize;
    const len = Math.min(this.chunkSize, this.size - start);
    const want = this.chunkDigests?.[index];
    const verify = (data: Uint8Array) => {
      this.stats.requests++;
      this.stats.bytesFetched += data.length;
      if (data.length !== len)
        throw new TransientError(`range read at ${start} returned ${data.length} of ${len} bytes`);
      if (want !== undefined) {
        const got = createHash('sha256').update(data).digest('hex');
        if (got !== want) {
          throw new TransientError(`chunk ${index} (bytes ${start}-${start + len - 1}) failed sha256 verification`);
        }
        this.stats.verifiedChunks++;
      }
    };
    const p = this.reader
      .readRange(start, len, verify)
      .then((data) => {
        if (!this.closed) {
          this.cache.set(index, data);
          while (this.cache.size > this.maxChunks) {
            const oldest = this.cache.keys().next().value as number;
            this.cache.delete(oldest);
          }
        }
        return data;
      })
      .finally(() => this.inflight.delete(index));
    this.inflight.set(index, p);
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cache.clear();
  }
}

export interface S3RangeReaderOptions {
  attempts?: number;
  retryBaseDelayMs?: number;
  stallTimeoutMs?: number;
}

/** Range reads of one blob in an S3ImageStore, retried with backoff, length-checked. */
export class S3RangeReader implements RangeReader {
  constructor(
    private readonly store: S3ImageStore,
    private readonly digest: string,
    private readonly opts: S3RangeReaderOptions = {},
  ) {}

  readRange(offset: number, length: number, verify?: (data: Uint8Array) => void): Promise<Uint8Array> {
    const cfg = this.store.config;
    return withRetry(
      {
        attempts: this.opts.attempts ?? cfg.maxAttempts,
        baseDelayMs: this.opts.retryBaseDelayMs ?? cfg.retryBaseDelayMs,
        what: `range read ${offset}+${length} of ${this.digest}`,
      },
      async () => {
        const opened = await this.store.openBlob(this.digest, { offset, length });
        if (opened.length !== length) {
          opened.body.destroy?.();
          throw new TransientError(`server answered ${opened.length} bytes for a ${length}-byte range`);
        }
        const out = new Uint8Array(length);
        let at = 0;
        const stall = this.opts.stallTimeoutMs ?? cfg.requestTimeoutMs;
        for await (const piece of withStallTimeout(opened.body, stall, `range read of ${this.digest}`)) {
          if (at + piece.length > length) throw new TransientError('range body longer than requested');
          out.set(piece, at);
          at += piece.length;
        }
        if (at !== length) throw new TransientError(`range body truncated at ${at} of ${length} bytes`);
        verify?.(out);
        return out;
      },
    );
  }
}

export interface OpenLazyOptions {
  chunkSize?: number;
  maxCachedBytes?: number;
  /** Verify chunks against the stored index when one exists for the chunk size. Default true. */
  verify?: boolean;
}

/** Opens a lazily-read device for a blob in the store (size from HEAD unless given). */
export async function openLazyBlob(
  store: S3ImageStore,
  digest: string,
  opts: OpenLazyOptions & { size?: number } = {},
): Promise<LazyBlockDevice> {
  const size = opts.size ?? (await store.blobSize(digest));
  if (size === undefined) throw new Error(`blob ${digest} not found in s3://${store.config.bucket}`);
  const chunkSize = opts.chunkSize ?? 256 * 1024;
  const index = opts.verify === false ? undefined : await store.getChunkIndex(digest, chunkSize);
  if (index && index.size !== size)
    throw new Error(`chunk index of ${digest} describes ${index.size} bytes, blob has ${size}`);
  return new LazyBlockDevice({
    size,
    reader: new S3RangeReader(store, digest),
    chunkSize,
    maxCachedBytes: opts.maxCachedBytes,
    chunkDigests: index?.sha256,
  });
}
