import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BlobCache,
  LazyBlockDevice,
  parseImageRef,
  S3ImageStore,
  S3RangeReader,
  openLazyBlob,
} from '../../libs/images/src';
import { closedPort, FaultProxy } from './support/fault-proxy';
import { randomFile, tempDir } from './support/fixtures';
import { backends } from './backends';
import { startProxiedStore, type ProxiedStore } from './support/proxied-store';

const BLOB = /\/blobs\/sha256\/[0-9a-f]{64}(\?|$)/;
const SIZE = 600_000;

for (const backend of backends) {
  describe.skipIf(!backend.available)(`fault injection between the store and the S3 server — ${backend.name}`, () => {
    let env: ProxiedStore;
    let proxy: FaultProxy;
    let direct: S3ImageStore;
    let viaProxy: S3ImageStore;
    let digest: string;
    let file: string;
    let cacheDir: string;
    let cache: BlobCache;

    beforeAll(async () => {
      env = await startProxiedStore(backend, { requestTimeoutMs: 400 });
      ({ proxy, direct, viaProxy } = env);
      file = randomFile(tempDir('faults'), 'img.ext4', SIZE);
      digest = (await direct.pushFile(file, parseImageRef('faulty:1'))).manifest.digest;
    });
    afterAll(async () => {
      await env?.stop();
    });
    beforeEach(() => {
      proxy.clearFaults();
      proxy.requests.length = 0;
      cacheDir = tempDir('cache');
      cache = new BlobCache({ dir: cacheDir, maxBytes: 1 << 30, retryBaseDelayMs: 10, stallTimeoutMs: 400 });
    });

    const fetcher = () => ({ open: (d: string) => viaProxy.openBlob(d) });
    /** Nothing but verified blobs under blobs/, no leftovers under tmp/. */
    const assertCacheClean = (expectBlob: boolean) => {
      const blobs = readdirSync(join(cacheDir, 'blobs'));
      expect(blobs).toEqual(expectBlob ? [digest.slice(7)] : []);
      for (const b of blobs) {
        const got = createHash('sha256')
          .update(readFileSync(join(cacheDir, 'blobs', b)))
          .digest('hex');
        expect(`sha256:${got}`).toBe(digest);
      }
      expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([]);
    };

    it('connection refused: a clear error after every attempt, nothing cached', async () => {
      const refused = new S3ImageStore({ ...viaProxy.config, endpoint: `http://127.0.0.1:${await closedPort()}` });
      await expect(cache.get(digest, { open: (d) => refused.openBlob(d) }, { size: SIZE })).rejects.toThrow(
        /download of sha256:[0-9a-f]+ failed after 4 attempts: .*ECONNREFUSED/,
      );
      assertCacheClean(false);
    });

    it('503 then 500 are retried with backoff and the download succeeds', async () => {
      proxy.inject({ kind: 'status', status: 503 }, { path: BLOB });
      proxy.inject({ kind: 'status', status: 500 }, { path: BLOB });
      const r = await cache.get(digest, fetcher(), { size: SIZE });
      expect(r.outcome).toBe('download');
      expect(proxy.count('GET', BLOB)).toBe(3);
      expect(cache.stats.failedAttempts).toBe(2);
      assertCacheClean(true);
    });

    it('a persistent 500 gives a clear error naming the status', async () => {
      proxy.inject({ kind: 'status', status: 500 }, { path: BLOB, times: 10 });
      await expect(cache.get(digest, fetcher(), { size: SIZE })).rejects.toThrow(/failed after 4 attempts: HTTP 500/);
      expect(proxy.count('GET', BLOB)).toBe(4);
      assertCacheClean(false);
    });

    it('a 404 is not retried and says the blob is missing', async () => {
      const missing = `sha256:${'0'.repeat(64)}`;
      await expect(cache.get(missing, fetcher())).rejects.toThrow(/blob sha256:0{64} not found/);
      expect(proxy.count('GET', /\/blobs\//)).toBe(1);
    });

    it('a truncated body is detected, discarded and retried', async () => {
      proxy.inject({ kind: 'truncate', afterBytes: 100_000 }, { path: BLOB, times: 2 });
      const r = await cache.get(digest, fetcher(), { size: SIZE });
      expect(r.outcome).toBe('download');
      expect(proxy.count('GET', BLOB)).toBe(3);
      assertCacheClean(true);
    });

    it('truncation on every attempt fails clearly and leaves no partial file', async () => {
      proxy.inject({ kind: 'truncate', afterBytes: 300_000 }, { path: BLOB, times: 10 });
      await expect(cache.get(digest, fetcher(), { size: SIZE })).rejects.toThrow(/failed after 4 attempts/);
      assertCacheClean(false);
    });

    it('corrupted bytes fail digest verification and are re-downloaded', async () => {
      proxy.inject({ kind: 'corrupt', atByte: 12345 }, { path: BLOB });
      const r = await cache.get(digest, fetcher(), { size: SIZE });
      expect(r.outcome).toBe('download');
      expect(proxy.count('GET', BLOB)).toBe(2);
      assertCacheClean(true);
    });

    it('a server that always sends wrong bytes gives a digest-mismatch error, never a cache entry', async () => {
      proxy.inject({ kind: 'corrupt', atByte: 7 }, { path: BLOB, times: 10 });
      await expect(cache.get(digest, fetcher(), { size: SIZE })).rejects.toThrow(/digest mismatch: expected sha256:/);
      assertCacheClean(false);
    });

    it('slow response headers time out and the retry succeeds', async () => {
      proxy.inject({ kind: 'delayHeaders', ms: 1500 }, { path: BLOB });
      const r = await cache.get(digest, fetcher(), { size: SIZE });
      expect(r.outcome).toBe('download');
      expect(cache.stats.failedAttempts).toBe(1);
      assertCacheClean(true);
    });

    it('a body that stalls mid-transfer times out and the retry succeeds', async () => {
      proxy.inject({ kind: 'stallBody', afterBytes: 200_000, ms: 2000 }, { path: BLOB });
      const r = await cache.get(digest, fetcher(), { size: SIZE });
      expect(r.outcome).toBe('download');
      expect(proxy.count('GET', BLOB)).toBe(2);
      assertCacheClean(true);
    });

    it('a connection reset is retried', async () => {
      proxy.inject({ kind: 'reset' }, { path: BLOB });
      expect((await cache.get(digest, fetcher(), { size: SIZE })).outcome).toBe('download');
      assertCacheClean(true);
    });

    it('manifest reads retry a 503', async () => {
      proxy.inject({ kind: 'status', status: 503 }, { path: /\/tags\/faulty\/1(\?|$)/, times: 2 });
      expect((await viaProxy.getManifest(parseImageRef('faulty:1')))?.digest).toBe(digest);
    });

    it('lazy reads: a corrupted chunk fails its sha256 check and is fetched again', async () => {
      const dev = await openLazyBlob(viaProxy, digest); // 256 KiB chunks: the index written on push
      proxy.inject({ kind: 'corrupt', atByte: 10 }, { method: 'GET', path: BLOB });
      const got = await dev.read(70_000, 1000);
      expect(Buffer.from(got)).toEqual(readFileSync(file).subarray(70_000, 71_000));
      expect(proxy.count('GET', BLOB, (r) => r.range === 'bytes=0-262143')).toBe(2);
      expect(dev.stats.verifiedChunks).toBe(1);
    });

    it('lazy reads: truncated range bodies and 503s are retried; persistent failure is a clear error', async () => {
      const dev = new LazyBlockDevice({
        size: SIZE,
        chunkSize: 64 * 1024,
        reader: new S3RangeReader(viaProxy, digest),
      });
      proxy.inject({ kind: 'truncate', afterBytes: 1000 }, { path: BLOB });
      proxy.inject({ kind: 'status', status: 503 }, { path: BLOB });
      expect(Buffer.from(await dev.read(0, 4096))).toEqual(readFileSync(file).subarray(0, 4096));
      proxy.inject({ kind: 'status', status: 503 }, { path: BLOB, times: 10 });
      await expect(dev.read(300_000, 10)).rejects.toThrow(
        /range read 262144\+65536 of sha256:[0-9a-f]+ failed after 4 attempts: HTTP 503/,
      );
      // The failed chunk is not cached: once the server recovers the read works.
      proxy.clearFaults();
      expect(Buffer.from(await dev.read(300_000, 10))).toEqual(readFileSync(file).subarray(300_000, 300_010));
    });

    it('push retries a failed upload and the multipart path survives a 503 on a part', async () => {
      const big = randomFile(tempDir('push'), 'big.ext4', 11 * 1024 * 1024);
      proxy.inject({ kind: 'status', status: 503 }, { method: 'PUT', path: /partNumber=2/ });
      const r = await viaProxy.pushFile(big, parseImageRef('faulty:big'));
      expect(r.uploaded).toBe(true);
      expect(proxy.count('POST', /\?uploads/)).toBeGreaterThanOrEqual(1);
      expect(proxy.count('PUT', /partNumber=/)).toBeGreaterThanOrEqual(3);
      const c = await cache.get(r.manifest.digest, { open: (d) => direct.openBlob(d) }, { size: r.manifest.size });
      expect(createHash('sha256').update(readFileSync(c.path)).digest('hex')).toBe(r.manifest.digest.slice(7));
    });
  });
}
