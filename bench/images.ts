/**
 * npm run bench:images
 *
 * 1. Cold-pull throughput from a local S3 server (s3rver on loopback, or LICHEN_S3_ENDPOINT):
 *    Lichen's verified pull (BlobCache: stream, sha256, write, fsync, atomic rename) beside the
 *    raw aws-sdk GetObject of the same object in the same run (to /dev/null and to a file).
 * 2. Lazy mode, as a fraction of the image size:
 *    a. bytes fetched by the lazy S3 block device while the VFS ext4 reader reads the files a
 *       dynamically linked /usr/bin/true needs (the ELF, its PT_INTERP loader and libc.so.6,
 *       each read in full), for 64 KiB, 256 KiB and 1 MiB chunks;
 *    b. the real boot: `lichen run -- /usr/bin/true` on the lazy device (its --stats
 *       imageBytesFetched), when the VM can run it.
 *
 * Image: `debian` from the local store; else built with the debian recipe into a temporary
 * store (uses the apt cache); else a generated tree packed with mke2fs -d (said in the output).
 * Options: --image PATH (use this ext4 file), --runs N (pull repetitions, default 3).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  BlobCache,
  buildImage,
  defaultImageDir,
  LocalImageStore,
  openLazyBlob,
  parseImageRef,
  S3ImageStore,
  type S3Config,
} from '../libs/images/src';
import { buildExt4Image, tempDir } from '../test/images/support/fixtures';
import { s3ConfigFor, startS3rver } from '../test/images/support/s3-server';
import { elfInterpreter, readFilesThroughVfs } from '../test/images/support/vfs-read';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const MB = 1e6;
const fmt = (bytes: number, ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(1)} MB/s`;

async function pickImage(): Promise<{ path: string; what: string }> {
  const given = arg('--image');
  if (given) return { path: given, what: `file ${given}` };
  const local = new LocalImageStore(defaultImageDir()).get('debian');
  if (local) return { path: local.path, what: `debian from the local store (${local.manifest.digest.slice(0, 19)}…)` };
  try {
    const store = new LocalImageStore(tempDir('bench-store'));
    const img = await buildImage('debian', { store });
    return {
      path: img.path,
      what: `debian built now with the debian recipe (${img.manifest.packages.length} packages)`,
    };
  } catch (err) {
    const fx = buildExt4Image({ sizeMiB: 192, fillerMiB: 120, extraArgs: ['-b', '4096'] });
    return {
      path: fx.image,
      what: `generated test image (debian build failed: ${(err as Error).message.split('\n')[0]}): aarch64 cross libc + loader + true, 120 MiB filler, 192 MiB ext4`,
    };
  }
}

/**
 * The real figure: `lichen run --image bench:1 -- /usr/bin/true` in a child process with
 * LICHEN_IMAGE_LAZY=true against the same S3 server and an empty local store, reading
 * imageBytesFetched from its --stats file.
 */
async function bootTrue(cfg: S3Config, imageSize: number): Promise<void> {
  const dir = tempDir('bench-boot');
  const stats = join(dir, 'stats.json');
  const env = {
    ...process.env,
    LICHEN_S3_ENDPOINT: cfg.endpoint,
    LICHEN_S3_BUCKET: cfg.bucket,
    LICHEN_S3_ACCESS_KEY_ID: cfg.credentials?.accessKeyId,
    LICHEN_S3_SECRET_ACCESS_KEY: cfg.credentials?.secretAccessKey,
    LICHEN_S3_FORCE_PATH_STYLE: 'true',
    LICHEN_IMAGE_LAZY: 'true',
    LICHEN_IMAGE_DIR: join(dir, 'store'),
    LICHEN_IMAGE_CACHE_DIR: join(dir, 'cache'),
  };
  const cli = join(__dirname, '..', 'apps', 'cli', 'src', 'main.ts');
  // Asynchronous: the S3 server runs in this process and must keep serving meanwhile.
  const r = await new Promise<{ status: number | null; stderr: string; error?: Error }>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, 'run', '--image', 'bench:1', '--stats', stats, '--', '/usr/bin/true'],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 120_000,
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => resolve({ status: null, stderr, error }));
    child.on('close', (status) => resolve({ status, stderr }));
  });
  let doc: { status?: string; exitCode?: number; imageBytesFetched?: number; instructions?: number } = {};
  try {
    doc = JSON.parse(readFileSync(stats, 'utf8')) as typeof doc;
  } catch {
    // no stats file: the run failed before the VM finished
  }
  if (r.status !== 0 || doc.imageBytesFetched === undefined) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ');
    console.log(`boot of /usr/bin/true through the lazy device: not measured (lichen run exit ${r.status}: ${why})`);
    return;
  }
  const frac = (doc.imageBytesFetched / imageSize) * 100;
  console.log(
    `boot: lichen run --image bench:1 -- /usr/bin/true with LICHEN_IMAGE_LAZY=true (256 KiB chunks): exit ${doc.exitCode}, ${doc.instructions} instructions, ` +
      `fetched ${(doc.imageBytesFetched / MB).toFixed(2)} MB = ${frac.toFixed(2)}% of the image${frac < 10 ? ' (target < 10%)' : '  ← above the 10% target'}`,
  );
}

async function main(): Promise<void> {
  const runs = Number(arg('--runs') ?? 3);
  const image = await pickImage();
  const server = await startS3rver();
  try {
    const cfg = s3ConfigFor(server, { multipartPartSize: 16 * 1024 * 1024, multipartQueueSize: 4 });
    const store = new S3ImageStore(cfg);
    await store.ensureBucket();
    const t0 = Date.now();
    const { manifest } = await store.pushFile(image.path, parseImageRef('bench:1'));
    const pushMs = Date.now() - t0;
    console.log(`image: ${image.what}`);
    console.log(`size: ${(manifest.size / MB).toFixed(1)} MB, ${manifest.digest}`);
    console.log(
      `S3 server: ${server.name} on ${server.host}:${server.port}; push (hash + multipart upload): ${fmt(manifest.size, pushMs)}`,
    );
    console.log('');

    const rawDiscard: number[] = [];
    const rawFile: number[] = [];
    const lichen: number[] = [];
    for (let i = 0; i < runs; i++) {
      // aws-sdk GetObject, body discarded.
      let t = Date.now();
      const r1 = await store.client.send(
        new GetObjectCommand({ Bucket: cfg.bucket, Key: store.blobKey(manifest.digest) }),
      );
      await pipeline(r1.Body as Readable, new Writable({ write: (_c, _e, cb) => cb() }));
      rawDiscard.push(Date.now() - t);
      // aws-sdk GetObject written to a file.
      const dir = tempDir('bench-raw');
      t = Date.now();
      const r2 = await store.client.send(
        new GetObjectCommand({ Bucket: cfg.bucket, Key: store.blobKey(manifest.digest) }),
      );
      await pipeline(r2.Body as Readable, createWriteStream(join(dir, 'blob')));
      rawFile.push(Date.now() - t);
      await rm(dir, { recursive: true, force: true });
      // Lichen cold pull into an empty cache.
      const cacheDir = tempDir('bench-cache');
      const cache = new BlobCache({ dir: cacheDir, maxBytes: 64 * 1024 ** 3 });
      t = Date.now();
      const got = await cache.get(manifest.digest, { open: (d) => store.openBlob(d) }, { size: manifest.size });
      lichen.push(Date.now() - t);
      if (got.outcome !== 'download') throw new Error('expected a cold download');
      await rm(cacheDir, { recursive: true, force: true });
    }
    const best = (xs: number[]) => Math.min(...xs);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    console.log(`cold pull, ${runs} runs each (best / median):`);
    console.log(
      `  aws-sdk GetObject → discard        ${fmt(manifest.size, best(rawDiscard))} / ${fmt(manifest.size, median(rawDiscard))}`,
    );
    console.log(
      `  aws-sdk GetObject → file           ${fmt(manifest.size, best(rawFile))} / ${fmt(manifest.size, median(rawFile))}`,
    );
    console.log(
      `  lichen pull (sha256, fsync, rename) ${fmt(manifest.size, best(lichen))} / ${fmt(manifest.size, median(lichen))}`,
    );
    console.log(`  ratio lichen / raw-to-file (median): ${(median(rawFile) / median(lichen)).toFixed(2)}×`);
    console.log('');

    console.log(
      'lazy mode: ext4 reader over the lazy S3 device reads /usr/bin/true, its PT_INTERP and libc.so.6 in full',
    );
    for (const chunk of [64 * 1024, 256 * 1024, 1024 * 1024]) {
      const dev = await openLazyBlob(store, manifest.digest, { size: manifest.size, chunkSize: chunk });
      const t = Date.now();
      const elf = (await readFilesThroughVfs(dev, ['/usr/bin/true'])).get('/usr/bin/true') as Uint8Array;
      const interp = elfInterpreter(elf);
      if (!interp) throw new Error('/usr/bin/true in the image is static: no PT_INTERP');
      const libc = '/lib/aarch64-linux-gnu/libc.so.6';
      const files = await readFilesThroughVfs(dev, [interp, libc]);
      const ms = Date.now() - t;
      const fileBytes = elf.length + (files.get(interp)?.length ?? 0) + (files.get(libc)?.length ?? 0);
      const s = dev.stats;
      const frac = (s.bytesFetched / manifest.size) * 100;
      console.log(
        `  chunk ${String(chunk / 1024).padStart(4)} KiB: fetched ${(s.bytesFetched / MB).toFixed(2)} MB in ${s.requests} range requests = ${frac.toFixed(2)}% of the image ` +
          `(files read: ${(fileBytes / MB).toFixed(2)} MB; ${s.verifiedChunks} chunks sha256-verified; ${ms} ms)${frac < 10 ? '' : '  ← above the 10% target'}`,
      );
      await dev.close();
    }
    console.log(
      `  interpreter: PT_INTERP of /usr/bin/true; libc path: /lib/aarch64-linux-gnu/libc.so.6 (not from DT_NEEDED/ld.so.cache)`,
    );
    console.log('');
    await bootTrue(cfg, manifest.size);
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
