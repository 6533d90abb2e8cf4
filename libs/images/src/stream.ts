/** A transient error raised by Lichen itself (truncated body, digest mismatch, stalled stream). */
export class TransientError extends Error {
  readonly transient = true;
  constructor(message: string, name = 'TransientError') {
    super(message);
    this.name = name;
  }
}

/**
 * Iterates a body stream, failing with a transient TimeoutError when no data arrives for
 * `stallMs` (the stream is destroyed so its socket is released).
 */
export async function* withStallTimeout(
  body: AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void },
  stallMs: number,
  what: string,
): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  try {
    while (true) {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TransientError(`${what}: no data for ${stallMs} ms`, 'TimeoutError')),
          stallMs,
        );
      });
      let r: IteratorResult<Uint8Array>;
      try {
        r = await Promise.race([it.next(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) return;
      yield r.value;
    }
  } catch (err) {
    body.destroy?.(err as Error);
    throw err;
  } finally {
    // Release the connection when the consumer stops early.
    if (typeof it.return === 'function') await it.return().catch(() => undefined);
  }
}
