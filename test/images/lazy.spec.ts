import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLazyBlob, parseImageRef, resolveImage, S3ImageStore, BlobCache } from '../../libs/images/src';
import { FaultProxy } from './support/fault-proxy';
import { buildExt4Image, tempDir } from './support/fixtures';
import { backends } from './backends';
import { startProxiedStore, type ProxiedStore } from './support/proxied-store';
import { elfInterpreter, readFilesThroughVfs } from './support/vfs-read';

const BLOB = /\/blobs\/sha256\/[0-9a-f]{64}(\?|$)/;

for (const backend of backends) {
  describe.skipIf(!backend.available)(`lazy S3 block device under the ext4 reader — ${backend.name}`, () => {
    let env: ProxiedStore;
    let proxy: FaultProxy;
    let store: S3ImageStore;
    let image: { image: string; tree: string };
    let digest: string;
    let size: number;

    beforeAll(async () => {
      env = await startProxiedStore(backend);
      ({ proxy, viaProxy: store } = env);
      image = buildExt4Image({ sizeMiB: 40, fillerMiB: 2, extraArgs: ['-b', '4096'] });
      const pushed = await store.pushFile(image.image, parseImageRef('lazy:1'));
      digest = pushed.manifest.digest;
      size = pushed.manifest.size;
    });
    afterAll(async () => {
      await env?.stop();
    });

    it('reads /usr/bin/true, its interpreter and libc through the VFS, fetching a small part of the image', async () => {
      proxy.requests.length = 0;
      const dev = await openLazyBlob(store, digest, { size });
      const trueElf = (await readFilesThroughVfs(dev, ['/usr/bin/true'])).get('/usr/bin/true')!;
      const interp = elfInterpreter(trueElf);
      expect(interp).toBe('/lib/ld-linux-aarch64.so.1');
      const files = await readFilesThroughVfs(dev, [interp!, '/lib/aarch64-linux-gnu/libc.so.6']);
      expect(Buffer.from(trueElf).equals(readFileSync(join(image.tree, 'usr/bin/true')))).toBe(true);
      expect(
        Buffer.from(files.get(interp!)!).equals(
          readFileSync(join(image.tree, 'usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1')),
        ),
      ).toBe(true);
      expect(
        Buffer.from(files.get('/lib/aarch64-linux-gnu/libc.so.6')!).equals(
          readFileSync(join(image.tree, 'usr/lib/aarch64-linux-gnu/libc.so.6')),
        ),
      ).toBe(true);
      const s = dev.stats;
      // The device's count matches what crossed the wire: one 256 KiB range per request.
      const ranges = proxy.requests.filter((r) => r.method === 'GET' && BLOB.test(r.url) && r.range);
      expect(ranges).toHaveLength(s.requests);
      expect(s.bytesFetched).toBe(ranges.length * 256 * 1024);
      expect(s.verifiedChunks).toBe(s.requests);
      expect(s.bytesFetched / size).toBeLessThan(0.15);
      await dev.close();
    });

    it('resolveImage with lazy=true opens the same bytes without a download', async () => {
      const r = await resolveImage('lazy:1', { s3: store, lazy: true, env: {} });
      expect(r.origin).toBe('s3-lazy');
      const dev = await r.open();
      const got = await dev.read(1024, 1024);
      expect(Buffer.from(got).equals(readFileSync(image.image).subarray(1024, 2048))).toBe(true);
      expect(r.bytesFetched()).toBe(256 * 1024);
      await dev.close();
    });

    it('lazy with prefetch boots from ranges while the whole image lands in the cache', async () => {
      const cache = new BlobCache({ dir: tempDir('prefetch-cache'), maxBytes: 1 << 30 });
      const r = await resolveImage('lazy:1', { s3: store, cache, lazy: true, prefetch: true, env: {} });
      expect(r.origin).toBe('s3-lazy');
      const dev = await r.open();
      expect(Buffer.from(await dev.read(4096, 100)).equals(readFileSync(image.image).subarray(4096, 4196))).toBe(true);
      await dev.close();
      const done = await r.prefetched;
      expect(done).toMatchObject({ ok: true });
      expect((await resolveImage('lazy:1', { s3: store, cache, lazy: true, env: {} })).origin).toBe('cache');
    });

    it('resolveImage without lazy pulls into the cache once, then hits', async () => {
      const cache = new BlobCache({ dir: tempDir('lazy-cache'), maxBytes: 1 << 30 });
      const a = await resolveImage('lazy:1', { s3: store, cache, env: {} });
      const b = await resolveImage('lazy:1', { s3: store, cache, env: {} });
      expect([a.origin, b.origin]).toEqual(['s3', 'cache']);
      expect(a.bytesFetched()).toBe(size);
      expect(b.bytesFetched()).toBe(0);
      const dev = await b.open();
      expect(dev.size).toBe(size);
      await dev.close();
      // Once the blob is in the cache, lazy mode uses the local copy instead of range reads.
      const c = await resolveImage('lazy:1', { s3: store, cache, lazy: true, env: {} });
      expect(c.origin).toBe('cache');
      expect(c.bytesFetched()).toBe(0);
      await expect(resolveImage('lazy:nope', { s3: store, cache, env: {} })).rejects.toThrow(
        /image lazy:nope not found \(looked in: s3:\/\//,
      );
      await expect(resolveImage('lazy:1', { s3: null, env: {} })).rejects.toThrow(
        /image lazy:1 not found \(looked in: nothing configured\)/,
      );
    });
  });
}
