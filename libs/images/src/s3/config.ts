import { z } from 'zod';

/** Thrown when the S3 environment variables are missing or malformed. */
export class S3ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3ConfigError';
  }
}

/** Validated S3 image-store configuration. */
export interface S3Config {
  /** Full endpoint URL (e.g. http://127.0.0.1:9000); undefined means AWS's regional endpoint. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket ("" or ending in "/"). */
  prefix: string;
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  forcePathStyle: boolean;
  /** TCP connect timeout per request, ms. */
  connectTimeoutMs: number;
  /** Socket inactivity timeout per request (headers or body stall), ms. */
  requestTimeoutMs: number;
  /** Total attempts per operation (1 = no retry). */
  maxAttempts: number;
  /** Base delay of the exponential backoff between attempts, ms. */
  retryBaseDelayMs: number;
  /** Multipart upload part size, bytes. */
  multipartPartSize: number;
  /** Parallel parts in a multipart upload. */
  multipartQueueSize: number;
}

const intFrom = (name: string, def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `${name} must be an integer between ${min} and ${max}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

const boolFrom = (name: string, def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const s = v.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `${name} must be true or false, got "${v}"`,
      });
      return z.NEVER;
    });

const MiB = 1024 * 1024;

const envSchema = z
  .object({
    LICHEN_S3_ENDPOINT: z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || v === '' || /^https?:\/\/[^\s/]+(\/.*)?$/.test(v),
        'LICHEN_S3_ENDPOINT must be an http:// or https:// URL',
      ),
    LICHEN_S3_REGION: z.string().optional(),
    LICHEN_S3_BUCKET: z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || v === '' || /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v),
        'LICHEN_S3_BUCKET must be a valid S3 bucket name (3-63 chars: lower-case letters, digits, dots, hyphens)',
      ),
    LICHEN_S3_PREFIX: z
      .string()
      .optional()
      .refine((v) => v === undefined || !v.startsWith('/'), 'LICHEN_S3_PREFIX must not start with "/"'),
    LICHEN_S3_ACCESS_KEY_ID: z.string().optional(),
    LICHEN_S3_SECRET_ACCESS_KEY: z.string().optional(),
    LICHEN_S3_FORCE_PATH_STYLE: boolFrom('LICHEN_S3_FORCE_PATH_STYLE', true),
    LICHEN_S3_CONNECT_TIMEOUT_MS: intFrom('LICHEN_S3_CONNECT_TIMEOUT_MS', 5_000, 1, 600_000),
    LICHEN_S3_REQUEST_TIMEOUT_MS: intFrom('LICHEN_S3_REQUEST_TIMEOUT_MS', 30_000, 1, 3_600_000),
    LICHEN_S3_MAX_ATTEMPTS: intFrom('LICHEN_S3_MAX_ATTEMPTS', 4, 1, 20),
    LICHEN_S3_RETRY_BASE_DELAY_MS: intFrom('LICHEN_S3_RETRY_BASE_DELAY_MS', 200, 0, 60_000),
    LICHEN_S3_MULTIPART_PART_SIZE: intFrom('LICHEN_S3_MULTIPART_PART_SIZE', 16 * MiB, 5 * MiB, 5 * 1024 * MiB),
    LICHEN_S3_MULTIPART_QUEUE_SIZE: intFrom('LICHEN_S3_MULTIPART_QUEUE_SIZE', 4, 1, 64),
  })
  .superRefine((env, ctx) => {
    const hasId = !!env.LICHEN_S3_ACCESS_KEY_ID;
    const hasSecret = !!env.LICHEN_S3_SECRET_ACCESS_KEY;
    if (hasId !== hasSecret) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message:
          'LICHEN_S3_ACCESS_KEY_ID and LICHEN_S3_SECRET_ACCESS_KEY must be set together (or both left unset to use the default AWS credential chain)',
      });
    }
  });

/** True when the environment asks for an S3 image store (LICHEN_S3_BUCKET or LICHEN_S3_ENDPOINT set). */
export function isS3Configured(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!(env.LICHEN_S3_BUCKET || env.LICHEN_S3_ENDPOINT);
}

/**
 * Reads and validates the LICHEN_S3_* variables once. Throws S3ConfigError listing every
 * problem when they are malformed or incomplete (a bucket is required).
 */
export function loadS3Config(env: NodeJS.ProcessEnv = process.env): S3Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(issue.message);
  } else if (!parsed.data.LICHEN_S3_BUCKET) {
    problems.push('LICHEN_S3_BUCKET is required when the S3 image store is used');
  }
  if (!parsed.success || problems.length > 0) {
    throw new S3ConfigError(`invalid S3 configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const e = parsed.data;
  let prefix = e.LICHEN_S3_PREFIX ?? '';
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  return {
    endpoint: e.LICHEN_S3_ENDPOINT || undefined,
    region: e.LICHEN_S3_REGION || 'us-east-1',
    bucket: e.LICHEN_S3_BUCKET as string,
    prefix,
    credentials:
      e.LICHEN_S3_ACCESS_KEY_ID && e.LICHEN_S3_SECRET_ACCESS_KEY
        ? { accessKeyId: e.LICHEN_S3_ACCESS_KEY_ID, secretAccessKey: e.LICHEN_S3_SECRET_ACCESS_KEY }
        : undefined,
    forcePathStyle: e.LICHEN_S3_FORCE_PATH_STYLE,
    connectTimeoutMs: e.LICHEN_S3_CONNECT_TIMEOUT_MS,
    requestTimeoutMs: e.LICHEN_S3_REQUEST_TIMEOUT_MS,
    maxAttempts: e.LICHEN_S3_MAX_ATTEMPTS,
    retryBaseDelayMs: e.LICHEN_S3_RETRY_BASE_DELAY_MS,
    multipartPartSize: e.LICHEN_S3_MULTIPART_PART_SIZE,
    multipartQueueSize: e.LICHEN_S3_MULTIPART_QUEUE_SIZE,
  };
}
