import { mkdir, readdir, readFile, rename, rm, stat, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BlobCache,
  formatImageRef,
  ImageNotFoundError,
  loadImageCacheConfig,
  parseImageRef,
  resolveImage,
  S3ImageStore,
  digestFile,
} from '@lichen/images';
import type { ImageRef, LocalImageLookup } from '@lichen/images';

/** Reserved image name: an empty tmpfs root (the run brings its program as `files`). */
export const SCRATCH_IMAGE = 'scratch';

export interface ImageInfo {
  name: string;
  tag: string;
  ref: string;
  digest: string | null;
  size: number;
  created: string | null;
  source: string | null;
}

/** What the API needs: list, check, add, remove. */
export interface ImageCatalog {
  readonly kind: 'local' | 's3';
  list(): Promise<ImageInfo[]>;
  exists(ref: string): Promise<boolean>;
  /** Adds an already validated ext4 file under `ref`. */
  add(ref: string, file: string, source: string): Promise<ImageInfo>;
  remove(ref: string): Promise<boolean>;
  /** Throws when the backing store is unreachable (readiness). */
  ping(): Promise<void>;
}

export interface AcquiredImage {
  /** Local ext4 file, or null for the scratch (tmpfs) root. */
  path: string | null;
  size: number;
  cacheHit: boolean;
  bytesFetched: number;
  release(): Promise<void>;
}

/** What the runner needs: a local file for an image reference, pinned while a VM uses it. */
export interface ImageProvider {
  acquire(ref: string): Promise<AcquiredImage>;
}

/**
 * Local image store used when no S3 is configured: `<dir>/<name>/<tag>.ext4` beside a
 * `<tag>.json` manifest. Implements the resolver's LocalImageLookup too.
 */
export class LocalImageCatalog implements ImageCatalog, LocalImageLookup {
  readonly kind = 'local' as const;
  constructor(readonly dir: string) {}

  private file(ref: ImageRef, ext: 'ext4' | 'json'): string {
    return join(this.dir, ref.name, `${ref.tag}.${ext}`);
  }

  async lookup(ref: ImageRef): Promise<{ path: string; digest?: string; size?: number } | undefined> {
    const path = this.file(ref, 'ext4');
    try {
      const st = await stat(path);
      const info = await this.info(ref).catch(() => null);
      return { path, size: st.size, digest: info?.digest ?? undefined };
    } catch {
      return undefined;
    }
  }

  private async info(ref: ImageRef): Promise<ImageInfo> {
    const j = JSON.parse(await readFile(this.file(ref, 'json'), 'utf8')) as ImageInfo;
    return j;
  }

  async list(): Promise<ImageInfo[]> {
    const out: ImageInfo[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(join(this.dir, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.isDirectory()) await walk(rel ? `${rel}/${e.name}` : e.name);
        else if (e.name.endsWith('.ext4') && rel) {
          const ref = { name: rel, tag: e.name.slice(0, -5) };
          const st = await stat(join(this.dir, rel, e.name));
          const info = await this.info(ref).catch(() => null);
          out.push(
            info ?? {
              name: ref.name,
              tag: ref.tag,
              ref: formatImageRef(ref),
              digest: null,
              size: st.size,
              created: null,
              source: null,
            },
          );
        }
      }
    };
    await walk('');
    return out.sort((a, b) => a.ref.localeCompare(b.ref));
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.lookup(parseImageRef(ref))) !== undefined;
  }

  async add(refText: string, file: string, source: string): Promise<ImageInfo> {
    const ref = parseImageRef(refText);
    const dest = this.file(ref, 'ext4');
    await mkdir(join(this.dir, ref.name), { recursive: true });
    const tmp = `${dest}.${process.pid}.${Date.now()}.tmp`;
    await copyFile(file, tmp);
    const { digest, size } = await digestFile(tmp);
    const info: ImageInfo = {
      name: ref.name,
      tag: ref.tag,
      ref: formatImageRef(ref),
      digest,
      size,
      created: new Date().toISOString(),
      source,
    };
    await writeFile(this.file(ref, 'json'), JSON.stringify(info, null, 2));
    await rename(tmp, dest);
    return info;
  }

  async remove(refText: string): Promise<boolean> {
    const ref = parseImageRef(refText);
    const had = (await this.lookup(ref)) !== undefined;
    await rm(this.file(ref, 'ext4'), { force: true });
    await rm(this.file(ref, 'json'), { force: true });
    return had;
  }

  async ping(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }
}

/** Images in S3 (libs/images S3ImageStore): content-addressed blobs and tag manifests. */
export class S3ImageCatalog implements ImageCatalog {
  readonly kind = 's3' as const;
  constructor(readonly store: S3ImageStore) {}

  async list(): Promise<ImageInfo[]> {
    const ms = await this.store.list();
    return ms
      .map((m) => ({
        name: m.name,
        tag: m.tag,
        ref: `${m.name}:${m.tag}`,
        digest: m.digest,
        size: m.size,
        created: m.created,
        source: m.source,
      }))
      .sort((a, b) => a.ref.localeCompare(b.ref));
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.store.getManifest(parseImageRef(ref))) !== undefined;
  }

  async add(refText: string, file: string, source: string): Promise<ImageInfo> {
    const ref = parseImageRef(refText);
    await this.store.pushFile(file, ref, { source });
    const m = await this.store.getManifest(ref);
    if (!m) throw new Error(`image ${refText} pushed but its manifest is missing`);
    return {
      name: m.name,
      tag: m.tag,
      ref: `${m.name}:${m.tag}`,
      digest: m.digest,
      size: m.size,
      created: m.created,
      source: m.source,
    };
  }

  async remove(ref: string): Promise<boolean> {
    const p = parseImageRef(ref);
    if (!(await this.store.getManifest(p))) return false;
    await this.store.remove(p);
    return true;
  }

  async ping(): Promise<void> {
    await this.store.ping();
  }
}

/** Runner side: local store first, then S3 through the verified blob cache (libs/images resolveImage). */
export class ResolvingImageProvider implements ImageProvider {
  private readonly cache: BlobCache | undefined;
  constructor(
    private readonly local: LocalImageCatalog | null,
    private readonly s3: S3ImageStore | null,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    if (s3) {
      const c = loadImageCacheConfig(env);
      this.cache = new BlobCache({ dir: c.dir, maxBytes: c.maxBytes });
    }
  }

  async acquire(ref: string): Promise<AcquiredImage> {
    if (ref === SCRATCH_IMAGE)
      return { path: null, size: 0, cacheHit: true, bytesFetched: 0, release: async () => undefined };
    const r = await resolveImage(ref, { local: this.local, s3: this.s3, cache: this.cache, lazy: false });
    if (!r.path) throw new ImageNotFoundError(ref, ['no local file for the image']);
    // Opening pins the cached blob against eviction until the run ends.
    const dev = await r.open();
    return {
      path: r.path,
      size: r.size,
      cacheHit: r.origin === 'local' || r.origin === 'cache',
      bytesFetched: r.bytesFetched(),
      release: () => dev.close(),
    };
  }
}
