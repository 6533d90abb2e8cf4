import { stat } from 'node:fs/promises';
import type { BlockDevice } from '@lichen/vfs';
import { BlobCache, type CacheGetResult } from './cache/blob-cache';
import { loadImageCacheConfig } from './cache/config';
import { OpenFileDevice } from './file-device';
import { openLazyBlob, type LazyBlockDevice } from './lazy/lazy-block-device';
import { formatImageRef, parseImageRef, type ImageRef } from './ref';
import { isS3Configured } from './s3/config';
import type { RemoteManifest } from './s3/manifest';
import { S3ImageStore } from './s3/store';

/** What a local image store must answer for the resolver (implemented by the local store). */
export interface LocalImageLookup {
  /** The ext4 file of NAME:TAG in the local store, or undefined. */
  lookup(ref: ImageRef): Promise<{ path: string; digest?: string; size?: number } | undefined>;
}

export interface ResolveOptions {
  /** Local store consulted first; omit or null to skip. */
  local?: LocalImageLookup | null;
  /** S3 store; default: from LICHEN_S3_* when configured, null disables S3. */
  s3?: S3ImageStore | null;
  /** Blob cache for pulled images; default from LICHEN_IMAGE_CACHE_*. */
  cache?: BlobCache;
  /** Read S3 images lazily by range instead of pulling them (default LICHEN_IMAGE_LAZY). */
  lazy?: boolean;
  /** Chunk size and cache bound of lazy devices. */
  lazyChunkBytes?: number;
  lazyCacheBytes?: number;
  /**
   * With lazy: also pull the whole image into the cache in the background, so later runs
   * use the local copy (the lazy device keeps serving this run meanwhile).
   */
  prefetch?: boolean;
  env?: NodeJS.ProcessEnv;
  onProgress?: (bytes: number, total: number) => void;
}

export interface ResolvedImage {
  ref: ImageRef;
  /** local: the local store; cache/s3: pulled into the runner cache (hit or download); s3-lazy: range reads. */
  origin: 'local' | 'cache' | 's3' | 's3-lazy';
  /** Local file (not for s3-lazy). */
  path?: string;
  digest?: string;
  size: number;
  manifest?: RemoteManifest;
  /** Opens the image as a read-only block device (close it when done). */
  open(): Promise<BlockDevice>;
  /** Bytes fetched from S3 for this image so far (download or lazy ranges). */
  bytesFetched(): number;
  /** With lazy + prefetch: the background pull (resolves with its outcome, never rejects). */
  prefetched?: Promise<{ ok: true; path: string } | { ok: false; error: string }>;
}

/** Thrown when an image is in neither the local store nor S3. */
export class ImageNotFoundError extends Error {
  constructor(
    readonly ref: string,
    where: string[],
  ) {
    super(`image ${ref} not found (looked in: ${where.join(', ') || 'nothing configured'})`);
    this.name = 'ImageNotFoundError';
  }
}

/**
 * Finds NAME[:TAG]: the local store first, then S3 when configured. S3 images are pulled
 * into the verified blob cache, or opened lazily by range when `lazy` is set.
 */
export async function resolveImage(refText: string, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const ref = parseImageRef(refText);
  const env = opts.env ?? process.env;
  const looked: string[] = [];
  if (opts.local) {
    looked.push('local store');
    const hit = await opts.local.lookup(ref);
    if (hit) {
      const path = hit.path;
      return {
        ref,
        origin: 'local',
        path,
        digest: hit.digest,
        size: hit.size ?? (await stat(path)).size,
        open: () => OpenFileDevice.open(path),
        bytesFetched: () => 0,
      };
    }
  }
  const s3 = opts.s3 === undefined ? (isS3Configured(env) ? S3ImageStore.fromEnv(env) : null) : opts.s3;
  if (!s3) throw new ImageNotFoundError(formatImageRef(ref), looked);
  looked.push(`s3://${s3.config.bucket}/${s3.config.prefix}`);
  const manifest = await s3.getManifest(ref);
  if (!manifest) throw new ImageNotFoundError(formatImageRef(ref), looked);

  const cacheCfg = loadImageCacheConfig(env);
  const cache = opts.cache ?? new BlobCache({ dir: cacheCfg.dir, maxBytes: cacheCfg.maxBytes });
  const lazy = opts.lazy ?? cacheCfg.lazy;
  // Lazy mode only pays off when the image is not on disk already.
  const fetcher = { open: (d: string, signal?: AbortSignal) => s3.openBlob(d, undefined, signal) };
  if (lazy && !(await cache.lookup(manifest.digest))) {
    let device: LazyBlockDevice | undefined;
    const prefetched = opts.prefetch
      ? cache.get(manifest.digest, fetcher, { size: manifest.size }).then(
          (r) => ({ ok: true as const, path: r.path }),
          (err: unknown) => ({ ok: false as const, error: (err as Error).message }),
        )
      : undefined;
    return {
      prefetched,
      ref,
      origin: 's3-lazy',
      digest: manifest.digest,
      size: manifest.size,
      manifest,
      open: async () => {
        const d = await openLazyBlob(s3, manifest.digest, {
          size: manifest.size,
          chunkSize: opts.lazyChunkBytes ?? cacheCfg.lazyChunkBytes,
          maxCachedBytes: opts.lazyCacheBytes ?? cacheCfg.lazyCacheBytes,
        });
        device = d;
        return d;
      },
      bytesFetched: () => device?.stats.bytesFetched ?? 0,
    };
  }

  const before = cache.stats.bytesDownloaded;
  const got: CacheGetResult = await cache.get(manifest.digest, fetcher, {
    size: manifest.size,
    onProgress: opts.onProgress,
  });
  const fetched = cache.stats.bytesDownloaded - before;
  return {
    ref,
    origin: got.outcome === 'hit' ? 'cache' : 's3',
    path: got.path,
    digest: manifest.digest,
    size: manifest.size,
    manifest,
    open: async () => {
      const unpin = cache.pin(manifest.digest);
      try {
        return await OpenFileDevice.open(got.path, unpin);
      } catch (err) {
        unpin();
        throw err;
      }
    },
    bytesFetched: () => fetched,
  };
}
