import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A parsed image reference NAME[:TAG]. */
export interface ImageRef {
  name: string;
  tag: string;
}

const NAME_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Parses "name[:tag]" (tag defaults to "latest"); throws a clear error for bad input. */
export function parseImageRef(ref: string): ImageRef {
  const colon = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  const name = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : 'latest';
  if (name.length === 0 || name.length > 200 || !NAME_RE.test(name)) {
    throw new Error(
      `invalid image name "${name}": use lower-case letters, digits and separators . _ - / (e.g. debian or team/python)`,
    );
  }
  if (!TAG_RE.test(tag)) {
    throw new Error(`invalid image tag "${tag}": 1-128 characters from A-Z a-z 0-9 _ . - (not starting with . or -)`);
  }
  return { name, tag };
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.name}:${ref.tag}`;
}

/** True for "sha256:<64 lower-case hex>". */
export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function assertDigest(s: string): string {
  if (!DIGEST_RE.test(s)) throw new Error(`invalid digest "${s}": expected sha256:<64 hex digits>`);
  return s;
}

/** Hex part of a digest. */
export function digestHex(digest: string): string {
  return assertDigest(digest).slice('sha256:'.length);
}

/** sha256 digest and byte size of a file, streamed. */
export async function digestFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    hash.update(b);
    size += b.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
