import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { digestHex, formatImageRef, type ImageRef } from '../ref';
import { httpStatusOf, PermanentError, withRetry } from '../retry';
import { loadS3Config, type S3Config } from './config';
import { parseRemoteManifest, type RemoteManifest } from './manifest';

/** Default chunk size of the per-chunk digest index written on push (and of lazy reads). */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

export interface PushProgress {
  phase: 'hash' | 'upload';
  bytes: number;
  total: number;
}

export interface PushOptions {
  source?: string;
  packages?: string[];
  created?: string;
  onProgress?: (p: PushProgress) => void;
}

export interface PushResult {
  manifest: RemoteManifest;
  /** False when the blob was already in the bucket (only the tag was written). */
  uploaded: boolean;
}

export interface RemoveResult {
  manifest: RemoteManifest;
  /** True when no other tag referenced the digest and the blob was deleted. */
  blobDeleted: boolean;
  /** Other tags still using the digest. */
  sharedWith: string[];
}

/** A blob body stream opened from S3 (one attempt; callers retry). */
export interface OpenedBlob {
  body: AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void };
  /** Content-Length of the response. */
  length: number;
}

/** The per-chunk sha256 index stored beside a blob. */
export interface ChunkIndex {
  chunkSize: number;
  size: number;
  sha256: string[];
}

/** Makes an S3 client configured for Lichen (timeouts, path style, no SDK-level retries). */
export function createS3Client(config: S3Config): S3Client {
  // The SDK warns on every process start under Node < 22; Lichen pins Node 20 on purpose
  // (docs/decisions.md), so the warning is noise on the CLI's stderr. An explicit setting wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    // Retries are done by withRetry() around whole operations, so that truncated bodies and
    // digest mismatches (which the SDK cannot see) are retried the same way as 5xx replies.
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: config.connectTimeoutMs,
      // Inactivity timeout (waiting for headers or between body packets), not a cap on the
      // whole transfer: a large image may legitimately take minutes.
      socketTimeout: config.requestTimeoutMs,
    },
    // S3-compatible servers (s3rver, older MinIO) do not all understand the flexible
    // checksum trailers newer SDKs send by default; integrity is checked by sha256 digest.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return httpStatusOf(err) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Content-addressed ext4 image store in an S3 bucket.
 *
 * Layout (under the configured prefix):
 * - `blobs/sha256/<hex>`: image bytes, immutable, named by their sha256;
 * - `chunks/sha256/<hex>/<chunkSize>`: JSON sha256 of each chunk (lazy reads verify chunks);
 * - `tags/<name>/<tag>`: the tag's manifest (JSON), a mutable pointer to a digest.
 */
export class S3ImageStore {
  readonly client: S3Client;
  readonly config: S3Config;

  constructor(config: S3Config, client?: S3Client) {
    this.config = config;
    this.client = client ?? createS3Client(config);
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): S3ImageStore {
    return new S3ImageStore(loadS3Config(env));
  }

  blobKey(digest: string): string {
    return `${this.config.prefix}blobs/sha256/${digestHex(digest)}`;
  }

  chunkIndexKey(digest: string, chunkSize: number): string {
    return `${this.config.prefix}chunks/sha256/${digestHex(digest)}/${chunkSize}`;
  }

  tagKey(ref: ImageRef): string {
    return `${this.config.prefix}tags/${ref.name}/${ref.tag}`;
  }

  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry({ attempts: this.config.maxAttempts, baseDelayMs: this.config.retryBaseDelayMs, what }, fn);
  }

  /** Creates the bucket if it does not exist (development and tests). */
  async ensureBucket(): Promise<void> {
    const Bucket = this.config.bucket;
    try {
      await this.retry(`HEAD bucket ${Bucket}`, async () => {
        try {
          await this.client.send(new HeadBucketCommand({ Bucket }));
        } catch (err) {
          if (isNotFound(err)) throw new PermanentError('no such bucket', { cause: err });
          throw err;
        }
      });
    } catch (err) {
      if (!(err instanceof Error && err.cause instanceof PermanentError)) throw err;
      await this.retry(`create bucket ${Bucket}`, () => this.client.send(new CreateBucketCommand({ Bucket })));
    }
  }

  /** Checks the bucket is reachable (for readiness probes). */
  async ping(): Promise<void> {
    const Bucket = this.config.bucket;
    await this.retry(`HEAD bucket ${Bucket}`, () => this.client.send(new HeadBucketCommand({ Bucket })));
  }

  /** Size of a blob in the bucket, or undefined if absent. */
  async blobSize(digest: string): Promise<number | undefined> {
    const Key = this.blobKey(digest);
    return this.retry(`HEAD ${Key}`, async () => {
      try {
        const r = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key }));
        return r.ContentLength ?? 0;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  /** Fetches a small object as text, or undefined when it does not exist. */
  private async getText(Key: string): Promise<string | undefined> {
    return this.retry(`GET ${Key}`, async () => {
      try {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key }));
        return await (r.Body as { transformToString(): Promise<string> }).transformToString();
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  private async putText(Key: string, text: string, ContentType: string): Promise<void> {
    await this.retry(`PUT ${Key}`, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key, Body: text, ContentType })),
    );
  }

  /** The manifest a tag points at, or undefined when the tag does not exist. */
  async getManifest(ref: ImageRef): Promise<RemoteManifest | undefined> {
    const key = this.tagKey(ref);
    const text = await this.getText(key);
    return text === undefined ? undefined : parseRemoteManifest(text, key);
  }

  /** The chunk digest index of a blob, or undefined when none was stored. */
  async getChunkIndex(digest: string, chunkSize: number): Promise<ChunkIndex | undefined> {
    const key = this.chunkIndexKey(digest, chunkSize);
    const text = await this.getText(key);
    if (text === undefined) return undefined;
    const idx = JSON.parse(text) as ChunkIndex;
    if (idx.chunkSize !== chunkSize || !Array.isArray(idx.sha256)) throw new Error(`chunk index ${key} is malformed`);
    return idx;
  }

  private async listKeys(prefix: string): Promise<{ key: string; size: number; lastModified: Date | undefined }[]> {
    const out: { key: string; size: number; lastModified: Date | undefined }[] = [];
    let token: string | undefined;
    do {
      const r = await this.retry(`LIST ${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      for (const o of r.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /**
   * Reads every tag: valid manifests sorted by name then tag, and the tags whose manifest
   * could not be parsed (reported, never silently dropped).
   */
  async scanTags(): Promise<{ manifests: RemoteManifest[]; unreadable: { key: string; error: string }[] }> {
    const prefix = `${this.config.prefix}tags/`;
    const queue = (await this.listKeys(prefix)).map((k) => k.key);
    const manifests: RemoteManifest[] = [];
    const unreadable: { key: string; error: string }[] = [];
    const worker = async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const text = await this.getText(key);
        if (text === undefined) continue; // removed meanwhile
        try {
          manifests.push(parseRemoteManifest(text, key));
        } catch (err) {
          unreadable.push({ key, error: (err as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
    manifests.sort((a, b) => (a.name === b.name ? a.tag.localeCompare(b.tag) : a.name.localeCompare(b.name)));
    return { manifests, unreadable };
  }

  /** Every readable tag's manifest, sorted by name then tag (see scanTags for broken ones). */
  async list(): Promise<RemoteManifest[]> {
    return (await this.scanTags()).manifests;
  }

  /**
   * Uploads an ext4 image file as NAME:TAG. The blob is uploaded only when the bucket does
   * not have that digest yet (multipart for large files); then the tag is written.
   */
  async pushFile(path: string, ref: ImageRef, opts: PushOptions = {}): Promise<PushResult> {
    const st = await stat(path);
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    const total = st.size;
    // One pass: whole-file digest plus the per-chunk index for lazy reads.
    const whole = createHash('sha256');
    const chunkSize = DEFAULT_CHUNK_SIZE;
    const chunkDigests: string[] = [];
    let chunk = createHash('sha256');
    let inChunk = 0;
    let hashed = 0;
    for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
      const b = piece as Buffer;
      whole.update(b);
      let off = 0;
      while (off < b.length) {
        const n = Math.min(chunkSize - inChunk, b.length - off);
        chunk.update(b.subarray(off, off + n));
        inChunk += n;
        off += n;
        if (inChunk === chunkSize) {
          chunkDigests.push(chunk.digest('hex'));
          chunk = createHash('sha256');
          inChunk = 0;
        }
      }
      hashed += b.length;
      opts.onProgress?.({ phase: 'hash', bytes: hashed, total });
    }
    if (inChunk > 0) chunkDigests.push(chunk.digest('hex'));
    if (hashed !== total) throw new Error(`${path} changed size while being read (${total} → ${hashed} bytes)`);
    const digest = `sha256:${whole.digest('hex')}`;

    let uploaded = false;
    const existing = await this.blobSize(digest);
    if (existing !== total) {
      await this.uploadBlob(path, digest, total, opts.onProgress);
      uploaded = true;
    } else {
      opts.onProgress?.({ phase: 'upload', bytes: total, total });
    }
    const index: ChunkIndex = { chunkSize, size: total, sha256: chunkDigests };
    await this.putText(this.chunkIndexKey(digest, chunkSize), JSON.stringify(index), 'application/json');

    const manifest: RemoteManifest = {
      schemaVersion: 1,
      name: ref.name,
      tag: ref.tag,
      digest,
      size: total,
      created: opts.created ?? new Date().toISOString(),
      source: opts.source ?? `file:${path}`,
      packages: opts.packages ?? [],
      format: 'ext4',
      chunkIndexSize: chunkSize,
    };
    await this.putText(this.tagKey(ref), JSON.stringify(manifest, null, 2), 'application/json');
    // A concurrent `rm` of another tag may have garbage-collected the blob between our HEAD
    // and the tag write; the tag now references it, so make sure it exists.
    if ((await this.blobSize(digest)) !== total) {
      await this.uploadBlob(path, digest, total, opts.onProgress);
      uploaded = true;
    }
    return { manifest, uploaded };
  }

  private async uploadBlob(
    path: string,
    digest: string,
    total: number,
    onProgress?: (p: PushProgress) => void,
  ): Promise<void> {
    const Key = this.blobKey(digest);
    await this.retry(`upload ${Key}`, async () => {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.config.bucket,
          Key,
          Body: createReadStream(path, { highWaterMark: 1 << 20 }),
          ContentType: 'application/octet-stream',
          ContentLength: total,
        },
        partSize: this.config.multipartPartSize,
        queueSize: this.config.multipartQueueSize,
        // true: a failed part rejects with its own error (some S3 servers answer 405 to
        // AbortMultipartUpload, which would mask it); incomplete uploads are reaped by the
        // bucket's AbortIncompleteMultipartUpload lifecycle rule (see README).
        leavePartsOnError: true,
      });
      upload.on('httpUploadProgress', (p) => {
        onProgress?.({ phase: 'upload', bytes: p.loaded ?? 0, total });
      });
      await upload.done();
    });
    const size = await this.blobSize(digest);
    if (size !== total)
      throw new Error(`upload of ${Key} did not stick: bucket reports ${size ?? 'no object'}, expected ${total} bytes`);
  }

  /** Deletes a tag; deletes its blob too when no other tag references that digest. */
  async remove(ref: ImageRef): Promise<RemoveResult> {
    const manifest = await this.getManifest(ref);
    if (!manifest)
      throw new Error(`image ${formatImageRef(ref)} not found in s3://${this.config.bucket}/${this.config.prefix}`);
    const key = this.tagKey(ref);
    await this.retry(`DELETE ${key}`, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key })),
    );
    const scan = await this.scanTags();
    const sharedWith = scan.manifests.filter((m) => m.digest === manifest.digest).map((m) => formatImageRef(m));
    let blobDeleted = false;
    // A tag we cannot read might reference the digest: keep the blob (gc can collect it later).
    if (sharedWith.length === 0 && scan.unreadable.length === 0) {
      await this.deleteBlob(manifest.digest);
      blobDeleted = true;
    }
    return { manifest, blobDeleted, sharedWith };
  }

  private async deleteBlob(digest: string): Promise<void> {
    const hex = digestHex(digest);
    const keys = [
      this.blobKey(digest),
      ...(await this.listKeys(`${this.config.prefix}chunks/sha256/${hex}/`)).map((k) => k.key),
    ];
    for (const Key of keys) {
      await this.retry(`DELETE ${Key}`, () =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key })),
      );
    }
  }

  /**
   * Deletes blobs no tag references and that are older than `graceMs` (so a push in
   * progress, whose tag is not written yet, keeps its blob). Returns the deleted digests.
   */
  async gc(opts: { graceMs?: number; now?: Date } = {}): Promise<string[]> {
    const grace = opts.graceMs ?? 60 * 60 * 1000;
    const now = (opts.now ?? new Date()).getTime();
    const scan = await this.scanTags();
    if (scan.unreadable.length > 0) {
      throw new Error(
        `gc refused: ${scan.unreadable.length} tag(s) have unreadable manifests and might reference any blob (first: ${scan.unreadable[0]?.error})`,
      );
    }
    const used = new Set(scan.manifests.map((m) => m.digest));
    const deleted: string[] = [];
    for (const o of await this.listKeys(`${this.config.prefix}blobs/sha256/`)) {
      const digest = `sha256:${o.key.slice(o.key.lastIndexOf('/') + 1)}`;
      if (used.has(digest)) continue;
      if (o.lastModified && now - o.lastModified.getTime() < grace) continue;
      await this.deleteBlob(digest);
      deleted.push(digest);
    }
    return deleted;
  }

  /**
   * Opens a blob (or a byte range of it) for streaming: one attempt, no retry. Errors keep
   * the SDK's status so callers can classify them as transient or not.
   */
  async openBlob(
    digest: string,
    range?: { offset: number; length: number },
    signal?: AbortSignal,
  ): Promise<OpenedBlob> {
    const Key = this.blobKey(digest);
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.config.bucket,
          Key,
          Range: range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined,
        }),
        { abortSignal: signal },
      );
      if (!r.Body) throw new Error(`GET ${Key} returned no body`);
      return { body: r.Body as unknown as Readable, length: r.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err))
        throw new PermanentError(`blob ${digest} not found in s3://${this.config.bucket}/${Key}`, { cause: err });
      throw err;
    }
  }
}
