import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export interface ImageCacheConfig {
  /** Runner-side blob cache directory (LICHEN_IMAGE_CACHE_DIR). */
  dir: string;
  /** Size cap in bytes (LICHEN_IMAGE_CACHE_BYTES). */
  maxBytes: number;
  /** Largest image accepted on push/upload (LICHEN_IMAGE_MAX_BYTES). */
  maxImageBytes: number;
  /** Read remote images lazily by range instead of pulling them first (LICHEN_IMAGE_LAZY). */
  lazy: boolean;
  /** Chunk size of lazy reads (LICHEN_IMAGE_LAZY_CHUNK_BYTES). */
  lazyChunkBytes: number;
  /** Chunk cache of one lazy device (LICHEN_IMAGE_LAZY_CACHE_BYTES). */
  lazyCacheBytes: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const int = (min: number, def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < min) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be an integer ≥ ${min}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const schema = z.object({
  LICHEN_IMAGE_CACHE_DIR: z.string().optional(),
  LICHEN_IMAGE_CACHE_BYTES: int(1, 10 * GiB),
  LICHEN_IMAGE_MAX_BYTES: int(4096, 8 * GiB),
  LICHEN_IMAGE_LAZY: z
    .enum(['', '0', '1', 'true', 'false'], { message: 'must be true or false' })
    .optional()
    .transform((v) => v === '1' || v === 'true'),
  LICHEN_IMAGE_LAZY_CHUNK_BYTES: int(512, 256 * 1024).refine((n) => (n & (n - 1)) === 0, 'must be a power of two'),
  LICHEN_IMAGE_LAZY_CACHE_BYTES: int(512, 64 * MiB),
});

/** Reads the image cache variables once; throws listing every bad variable. */
export function loadImageCacheConfig(env: NodeJS.ProcessEnv = process.env): ImageCacheConfig {
  const r = schema.safeParse(env);
  if (!r.success) {
    throw new Error(
      `invalid image cache configuration:\n  - ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  - ')}`,
    );
  }
  const e = r.data;
  return {
    dir: e.LICHEN_IMAGE_CACHE_DIR || join(homedir(), '.lichen', 'cache'),
    maxBytes: e.LICHEN_IMAGE_CACHE_BYTES,
    maxImageBytes: e.LICHEN_IMAGE_MAX_BYTES,
    lazy: e.LICHEN_IMAGE_LAZY,
    lazyChunkBytes: e.LICHEN_IMAGE_LAZY_CHUNK_BYTES,
    lazyCacheBytes: e.LICHEN_IMAGE_LAZY_CACHE_BYTES,
  };
}
