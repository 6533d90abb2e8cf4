import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

/** Where run artifacts (tar of the overlay's changes) and build outputs live. */
export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$/;
function checkKey(key: string): void {
  if (!KEY_RE.test(key) || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`invalid artifact key ${JSON.stringify(key)}`);
  }
}

/** Artifacts in a local directory (single machine, no S3). */
export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local' as const;
  constructor(private readonly dir: string) {}
  private path(key: string): string {
    checkKey(key);
    const root = resolve(this.dir);
    const p = resolve(root, key);
    if (!p.startsWith(root + sep)) throw new Error(`artifact key escapes the store: ${key}`);
    return p;
  }
  async put(key: string, data: Uint8Array): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, p);
  }
  async get(key: string): Promise<Uint8Array | null> {
    try {
      return await readFile(this.path(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }
}

/** Artifacts in S3 under `<prefix>artifacts/`. */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}
  private key(key: string): string {
    checkKey(key);
    return `${this.prefix}artifacts/${key}`;
  }
  async put(key: string, data: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: data, ContentType: 'application/x-tar' }),
    );
  }
  async get(key: string): Promise<Uint8Array | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      if (!r.Body) return null;
      return await r.Body.transformToByteArray();
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return null;
      throw e;
    }
  }
}

export const artifactKey = (runId: string): string => join('runs', runId, 'artifacts.tar');
