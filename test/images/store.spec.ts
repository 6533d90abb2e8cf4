import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobCache, parseImageRef, S3ImageStore } from '../../libs/images/src';
import { backends } from './backends';
import { randomFile, tempDir } from './support/fixtures';
import { s3ConfigFor, type S3Backend } from './support/s3-server';

const sha = (p: string) => `sha256:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;

for (const backend of backends) {
  describe.skipIf(!backend.available)(`S3 image store against ${backend.name}`, () => {
    let server: S3Backend;
    let store: S3ImageStore;
    let dir: string;

    beforeAll(async () => {
      server = await backend.start();
      store = new S3ImageStore(s3ConfigFor(server));
      await store.ensureBucket();
      dir = tempDir('store');
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('pushes an image, reads its manifest back and lists it', async () => {
      const file = randomFile(dir, 'a.ext4', 300_000);
      const r = await store.pushFile(file, parseImageRef('alpha:1'), { source: 'test', packages: ['coreutils'] });
      expect(r.uploaded).toBe(true);
      expect(r.manifest.digest).toBe(sha(file));
      expect(r.manifest.size).toBe(300_000);
      const m = await store.getManifest(parseImageRef('alpha:1'));
      expect(m).toMatchObject({
        name: 'alpha',
        tag: '1',
        digest: sha(file),
        size: 300_000,
        source: 'test',
        packages: ['coreutils'],
      });
      expect(await store.blobSize(r.manifest.digest)).toBe(300_000);
      expect((await store.list()).map((x) => `${x.name}:${x.tag}`)).toContain('alpha:1');
      expect(await store.getManifest(parseImageRef('alpha:missing'))).toBeUndefined();
    });

    it('uploads a digest only once; a second tag of the same bytes only writes the tag', async () => {
      const file = randomFile(dir, 'b.ext4', 100_000);
      const first = await store.pushFile(file, parseImageRef('beta:1'));
      const second = await store.pushFile(file, parseImageRef('beta:2'));
      expect(first.uploaded).toBe(true);
      expect(second.uploaded).toBe(false);
      expect(second.manifest.digest).toBe(first.manifest.digest);
    });

    it('moves a tag to new bytes while the old digest stays addressable by other tags', async () => {
      const v1 = randomFile(dir, 'c1.ext4', 50_000);
      const v2 = randomFile(dir, 'c2.ext4', 60_000);
      await store.pushFile(v1, parseImageRef('gamma:latest'));
      await store.pushFile(v1, parseImageRef('gamma:v1'));
      await store.pushFile(v2, parseImageRef('gamma:latest'));
      expect((await store.getManifest(parseImageRef('gamma:latest')))?.digest).toBe(sha(v2));
      expect((await store.getManifest(parseImageRef('gamma:v1')))?.digest).toBe(sha(v1));
    });

    it('rm of a tag keeps a blob another tag uses, and deletes it with the last tag', async () => {
      const file = randomFile(dir, 'd.ext4', 80_000);
      const digest = sha(file);
      await store.pushFile(file, parseImageRef('delta:a'));
      await store.pushFile(file, parseImageRef('delta:b'));
      const r1 = await store.remove(parseImageRef('delta:a'));
      expect(r1.blobDeleted).toBe(false);
      expect(r1.sharedWith).toEqual(['delta:b']);
      expect(await store.blobSize(digest)).toBe(80_000);
      const r2 = await store.remove(parseImageRef('delta:b'));
      expect(r2.blobDeleted).toBe(true);
      expect(await store.blobSize(digest)).toBeUndefined();
      expect(await store.getChunkIndex(digest, 256 * 1024)).toBeUndefined();
      await expect(store.remove(parseImageRef('delta:b'))).rejects.toThrow(/image delta:b not found/);
    });

    it('multipart-uploads a large image and pulls it back byte-identical through the cache', async () => {
      const file = randomFile(dir, 'big.ext4', 12 * 1024 * 1024 + 12345);
      const r = await store.pushFile(file, parseImageRef('big:1'));
      const cache = new BlobCache({ dir: tempDir('cache'), maxBytes: 1 << 30 });
      const got = await cache.get(r.manifest.digest, { open: (d) => store.openBlob(d) }, { size: r.manifest.size });
      expect(got.outcome).toBe('download');
      expect(sha(got.path)).toBe(sha(file));
      expect((await cache.get(r.manifest.digest, { open: (d) => store.openBlob(d) })).outcome).toBe('hit');
    });

    it('gc deletes only unreferenced blobs older than the grace period', async () => {
      const keep = randomFile(dir, 'k.ext4', 10_000);
      const orphan = randomFile(dir, 'o.ext4', 10_001);
      await store.pushFile(keep, parseImageRef('eps:keep'));
      await store.pushFile(orphan, parseImageRef('eps:orphan'));
      // Drop only the tag object, leaving the blob unreferenced (as a crashed rm would).
      const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
      await store.client.send(
        new DeleteObjectCommand({ Bucket: store.config.bucket, Key: store.tagKey(parseImageRef('eps:orphan')) }),
      );
      expect(await store.gc({ graceMs: 60_000 })).toEqual([]);
      const deleted = await store.gc({ graceMs: 0, now: new Date(Date.now() + 1000) });
      expect(deleted).toEqual([sha(orphan)]);
      expect(await store.blobSize(sha(keep))).toBe(10_000);
    });

    it('rejects a malformed manifest object with a clear error', async () => {
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await store.client.send(
        new PutObjectCommand({
          Bucket: store.config.bucket,
          Key: 'tags/broken/1',
          Body: '{"schemaVersion":1,"name":"broken"}',
        }),
      );
      await expect(store.getManifest(parseImageRef('broken:1'))).rejects.toThrow(
        /manifest tags\/broken\/1 is malformed: tag/,
      );
      const scan = await store.scanTags();
      expect(scan.unreadable.map((u) => u.key)).toEqual(['tags/broken/1']);
      // With a tag it cannot read, rm keeps blobs and gc refuses rather than guess.
      const file = randomFile(dir, 'u.ext4', 7000);
      await store.pushFile(file, parseImageRef('eta:1'));
      expect((await store.remove(parseImageRef('eta:1'))).blobDeleted).toBe(false);
      await expect(store.gc({ graceMs: 0 })).rejects.toThrow(/gc refused: 1 tag\(s\) have unreadable manifests/);
      const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
      await store.client.send(new DeleteObjectCommand({ Bucket: store.config.bucket, Key: 'tags/broken/1' }));
    });

    it('a prefix keeps two installations apart in one bucket', async () => {
      const other = new S3ImageStore({ ...store.config, prefix: 'other/' }, store.client);
      const file = randomFile(join(dir), 'p.ext4', 5000);
      await other.pushFile(file, parseImageRef('zeta:1'));
      expect((await other.list()).map((m) => m.name)).toEqual(['zeta']);
      expect((await store.list()).map((m) => m.name)).not.toContain('zeta');
    });
  });
}
