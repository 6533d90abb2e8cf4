import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes, link } from 'node:fs/promises';
import { digestHex, assertDigest } from '../ref';
import { withRetry } from '../retry';
import { TransientError, withStallTimeout } from '../stream';
import type { OpenedBlob } from '../s3/store';

/** Where blobs come from: one attempt per call, the cache retries. */
export interface BlobFetcher {
  open(digest: string, signal?: AbortSignal): Promise<OpenedBlob>;
}

export interface BlobCacheOptions {
  /** Cache directory (shared by every process on the machine that uses it). */
  dir: string;
  /** Size cap in bytes; least-recently-used blobs are evicted above it. */
  maxBytes: number;
  /** Download attempts (each verified against the digest). Default 4. */
  attempts?: number;
  /** Base backoff between attempts, ms. Default 200. */
  retryBaseDelayMs?: number;
  /** A download with no data for this long is aborted and retried. Default 30 s. */
  stallTimeoutMs?: number;
  /** A lock file not refreshed for this long belongs to a dead process. Default 15 s. */
  lockStaleMs?: number;
  /** Blobs used within this window are never evicted (another process may be opening them). Default 10 s. */
  evictionGraceMs?: number;
  /** How often waiters poll a lock held by another process. Default 50 ms. */
  pollMs?: number;
}

export interface BlobCacheStats {
  hits: number;
  misses: number;
  /** Downloads this process performed (attempts that finished and verified). */
  downloads: number;
  /** Downloads another process or concurrent caller performed that this one waited for. */
  shared: number;
  bytesDownloaded: number;
  failedAttempts: number;
  evictions: number;
  evictedBytes: number;
}

export interface CacheGetOptions {
  /** Expected size (from the manifest); a body of another length is rejected. */
  size?: number;
  onProgress?: (bytes: number, total: number) => void;
  signal?: AbortSignal;
}

export interface CacheGetResult {
  path: string;
  /** 'hit': already cached; 'download': this call downloaded it; 'shared': waited for another download. */
  outcome: 'hit' | 'download' | 'shared';
}

interface LockInfo {
  pid: number;
  host: string;
  token: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Host name safe inside a file name. */
const HOST = hostname().replace(/[^A-Za-z0-9_-]/g, '_');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * On-disk, size-capped LRU cache of content-addressed blobs.
 *
 * - `blobs/<hex>`: verified blobs (mtime = last use, for LRU);
 * - `tmp/<hex>.<pid>.<rand>.part`: downloads in progress (never read);
 * - `locks/<hex>.lock`: one per download in progress, refreshed while it runs.
 *
 * A blob only appears under `blobs/` by an atomic rename after its sha256 and size were
 * checked, so readers never see partial or corrupt data. Concurrent gets of one digest in
 * this process share one promise; across processes the lock file makes others wait for the
 * holder's result. Correctness never depends on the lock: if two processes did download at
 * once, each writes its own temporary file and renames identical verified bytes.
 */
export class BlobCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly stats: BlobCacheStats = {
    hits: 0,
    misses: 0,
    downloads: 0,
    shared: 0,
    bytesDownloaded: 0,
    failedAttempts: 0,
    evictions: 0,
    evictedBytes: 0,
  };
  private readonly opts: Required<Omit<BlobCacheOptions, 'dir' | 'maxBytes'>>;
  private readonly inflight = new Map<string, Promise<CacheGetResult>>();
  private readonly pins = new Map<string, number>();
  private ready: Promise<void> | undefined;

  constructor(options: BlobCacheOptions) {
    if (!(options.maxBytes > 0)) throw new Error(`cache size cap must be positive, got ${options.maxBytes}`);
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.opts = {
      attempts: options.attempts ?? 4,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 200,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      lockStaleMs: options.lockStaleMs ?? 15_000,
      evictionGraceMs: options.evictionGraceMs ?? 10_000,
      pollMs: options.pollMs ?? 50,
    };
  }

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', digestHex(digest));
  }

  private lockPath(digest: string): string {
    return join(this.dir, 'locks', `${digestHex(digest)}.lock`);
  }

  /** Creates the directories and removes temporary files left by dead processes. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      for (const d of ['blobs', 'tmp', 'locks']) await mkdir(join(this.dir, d), { recursive: true });
      const host = HOST;
      for (const name of await readdir(join(this.dir, 'tmp'))) {
        const m = /^[0-9a-f]{64}\.(\d+)\.([0-9a-f]+)\.([^.]+)\.part$/.exec(name);
        const p = join(this.dir, 'tmp', name);
        if (m && m[3] === host && pidAlive(Number(m[1]))) continue;
        const st = await stat(p).catch(() => undefined);
        // Other hosts' files (shared volume) are only removed when clearly abandoned.
        if (m && m[3] !== host && st && Date.now() - st.mtimeMs < this.opts.lockStaleMs * 4) continue;
        await unlink(p).catch(() => undefined);
      }
    })();
    return this.ready;
  }

  /** Path of a cached blob (and marks it used), or undefined. */
  async lookup(digest: string): Promise<string | undefined> {
    await this.init();
    const p = this.blobPath(digest);
    try {
      const now = new Date();
      await utimes(p, now, now);
      return p;
    } catch {
      return undefined;
    }
  }

  /** Keeps a blob from eviction by this process until the returned function is called. */
  pin(digest: string): () => void {
    assertDigest(digest);
    this.pins.set(digest, (this.pins.get(digest) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pins.get(digest) ?? 1) - 1;
      if (n <= 0) this.pins.delete(digest);
      else this.pins.set(digest, n);
    };
  }

  /** Returns the local path of a verified blob, downloading it through `fetcher` if needed. */
  async get(digest: string, fetcher: BlobFetcher, options: CacheGetOptions = {}): Promise<CacheGetResult> {
    assertDigest(digest);
    await this.init();
    const cached = await this.lookup(digest);
    if (cached) {
      this.stats.hits++;
      return { path: cached, outcome: 'hit' };
    }
    const running = this.inflight.get(digest);
    if (running) {
      const r = await running;
      this.stats.shared++;
      return { path: r.path, outcome: r.outcome === 'hit' ? 'hit' : 'shared' };
    }
    this.stats.misses++;
    const p = this.acquireAndFetch(digest, fetcher, options).finally(() => this.inflight.delete(digest));
    this.inflight.set(digest, p);
    return p;
  }

  private async acquireAndFetch(
    digest: string,
    fetcher: BlobFetcher,
    options: CacheGetOptions,
  ): Promise<CacheGetResult> {
    const lockPath = this.lockPath(digest);
    const finalPath = this.blobPath(digest);
    let waited = false;
    while (true) {
      options.signal?.throwIfAborted();
      if (await exists(finalPath)) return { path: finalPath, outcome: waited ? 'shared' : 'hit' };
      const lock = await this.tryLock(lockPath);
      if (lock) {
        try {
          // Someone may have finished between our check and taking the lock.
          if (await exists(finalPath)) return { path: finalPath, outcome: 'shared' };
          await this.download(digest, fetcher, options, lockPath);
          await this.evict(digest);
          return { path: finalPath, outcome: 'download' };
        } finally {
          await this.unlock(lockPath, lock);
        }
      }
      waited = true;
      await this.breakIfStale(lockPath);
      await sleep(this.opts.pollMs);
    }
  }

  private async tryLock(lockPath: string): Promise<LockInfo | undefined> {
    const info: LockInfo = { pid: process.pid, host: HOST, token: randomBytes(8).toString('hex') };
    try {
      const fh = await open(lockPath, 'wx');
      try {
        await fh.writeFile(JSON.stringify(info));
      } finally {
        await fh.close();
      }
      return info;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw err;
    }
  }

  private async unlock(lockPath: string, lock: LockInfo): Promise<void> {
    const text = await readFile(lockPath, 'utf8').catch(() => '');
    if (text.includes(lock.token)) await unlink(lockPath).catch(() => undefined);
  }

  /** Removes a lock whose holder died (same host, pid gone) or stopped refreshing it. */
  private async breakIfStale(lockPath: string): Promise<void> {
    let text: string;
    let mtimeMs: number;
    try {
      text = await readFile(lockPath, 'utf8');
      mtimeMs = (await stat(lockPath)).mtimeMs;
    } catch {
      return; // released meanwhile
    }
    let info: Partial<LockInfo> = {};
    try {
      info = JSON.parse(text) as LockInfo;
    } catch {
      // Being written right now (empty) or garbage: judge by age only.
    }
    const dead = info.host === HOST && typeof info.pid === 'number' && !pidAlive(info.pid);
    const silent = Date.now() - mtimeMs > this.opts.lockStaleMs;
    if (!dead && !silent) return;
    // Move it aside atomically, then make sure we moved the stale lock and not a fresh one.
    const aside = `${lockPath}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(lockPath, aside);
    } catch {
      return;
    }
    const moved = await readFile(aside, 'utf8').catch(() => '');
    if (moved !== text) await link(aside, lockPath).catch(() => undefined); // not ours to break: put back
    await unlink(aside).catch(() => undefined);
  }

  private async download(
    digest: string,
    fetcher: BlobFetcher,
    options: CacheGetOptions,
    lockPath: string,
  ): Promise<void> {
    const hex = digestHex(digest);
    const finalPath = this.blobPath(digest);
    const heartbeat = setInterval(
      () => {
        const now = new Date();
        utimes(lockPath, now, now).catch(() => undefined);
      },
      Math.max(100, Math.floor(this.opts.lockStaleMs / 3)),
    );
    try {
      await withRetry(
        {
          attempts: this.opts.attempts,
          baseDelayMs: this.opts.retryBaseDelayMs,
          what: `download of ${digest}`,
          signal: options.signal,
          onRetry: () => {
            this.stats.failedAttempts++;
          },
        },
        async () => {
          const tmp = join(this.dir, 'tmp', `${hex}.${process.pid}.${randomBytes(6).toString('hex')}.${HOST}.part`);
          try {
            const bytes = await this.fetchOnce(digest, fetcher, tmp, options);
            await rename(tmp, finalPath);
            this.stats.downloads++;
            this.stats.bytesDownloaded += bytes;
          } catch (err) {
            await unlink(tmp).catch(() => undefined);
            throw err;
          }
        },
      );
    } catch (err) {
      this.stats.failedAttempts++;
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** One download attempt into `tmp`, verified; returns the byte count. */
  private async fetchOnce(
    digest: string,
    fetcher: BlobFetcher,
    tmp: string,
    options: CacheGetOptions,
  ): Promise<number> {
    const opened = await fetcher.open(digest, options.signal);
    const expected = options.size ?? opened.length;
    if (options.size !== undefined && opened.length !== options.size) {
      opened.body.destroy?.();
      throw new TransientError(`${digest}: server sent Content-Length ${opened.length}, manifest says ${options.size}`);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const fh = await open(tmp, 'wx');
    try {
      // Network chunks are small (16-64 KiB); batch them into ~1 MiB writes.
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        await fh.writev(pending);
        pending = [];
        pendingBytes = 0;
        options.onProgress?.(bytes, expected);
      };
      for await (const chunk of withStallTimeout(opened.body, this.opts.stallTimeoutMs, `download of ${digest}`)) {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes > expected) throw new TransientError(`${digest}: body longer than ${expected} bytes`);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= 1 << 20) await flush();
      }
      await flush();
      if (bytes !== expected) {
        throw new TransientError(`${digest}: body truncated at ${bytes} of ${expected} bytes`);
      }
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new TransientError(`digest mismatch: expected ${digest}, received ${got}`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return bytes;
  }

  /** Total bytes of cached blobs. */
  async usage(): Promise<{ bytes: number; blobs: number }> {
    await this.init();
    let bytes = 0;
    let blobs = 0;
    for (const name of await readdir(join(this.dir, 'blobs'))) {
      const st = await stat(join(this.dir, 'blobs', name)).catch(() => undefined);
      if (st) {
        bytes += st.size;
        blobs++;
      }
    }
    return { bytes, blobs };
  }

  /**
   * Evicts least-recently-used blobs until the cache fits its cap. `keep` (just added),
   * pinned blobs and blobs used within the grace window are never evicted, so the cache may
   * exceed its cap while they are in use.
   */
  async evict(keep?: string): Promise<void> {
    const dir = join(this.dir, 'blobs');
    const entries: { name: string; size: number; mtimeMs: number }[] = [];
    let total = 0;
    for (const name of await readdir(dir)) {
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (!st) continue;
      entries.push({ name, size: st.size, mtimeMs: st.mtimeMs });
      total += st.size;
    }
    if (total <= this.maxBytes) return;
    entries.sort((a, b) => a.mtimeMs - b.mtimeMs);
    const now = Date.now();
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      const digest = `sha256:${e.name}`;
      if (digest === keep || this.pins.has(digest)) continue;
      if (now - e.mtimeMs < this.opts.evictionGraceMs) continue;
      try {
        await unlink(join(dir, e.name));
        this.stats.evictions++;
        this.stats.evictedBytes += e.size;
      } catch {
        // another process evicted it
      }
      total -= e.size;
    }
  }
}
