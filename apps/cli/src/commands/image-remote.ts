/**
 * `lichen image push | pull | rm` and the remote half of `lichen image ls --remote`: images
 * in the S3 store (LICHEN_S3_*). Registered on H5's `image` command group by
 * registerRemoteImageCommands(); `ls` belongs to that group and calls listRemoteImages()
 * for `--remote`.
 */
import { copyFile, link, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  BlobCache,
  defaultImageDir,
  formatImageRef,
  isS3Configured,
  LocalImageStore,
  parseImageRef,
  S3ImageStore,
  validateExt4Image,
  loadImageCacheConfig,
  type RemoteManifest,
} from '@lichen/images';
import { Command } from 'commander';
import type { CliIo } from '../io';
import { formatBytes, parseDuration } from '../parse';
import { formatTable } from './image';

/** Opens the S3 store from the environment, or explains how to configure it. */
export function remoteStore(io: CliIo): S3ImageStore {
  if (!isS3Configured(io.env)) {
    throw new Error(
      'no S3 image store configured: set LICHEN_S3_BUCKET (and LICHEN_S3_ENDPOINT for a non-AWS server); see docs/configuration.md',
    );
  }
  return S3ImageStore.fromEnv(io.env);
}

/** A byte-progress line on stderr, redrawn in place on a terminal and silent otherwise. */
export function byteProgress(
  io: CliIo,
  label: string,
  quiet = false,
): { update: (bytes: number, total: number) => void; done: () => void } {
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(bytes, total) {
      if (quiet || !io.isTTY) return;
      const now = Date.now();
      if (now - last < 100 && bytes < total) return;
      last = now;
      const secs = Math.max((now - started) / 1000, 0.001);
      const pct = total > 0 ? ` ${Math.floor((bytes / total) * 100)}%` : '';
      io.stderr(
        `\r\x1b[2K${label}: ${formatBytes(bytes)} / ${formatBytes(total)}${pct} (${(bytes / secs / 1e6).toFixed(1)} MB/s)`,
      );
      drawn = true;
    },
    done() {
      if (drawn) io.stderr('\r\x1b[2K');
      drawn = false;
    },
  };
}

function manifestRow(m: RemoteManifest): string[] {
  return [
    m.name,
    m.tag,
    m.digest.slice(0, 'sha256:'.length + 12),
    formatBytes(m.size),
    m.created.replace(/\.\d+Z$/, 'Z'),
    String(m.packages.length),
  ];
}

/** The `lichen image ls --remote` listing (text table or --json). */
export async function listRemoteImages(io: CliIo, opts: { json?: boolean }): Promise<void> {
  const store = remoteStore(io);
  const { manifests, unreadable } = await store.scanTags();
  for (const u of unreadable) io.stderr(`lichen: warning: ${u.error}\n`);
  if (opts.json) {
    io.stdout(`${JSON.stringify(manifests, null, 2)}\n`);
    return;
  }
  if (manifests.length === 0) {
    io.stdout(
      `no images in s3://${store.config.bucket}/${store.config.prefix} (push one: lichen image push busybox)\n`,
    );
    return;
  }
  io.stdout(formatTable(['NAME', 'TAG', 'DIGEST', 'SIZE', 'CREATED', 'PACKAGES'], manifests.map(manifestRow)));
}

interface PushFlags {
  file?: string;
  json?: boolean;
  quiet?: boolean;
}

async function push(io: CliIo, refText: string, flags: PushFlags): Promise<void> {
  const ref = parseImageRef(refText);
  const store = remoteStore(io);
  const cacheCfg = loadImageCacheConfig(io.env);
  let path: string;
  let meta: { source?: string; packages?: string[]; created?: string } = {};
  if (flags.file) {
    path = resolve(io.cwd, flags.file);
    meta = { source: `file:${flags.file}` };
  } else {
    const local = new LocalImageStore(defaultImageDir(io.env)).get(ref);
    if (!local) {
      throw new Error(
        `image ${formatImageRef(ref)} is not in the local store (build it with 'lichen image build', or push a file with --file PATH)`,
      );
    }
    path = local.path;
    meta = { source: local.manifest.source, packages: local.manifest.packages, created: local.manifest.created };
  }
  // Refuse what the API would refuse: a bad or oversized ext4 image never reaches the bucket.
  await validateExt4Image(path, { maxBytes: cacheCfg.maxImageBytes });
  const progress = byteProgress(io, `push ${formatImageRef(ref)}`, flags.quiet);
  let result;
  try {
    result = await store.pushFile(path, ref, { ...meta, onProgress: (p) => progress.update(p.bytes, p.total) });
  } finally {
    progress.done();
  }
  const m = result.manifest;
  if (flags.json) io.stdout(`${JSON.stringify({ ...m, uploaded: result.uploaded }, null, 2)}\n`);
  else {
    io.stdout(
      `pushed ${m.name}:${m.tag} ${m.digest} (${formatBytes(m.size)}${result.uploaded ? '' : ', blob already in the bucket'}) to s3://${store.config.bucket}/${store.config.prefix}\n`,
    );
  }
}

async function pull(io: CliIo, refText: string, flags: { json?: boolean; quiet?: boolean }): Promise<void> {
  const ref = parseImageRef(refText);
  const store = remoteStore(io);
  const manifest = await store.getManifest(ref);
  if (!manifest)
    throw new Error(`image ${formatImageRef(ref)} not found in s3://${store.config.bucket}/${store.config.prefix}`);
  const local = new LocalImageStore(defaultImageDir(io.env));
  const have = local.get(ref);
  if (have && have.manifest.digest === manifest.digest) {
    if (flags.json) io.stdout(`${JSON.stringify({ ...have.manifest, path: have.path, downloaded: false }, null, 2)}\n`);
    else io.stdout(`${formatImageRef(ref)} is up to date (${manifest.digest})\n${have.path}\n`);
    return;
  }
  // Download through the verified cache (shared with runners on this machine), then copy
  // into the local store, which renames it into place.
  const cfg = loadImageCacheConfig(io.env);
  const cache = new BlobCache({ dir: cfg.dir, maxBytes: cfg.maxBytes });
  const progress = byteProgress(io, `pull ${formatImageRef(ref)}`, flags.quiet);
  let got;
  try {
    got = await cache.get(
      manifest.digest,
      { open: (d, signal) => store.openBlob(d, undefined, signal) },
      {
        size: manifest.size,
        onProgress: progress.update,
      },
    );
  } finally {
    progress.done();
  }
  const scratch = join(local.scratchDir(), `pull-${process.pid}-${Date.now()}.ext4`);
  try {
    // A hard link when the cache and the store share a filesystem (both files are immutable
    // and the cache only ever unlinks its own name); a copy otherwise.
    await link(got.path, scratch).catch(() => copyFile(got.path, scratch));
    const img = await local.add(scratch, {
      name: ref.name,
      tag: ref.tag,
      source: manifest.source,
      packages: manifest.packages,
      created: manifest.created,
    });
    if (img.manifest.digest !== manifest.digest) {
      throw new Error(`pulled file has digest ${img.manifest.digest}, manifest says ${manifest.digest}`);
    }
    if (flags.json)
      io.stdout(`${JSON.stringify({ ...img.manifest, path: img.path, downloaded: got.outcome !== 'hit' }, null, 2)}\n`);
    else io.stdout(`pulled ${formatImageRef(ref)} ${manifest.digest} (${formatBytes(manifest.size)})\n${img.path}\n`);
  } finally {
    await rm(scratch, { force: true });
  }
}

async function remove(io: CliIo, refText: string, flags: { json?: boolean }): Promise<void> {
  const ref = parseImageRef(refText);
  const store = remoteStore(io);
  const r = await store.remove(ref);
  if (flags.json) {
    io.stdout(
      `${JSON.stringify({ removed: formatImageRef(ref), digest: r.manifest.digest, blobDeleted: r.blobDeleted, sharedWith: r.sharedWith }, null, 2)}\n`,
    );
    return;
  }
  const why = r.blobDeleted
    ? 'blob deleted'
    : r.sharedWith.length > 0
      ? `blob kept: still used by ${r.sharedWith.join(', ')}`
      : 'blob kept: some tags could not be read (run gc later)';
  io.stdout(`removed ${formatImageRef(ref)} from s3://${store.config.bucket}/${store.config.prefix} (${why})\n`);
}

async function gc(io: CliIo, flags: { grace: number; json?: boolean }): Promise<void> {
  const store = remoteStore(io);
  const deleted = await store.gc({ graceMs: flags.grace });
  if (flags.json) io.stdout(`${JSON.stringify({ deleted }, null, 2)}\n`);
  else if (deleted.length === 0) io.stdout('no unreferenced blobs to delete\n');
  else io.stdout(`deleted ${deleted.length} unreferenced blob(s):\n${deleted.map((d) => `  ${d}\n`).join('')}`);
}

/**
 * Adds `push`, `pull`, `rm --remote` and `gc --remote` to the `image` command group. `ls --remote` stays with the
 * group's own `ls`, which calls listRemoteImages().
 */
export function registerRemoteImageCommands(image: Command, io: CliIo): void {
  image
    .command('push')
    .description('upload an image to the S3 store (from the local store, or an ext4 file with --file)')
    .argument('<name[:tag]>', 'image reference; tag defaults to latest')
    .option('--file <path>', 'push this ext4 file instead of the local store image')
    .option('--json', 'print the pushed manifest as JSON')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The image is checked (ext4 superblock, group descriptors, size ≤ LICHEN_IMAGE_MAX_BYTES) and
uploaded once per digest (multipart for large files); the tag then points at it.

Examples:
  $ lichen image push busybox
  $ lichen image push team/python:3.11 --file ./python.ext4 --json`,
    )
    .action((ref: string, flags: PushFlags) => push(io, ref, flags));

  image
    .command('pull')
    .description('download an image from the S3 store into the local store (verified by digest)')
    .argument('<name[:tag]>', 'image reference; tag defaults to latest')
    .option('--json', 'print the local manifest as JSON')
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nExamples:\n  $ lichen image pull debian\n  $ lichen image pull team/python:3.11 --json')
    .action((ref: string, flags: { json?: boolean; quiet?: boolean }) => pull(io, ref, flags));

  image
    .command('rm')
    .description('remove a tag from the S3 store; its blob is deleted only when no other tag uses it')
    .argument('<name[:tag]>', 'image reference; tag defaults to latest')
    .requiredOption('--remote', 'remove from the S3 store (required: the local store is managed by build)')
    .option('--json', 'print what was removed as JSON')
    .addHelpText('after', '\nExamples:\n  $ lichen image rm --remote team/python:3.10')
    .action((ref: string, flags: { json?: boolean }) => remove(io, ref, flags));

  image
    .command('gc')
    .description('delete blobs of the S3 store that no tag references (older than --grace)')
    .requiredOption('--remote', 'collect in the S3 store (required)')
    .option(
      '--grace <duration>',
      'keep unreferenced blobs younger than this (pushes in progress)',
      parseDuration,
      3_600_000,
    )
    .option('--json', 'print the deleted digests as JSON')
    .addHelpText('after', '\nExamples:\n  $ lichen image gc --remote\n  $ lichen image gc --remote --grace 10m --json')
    .action((flags: { grace: number; json?: boolean }) => gc(io, flags));
}
