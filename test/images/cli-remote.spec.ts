import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRemoteImages, registerRemoteImageCommands } from '../../apps/cli/src/commands/image-remote';
import type { CliIo } from '../../apps/cli/src/io';
import { LocalImageStore, resolveImage, S3ImageStore } from '../../libs/images/src';
import { buildExt4Image, randomFile, tempDir } from './support/fixtures';
import { s3ConfigFor, type S3Backend } from './support/s3-server';
import { backends } from './backends';

for (const backend of backends) {
  describe.skipIf(!backend.available)(`lichen image push / pull / ls --remote / rm — ${backend.name}`, () => {
    let server: S3Backend;
    let env: NodeJS.ProcessEnv;
    let image: string;

    beforeAll(async () => {
      server = await backend.start();
      const cfg = s3ConfigFor(server);
      await new S3ImageStore(cfg).ensureBucket();
      env = {
        LICHEN_S3_ENDPOINT: cfg.endpoint,
        LICHEN_S3_BUCKET: cfg.bucket,
        LICHEN_S3_ACCESS_KEY_ID: server.accessKeyId,
        LICHEN_S3_SECRET_ACCESS_KEY: server.secretAccessKey,
        LICHEN_S3_FORCE_PATH_STYLE: 'true',
        LICHEN_IMAGE_DIR: tempDir('cli-store'),
        LICHEN_IMAGE_CACHE_DIR: tempDir('cli-cache'),
      };
      image = buildExt4Image({ sizeMiB: 8 }).image;
    });
    afterAll(async () => {
      await server?.stop();
    });

    async function cli(args: string[], over: Partial<CliIo> = {}): Promise<{ out: string; err: string }> {
      let out = '';
      let err = '';
      const io: CliIo = {
        stdout: (t) => void (out += t),
        stderr: (t) => void (err += t),
        isTTY: false,
        env,
        cwd: '/',
        ...over,
      };
      const group = new Command('image').exitOverride();
      registerRemoteImageCommands(group, io);
      group.commands.forEach((c) =>
        c.exitOverride().configureOutput({ writeErr: (t) => void (err += t), writeOut: (t) => void (out += t) }),
      );
      await group.parseAsync(args, { from: 'user' });
      return { out, err };
    }

    it('pushes an ext4 file, lists it, pulls it into the local store and resolves it', async () => {
      const pushed = JSON.parse((await cli(['push', 'tiny:1', '--file', image, '--json'])).out) as {
        digest: string;
        uploaded: boolean;
        size: number;
      };
      expect(pushed.uploaded).toBe(true);
      expect(pushed.size).toBe(8 * 1024 * 1024);

      let listing = '';
      await listRemoteImages(
        { stdout: (t) => void (listing += t), stderr: () => undefined, isTTY: false, env, cwd: '/' },
        {},
      );
      expect(listing).toMatch(/^NAME\s+TAG\s+DIGEST/);
      expect(listing).toMatch(/tiny\s+1\s+sha256:[0-9a-f]{12}\s+8\.0 MiB/);

      const pulled = JSON.parse((await cli(['pull', 'tiny:1', '--json'])).out) as {
        digest: string;
        path: string;
        downloaded: boolean;
      };
      expect(pulled.digest).toBe(pushed.digest);
      expect(pulled.downloaded).toBe(true);
      expect(readFileSync(pulled.path).equals(readFileSync(image))).toBe(true);
      expect((await cli(['pull', 'tiny:1'])).out).toMatch(/tiny:1 is up to date/);

      const local = new LocalImageStore(env.LICHEN_IMAGE_DIR);
      const r = await resolveImage('tiny:1', { local, env });
      expect(r.origin).toBe('local');
      const dev = await r.open();
      expect(dev.size).toBe(8 * 1024 * 1024);
      await dev.close();
    });

    it('pushing from the local store carries its manifest; a second push only moves the tag', async () => {
      const first = JSON.parse((await cli(['push', 'tiny:1', '--json'])).out) as { uploaded: boolean; source: string };
      expect(first.uploaded).toBe(false);
      const again = (await cli(['push', 'tiny:2', '--file', image])).out;
      expect(again).toMatch(/pushed tiny:2 sha256:[0-9a-f]{64} \(8\.0 MiB, blob already in the bucket\)/);
    });

    it('refuses to push a file that is not a sane ext4 image', async () => {
      const junk = randomFile(tempDir('junk'), 'junk.ext4', 65536);
      await expect(cli(['push', 'junk:1', '--file', junk])).rejects.toThrow(
        /not an ext2\/3\/4 filesystem: superblock magic/,
      );
      await expect(cli(['push', 'nothere:1'])).rejects.toThrow(/image nothere:1 is not in the local store/);
    });

    it('rm --remote keeps a blob that another tag uses and reports it', async () => {
      const out1 = JSON.parse((await cli(['rm', '--remote', 'tiny:1', '--json'])).out) as {
        blobDeleted: boolean;
        sharedWith: string[];
      };
      expect(out1).toMatchObject({ blobDeleted: false, sharedWith: ['tiny:2'] });
      expect((await cli(['rm', '--remote', 'tiny:2'])).out).toMatch(/removed tiny:2 .*\(blob deleted\)/);
      await expect(cli(['rm', '--remote', 'tiny:2'])).rejects.toThrow(/image tiny:2 not found/);
    });

    it('gc --remote deletes only unreferenced blobs past the grace period', async () => {
      const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
      const pushed = JSON.parse((await cli(['push', 'orphan:1', '--file', image, '--json'])).out) as { digest: string };
      const store = S3ImageStore.fromEnv(env);
      await store.client.send(
        new DeleteObjectCommand({ Bucket: store.config.bucket, Key: store.tagKey({ name: 'orphan', tag: '1' }) }),
      );
      expect(JSON.parse((await cli(['gc', '--remote', '--json'])).out)).toEqual({ deleted: [] });
      await new Promise((r) => setTimeout(r, 1100));
      expect((await cli(['gc', '--remote', '--grace', '1ms'])).out).toContain(pushed.digest);
      expect(await store.blobSize(pushed.digest)).toBeUndefined();
    });

    it('explains a missing or bad S3 configuration', async () => {
      await expect(cli(['pull', 'x'], { env: {} })).rejects.toThrow(
        /no S3 image store configured: set LICHEN_S3_BUCKET/,
      );
      await expect(
        cli(['pull', 'x'], { env: { LICHEN_S3_BUCKET: 'ok-bucket', LICHEN_S3_MAX_ATTEMPTS: 'lots' } }),
      ).rejects.toThrow(/LICHEN_S3_MAX_ATTEMPTS must be an integer between 1 and 20, got "lots"/);
    });

    it('draws byte progress on a terminal', async () => {
      let err = '';
      await cli(['push', 'tiny:3', '--file', join(image)], { isTTY: true, stderr: (t) => void (err += t) });
      expect(err).toMatch(/push tiny:3: .*MiB \/ 8\.0 MiB/);
    });
  });
}
