import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobCache, parseImageRef, S3ImageStore, type BlobFetcher } from '../../libs/images/src';
import { FaultProxy } from './support/fault-proxy';
import { randomFile, tempDir } from './support/fixtures';
import { backends } from './backends';
import { startProxiedStore, type ProxiedStore } from './support/proxied-store';

const BLOB = /\/blobs\/sha256\/[0-9a-f]{64}(\?|$)/;

/** An in-memory fetcher that counts how often each digest is opened. */
function memoryFetcher(blobs: Map<string, Buffer>): BlobFetcher & { opens: number } {
  const f = {
    opens: 0,
    async open(digest: string) {
      f.opens++;
      const b = blobs.get(digest);
      if (!b) throw new Error('missing');
      await new Promise((r) => setTimeout(r, 20));
      return { body: Readable.from([b.subarray(0, 1000), b.subarray(1000)]), length: b.length };
    },
  };
  return f;
}

function blobOf(size: number, seed: number): [string, Buffer] {
  const b = Buffer.alloc(size, seed);
  b.writeUInt32LE(seed, 0);
  return [`sha256:${createHash('sha256').update(b).digest('hex')}`, b];
}

describe('blob cache (local behaviour)', () => {
  it('concurrent gets of one digest in a process share one download', async () => {
    const [d, b] = blobOf(5000, 1);
    const f = memoryFetcher(new Map([[d, b]]));
    const cache = new BlobCache({ dir: tempDir('c1'), maxBytes: 1e6 });
    const results = await Promise.all(Array.from({ length: 6 }, () => cache.get(d, f)));
    expect(f.opens).toBe(1);
    expect(results.filter((r) => r.outcome === 'download')).toHaveLength(1);
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(readFileSync(results[0]!.path)).toEqual(b);
    expect((await cache.get(d, f)).outcome).toBe('hit');
    expect(cache.stats).toMatchObject({ misses: 1, downloads: 1, shared: 5, hits: 1, bytesDownloaded: 5000 });
  });

  it('evicts least-recently-used blobs above the cap, never the pinned or just-added one', async () => {
    const blobs = new Map([blobOf(4000, 1), blobOf(4000, 2), blobOf(4000, 3), blobOf(4000, 4)]);
    const [d1, d2, d3, d4] = [...blobs.keys()] as [string, string, string, string];
    const f = memoryFetcher(blobs);
    const cache = new BlobCache({ dir: tempDir('c2'), maxBytes: 10_000, evictionGraceMs: 0 });
    await cache.get(d1, f);
    await cache.get(d2, f);
    const old = new Date(Date.now() - 60_000);
    utimesSync(cache.blobPath(d1), old, old);
    utimesSync(cache.blobPath(d2), new Date(Date.now() - 30_000), new Date(Date.now() - 30_000));
    const unpin = cache.pin(d1);
    await cache.get(d3, f); // 12 000 > 10 000: d1 is LRU but pinned, so d2 goes
    expect(existsSync(cache.blobPath(d1))).toBe(true);
    expect(existsSync(cache.blobPath(d2))).toBe(false);
    unpin();
    await cache.get(d4, f); // d1 is now evictable
    expect(existsSync(cache.blobPath(d1))).toBe(false);
    expect(existsSync(cache.blobPath(d3))).toBe(true);
    expect(existsSync(cache.blobPath(d4))).toBe(true);
    expect((await cache.usage()).bytes).toBeLessThanOrEqual(10_000);
    expect(cache.stats.evictions).toBe(2);
  });

  it('a lock left by a dead process is broken and its temporary file removed', async () => {
    const [d, b] = blobOf(3000, 9);
    const dir = tempDir('c3');
    for (const sub of ['blobs', 'tmp', 'locks']) mkdirSync(join(dir, sub), { recursive: true });
    const hex = d.slice(7);
    // pid 2^22+… does not exist; the lock looks fresh, but its owner is gone.
    const deadPid = 4_194_000;
    writeFileSync(
      join(dir, 'locks', `${hex}.lock`),
      JSON.stringify({
        pid: deadPid,
        host: (await import('node:os')).hostname().replace(/[^A-Za-z0-9_-]/g, '_'),
        token: 'x',
      }),
    );
    writeFileSync(
      join(
        dir,
        'tmp',
        `${hex}.${deadPid}.abcd.${(await import('node:os')).hostname().replace(/[^A-Za-z0-9_-]/g, '_')}.part`,
      ),
      'partial',
    );
    const cache = new BlobCache({ dir, maxBytes: 1e6, pollMs: 10 });
    const f = memoryFetcher(new Map([[d, b]]));
    const r = await cache.get(d, f);
    expect(r.outcome).toBe('download');
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(readdirSync(join(dir, 'locks'))).toEqual([]);
  });

  it('a lock whose holder stopped refreshing it is treated as stale', async () => {
    const [d, b] = blobOf(3000, 10);
    const dir = tempDir('c4');
    for (const sub of ['blobs', 'tmp', 'locks']) mkdirSync(join(dir, sub), { recursive: true });
    const lock = join(dir, 'locks', `${d.slice(7)}.lock`);
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: 'some-other-host', token: 'y' }));
    const old = new Date(Date.now() - 5000);
    utimesSync(lock, old, old);
    const cache = new BlobCache({ dir, maxBytes: 1e6, pollMs: 10, lockStaleMs: 1000 });
    expect((await cache.get(d, memoryFetcher(new Map([[d, b]])))).outcome).toBe('download');
  });

  it('rejects a bad digest and a non-positive cap with clear errors', async () => {
    expect(() => new BlobCache({ dir: tempDir('c5'), maxBytes: 0 })).toThrow(/cache size cap must be positive/);
    const cache = new BlobCache({ dir: tempDir('c5'), maxBytes: 10 });
    await expect(cache.get('sha256:xyz', memoryFetcher(new Map()))).rejects.toThrow(/invalid digest "sha256:xyz"/);
  });
});

for (const backend of backends) {
  describe.skipIf(!backend.available)(`blob cache shared by two processes — ${backend.name}`, () => {
    let env: ProxiedStore;
    let proxy: FaultProxy;
    let store: S3ImageStore;

    beforeAll(async () => {
      env = await startProxiedStore(backend);
      ({ proxy, viaProxy: store } = env);
    });
    afterAll(async () => {
      await env?.stop();
    });

    it('two processes pulling the same digest at once download it once', async () => {
      const file = randomFile(tempDir('mp'), 'img.ext4', 3 * 1024 * 1024);
      const { manifest } = await store.pushFile(file, parseImageRef('shared:1'));
      proxy.requests.length = 0;
      // Slow the first download down so the second process surely arrives while it runs.
      proxy.inject({ kind: 'delayHeaders', ms: 600 }, { method: 'GET', path: BLOB });
      const cacheDir = tempDir('mpcache');
      const job = { config: store.config, cacheDir, digest: manifest.digest, size: manifest.size };
      const children: ChildProcess[] = [];
      // Both children start pulling only when both are up.
      let ready = 0;
      const onReady = () => {
        if (++ready === 2) for (const c of children) c.send({ go: job });
      };
      const results = await Promise.all(
        [0, 1].map(
          () =>
            new Promise<{ ok: boolean; outcome?: string; path?: string; error?: string }>((resolve, reject) => {
              const child = fork(join(__dirname, 'support', 'pull-child.ts'), [], {
                execArgv: ['--import', 'tsx'],
                env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
                stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
              });
              children.push(child);
              child.on('message', (m: { ready?: boolean; ok?: boolean }) => {
                if (m.ready) onReady();
                else resolve(m as { ok: boolean });
              });
              child.on('error', reject);
              child.on('exit', (code) => code !== 0 && reject(new Error(`child exited ${code}`)));
            }),
        ),
      );
      for (const c of children) c.kill();
      expect(results.map((r) => r.error)).toEqual([undefined, undefined]);
      expect(results.map((r) => r.outcome).sort()).toEqual(['download', 'shared']);
      expect(proxy.count('GET', BLOB)).toBe(1);
      expect(createHash('sha256').update(readFileSync(results[0]!.path!)).digest('hex')).toBe(manifest.digest.slice(7));
      expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([]);
      expect(readdirSync(join(cacheDir, 'locks'))).toEqual([]);
    });
  });
}
