import { constants } from 'node:fs';
import { access, copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BlobCache,
  ImageNotFoundError,
  loadImageCacheConfig,
  LocalImageStore,
  parseImageRef,
  resolveImage,
  S3ImageStore,
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

/** The fields of a local or S3 image manifest the API shows. */
type ManifestFields = Pick<ImageInfo, 'name' | 'tag' | 'digest' | 'size' | 'created' | 'source'>;

function toImageInfo(m: ManifestFields): ImageInfo {
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
 * The local image store of this machine (libs/images LocalImageStore, the same one
 * `lichen image build` fills), used when no S3 is configured.
 */
export class LocalImageCatalog implements ImageCatalog, LocalImageLookup {
  readonly kind = 'local' as const;
  readonly store: LocalImageStore;
  constructor(readonly dir: string) {
    this.store = new LocalImageStore(dir);
  }

  lookup(ref: ImageRef): Promise<{ path: string; digest?: string; size?: number } | undefined> {
    return this.store.lookup(ref);
  }

  async list(): Promise<ImageInfo[]> {
    return this.store.list().map(({ manifest: m }) => toImageInfo(m));
  }

  async exists(ref: string): Promise<boolean> {
    return this.store.get(ref) !== undefined;
  }

  async add(refText: string, file: string, source: string): Promise<ImageInfo> {
    const ref = parseImageRef(refText);
    const tmp = join(this.store.scratchDir(), `upload-${process.pid}-${Date.now()}.ext4`);
    await copyFile(file, tmp);
    const { manifest: m } = await this.store.add(tmp, { name: ref.name, tag: ref.tag, source, packages: [] });
    return toImageInfo(m);
  }

  /** Removes the tag (its manifest); the content-addressed blob stays for other tags. */
  async remove(refText: string): Promise<boolean> {
    const ref = parseImageRef(refText);
    if (!this.store.get(ref)) return false;
    await rm(join(this.dir, 'tags', ...ref.name.split('/'), `${ref.tag}.json`), { force: true });
    return true;
  }

  async ping(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await access(this.dir, constants.R_OK | constants.W_OK);
  }
}

/** Images in S3 (libs/images S3ImageStore): content-addressed blobs and tag manifests. */
export class S3ImageCatalog implements ImageCatalog {
  readonly kind = 's3' as const;
  constructor(readonly store: S3ImageStore) {}

  async list(): Promise<ImageInfo[]> {
    const ms = await this.store.list();
    return ms.map(toImageInfo).sort((a, b) => a.ref.localeCompare(b.ref));
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.store.getManifest(parseImageRef(ref))) !== undefined;
  }

  async add(refText: string, file: string, source: string): Promise<ImageInfo> {
    const ref = parseImageRef(refText);
    await this.store.pushFile(file, ref, { source });
    const m = await this.store.getManifest(ref);
    if (!m) throw new Error(`image ${refText} pushed but its manifest is missing`);
    return toImageInfo(m);
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
    if (r.origin === 'local') {
      // Local store blobs are never evicted (removing a tag keeps its blob): nothing to pin.
      return { path: r.path, size: r.size, cacheHit: true, bytesFetched: 0, release: async () => undefined };
    }
    // Opening pins the cached blob against eviction until the run ends.
    const dev = await r.open();
    return {
      path: r.path,
      size: r.size,
      cacheHit: r.origin === 'cache',
      bytesFetched: r.bytesFetched(),
      release: () => dev.close(),
    };
  }
}
