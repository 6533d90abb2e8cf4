/** Retry with exponential backoff and full jitter, for transient S3/network failures. */

export interface RetryOptions {
  /** Total attempts (1 = no retry). */
  attempts: number;
  /** First backoff delay, ms; doubles each attempt (capped at 30 s), with jitter. */
  baseDelayMs: number;
  /** Describes the operation in the final error ("GET blobs/sha256/…"). */
  what: string;
  /** Called before each retry (for logs and tests). */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
  signal?: AbortSignal;
}

/** An error that must not be retried (4xx, not found, validation). */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
  transient?: unknown;
  cause?: unknown;
}

/** HTTP status of an AWS SDK error, if it has one. */
export function httpStatusOf(err: unknown): number | undefined {
  const s = (err as ErrorLike | null)?.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Decides whether an error is worth another attempt. */
export function isTransient(err: unknown): boolean {
  if (err instanceof PermanentError) return false;
  const e = err as ErrorLike | null;
  if (!e || typeof e !== 'object') return false;
  if (e.transient === true) return true;
  const status = httpStatusOf(err);
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout') return true;
  if (e.$retryable) return true;
  if (e.cause) return isTransient(e.cause);
  return false;
}

/** A short human description of an S3/network error. */
export function describeError(err: unknown): string {
  const e = err as ErrorLike & { message?: unknown };
  const status = httpStatusOf(err);
  const parts: string[] = [];
  if (status !== undefined) parts.push(`HTTP ${status}`);
  if (typeof e?.code === 'string') parts.push(e.code);
  else if (typeof e?.name === 'string' && e.name !== 'Error') parts.push(e.name);
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  if (msg && msg !== 'UnknownError') parts.push(msg);
  return parts.join(': ') || 'unknown error';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function backoffDelay(attempt: number, baseDelayMs: number): number {
  const cap = Math.min(30_000, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}

/** Runs `fn` until it succeeds, a permanent error occurs, or attempts run out. */
export async function withRetry<T>(opts: RetryOptions, fn: (attempt: number) => Promise<T>): Promise<T> {
  let last: unknown;
  let made = 0;
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    made = attempt;
    try {
      return await fn(attempt);
    } catch (err) {
      last = err;
      if (opts.signal?.aborted || !isTransient(err) || attempt === opts.attempts) break;
      const delay = backoffDelay(attempt, opts.baseDelayMs);
      opts.onRetry?.(attempt, err, delay);
      await sleep(delay, opts.signal);
    }
  }
  const attemptsNote = made > 1 ? ` after ${made} attempts` : '';
  throw new Error(`${opts.what} failed${attemptsNote}: ${describeError(last)}`, { cause: last });
}
