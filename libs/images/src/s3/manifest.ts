import { z } from 'zod';

/**
 * The manifest stored for every remote tag (object `tags/<name>/<tag>`): what the tag
 * points at (an immutable content-addressed blob) and where the image came from.
 */
export const remoteManifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    name: z.string().min(1),
    tag: z.string().min(1),
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'digest must be sha256:<64 hex>'),
    size: z.number().int().nonnegative(),
    created: z.string().min(1),
    source: z.string(),
    packages: z.array(z.string()),
    format: z.literal('ext4'),
    /** Chunk size of the per-chunk sha256 index stored beside the blob (lazy reads verify each chunk). */
    chunkIndexSize: z.number().int().positive().optional(),
  })
  .passthrough();

export type RemoteManifest = z.infer<typeof remoteManifestSchema>;

/** Parses manifest JSON fetched from S3; throws a clear error naming the object. */
export function parseRemoteManifest(text: string, where: string): RemoteManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`manifest ${where} is not valid JSON: ${(err as Error).message}`);
  }
  const r = remoteManifestSchema.safeParse(json);
  if (!r.success) {
    throw new Error(
      `manifest ${where} is malformed: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return r.data;
}
