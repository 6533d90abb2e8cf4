/**
 * The local image store: ext4 files and their manifests on this machine.
 *
 *   <dir>/blobs/<sha256 hex>.ext4        content-addressed image files (immutable)
 *   <dir>/tags/<name>/<tag>.json         manifest of NAME:TAG (points at a blob by digest)
 *
 * `<dir>` is LICHEN_IMAGE_DIR, else $XDG_CACHE_HOME/lichen/images, else ~/.cache/lichen/images.
 * Writes go to a temporary file in the store and are renamed into place, so readers never see
 * a partial image or manifest.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { digestFile, parseImageRef, type ImageRef } from '../ref';

/** Root of Lichen's caches: $XDG_CACHE_HOME/lichen or ~/.cache/lichen. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'lichen');
}

/** The local image store directory: LICHEN_IMAGE_DIR or <cache root>/images. */
export function defaultImageDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LICHEN_IMAGE_DIR || join(defaultCacheRoot(env), 'images');
}

/** Where downloaded Debian packages and package lists are kept: LICHEN_APT_CACHE_DIR or <cache root>/apt. */
export function defaultAptCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LICHEN_APT_CACHE_DIR || join(defaultCacheRoot(env), 'apt');
}

/** The manifest of a local image. A superset of the remote manifest (libs/images/src/s3/manifest.ts). */
export interface ImageManifest {
  schemaVersion: 1;
  name: string;
  tag: string;
  /** `sha256:<hex>` of the ext4 file. */
  digest: string;
  /** The same hash, hex only. */
  sha256: string;
  /** Bytes. */
  size: number;
  /** ISO 8601 time the image was built or imported (not part of the image's content). */
  created: string;
  /** Where the content came from, e.g. `debian bookworm arm64 (http://deb.debian.org/debian)`. */
  source: string;
  /** Packages in the image as `name=version`, sorted. */
  packages: string[];
  format: 'ext4';
  architecture: 'arm64';
  /** Recipe that made it and its version (a change of recipe changes the content). */
  builder?: { recipe: string; version: number };
}

export interface LocalImage {
  manifest: ImageManifest;
  /** The ext4 file. */
  path: string;
}

/** What a manifest file was when it was last read: rewriting or replacing it changes one of these. */
interface ManifestStamp {
  ino: number;
  size: number;
  mtimeMs: number;
  image: LocalImage;
}

export class LocalImageStore {
  /**
   * Manifests already read, by path, with the file identity they were read from. A runner looks
   * its image up for every run; one stat of the manifest then replaces reading and parsing it
   * (tags are rewritten by rename, which changes the inode, so a re-tag is seen at once).
   */
  private readonly stamps = new Map<string, ManifestStamp>();
  private static readonly MAX_STAMPS = 256;

  constructor(readonly dir: string = defaultImageDir()) {}

  private blobPath(sha256: string): string {
    return join(this.dir, 'blobs', `${sha256}.ext4`);
  }

  private manifestPath(ref: ImageRef): string {
    return join(this.dir, 'tags', ...ref.name.split('/'), `${ref.tag}.json`);
  }

  /** A scratch directory inside the store (same filesystem, so renames into place are atomic). */
  scratchDir(): string {
    const d = join(this.dir, 'tmp');
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** NAME[:TAG] (tag default `latest`), or undefined when the store does not have it. */
  get(refText: string | ImageRef): LocalImage | undefined {
    const ref = typeof refText === 'string' ? parseImageRef(refText) : refText;
    const mpath = this.manifestPath(ref);
    const st = statSync(mpath, { throwIfNoEntry: false });
    if (!st) {
      this.stamps.delete(mpath);
      return undefined;
    }
    const known = this.stamps.get(mpath);
    if (known && known.ino === st.ino && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.image;
    const manifest = this.readManifest(mpath);
    const path = this.blobPath(manifest.sha256);
    if (!existsSync(path)) return undefined;
    const image = { manifest, path };
    if (this.stamps.size >= LocalImageStore.MAX_STAMPS) this.stamps.clear();
    this.stamps.set(mpath, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, image });
    return image;
  }

  /** For the image resolver (LocalImageLookup in libs/images/src/resolve.ts). */
  async lookup(ref: ImageRef): Promise<{ path: string; digest: string; size: number } | undefined> {
    const img = this.get(ref);
    return img && { path: img.path, digest: img.manifest.digest, size: img.manifest.size };
  }

  /** Every image with a manifest and its file, sorted by name then tag. */
  list(): LocalImage[] {
    const tagsDir = join(this.dir, 'tags');
    if (!existsSync(tagsDir)) return [];
    const out: LocalImage[] = [];
    const visit = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, entry.name);
        if (entry.isDirectory()) visit(p);
        else if (entry.name.endsWith('.json')) {
          const manifest = this.readManifest(p);
          const path = this.blobPath(manifest.sha256);
          if (existsSync(path)) out.push({ manifest, path });
        }
      }
    };
    visit(tagsDir);
    return out.sort((a, b) =>
      a.manifest.name === b.manifest.name
        ? a.manifest.tag.localeCompare(b.manifest.tag)
        : a.manifest.name.localeCompare(b.manifest.name),
    );
  }

  /**
   * Moves `file` (an ext4 image, ideally in scratchDir()) into the store under NAME:TAG and
   * writes its manifest. Digest and size are computed here.
   */
  async add(
    file: string,
    meta: Omit<
      ImageManifest,
      'schemaVersion' | 'digest' | 'sha256' | 'size' | 'created' | 'format' | 'architecture'
    > & {
      created?: string;
    },
  ): Promise<LocalImage> {
    const ref = parseImageRef(`${meta.name}:${meta.tag}`);
    const { digest, size } = await digestFile(file);
    const sha256 = digest.slice('sha256:'.length);
    const manifest: ImageManifest = {
      schemaVersion: 1,
      name: ref.name,
      tag: ref.tag,
      digest,
      sha256,
      size,
      created: meta.created ?? new Date().toISOString(),
      source: meta.source,
      packages: [...meta.packages].sort(),
      format: 'ext4',
      architecture: 'arm64',
      ...(meta.builder ? { builder: meta.builder } : {}),
    };
    const blob = this.blobPath(sha256);
    mkdirSync(join(this.dir, 'blobs'), { recursive: true });
    if (existsSync(blob) && statSync(blob).size === size) rmSync(file, { force: true });
    else renameSync(file, blob);
    const mpath = this.manifestPath(ref);
    mkdirSync(join(mpath, '..'), { recursive: true });
    const tmp = `${mpath}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(tmp, mpath);
    return { manifest, path: blob };
  }

  private readManifest(path: string): ImageManifest {
    let m: Partial<ImageManifest>;
    try {
      m = JSON.parse(readFileSync(path, 'utf8')) as Partial<ImageManifest>;
    } catch (err) {
      throw new Error(`image manifest ${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (
      typeof m.name !== 'string' ||
      typeof m.tag !== 'string' ||
      typeof m.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(m.sha256)
    ) {
      throw new Error(`image manifest ${path} is malformed (needs name, tag, sha256)`);
    }
    return m as ImageManifest;
  }
}
