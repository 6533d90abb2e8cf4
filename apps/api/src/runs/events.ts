import type { FastifyReply, FastifyRequest } from 'fastify';
import type Redis from 'ioredis';
import { quietErrors } from '../../../runner/src/core/redis';
import type { RunStore } from '../../../runner/src/core/run-store';
import type { ConsoleEvent } from '../../../runner/src/core/types';
import { isTerminal } from '../../../runner/src/core/types';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** A valid resume position (Redis stream id) from Last-Event-ID or ?after=, else '0'. */
export function resumeFrom(req: FastifyRequest): string {
  const h = req.headers['last-event-id'];
  const q = (req.query as Record<string, unknown> | undefined)?.after;
  const v = typeof h === 'string' && h ? h : typeof q === 'string' ? q : '';
  return STREAM_ID.test(v.trim()) ? v.trim() : '0';
}

function eventName(e: ConsoleEvent): string {
  return e.type;
}

/**
 * Server-Sent Events of a run's console stream. Each event's `id` is its Redis stream id, so
 * a client resuming with Last-Event-ID gets exactly the events after it — no loss, no repeats.
 * Ends after the final status event (immediately for finished runs, after replay), or, without
 * the `end` event, when `stop` fires (the API is stopping: the client reconnects and resumes).
 */
export async function streamEvents(
  req: FastifyRequest,
  reply: FastifyReply,
  runs: RunStore,
  redis: Redis,
  runId: string,
  opts: { heartbeatMs?: number; blockMs?: number; stop?: AbortSignal } = {},
): Promise<void> {
  // The stream is written to the socket directly; Fastify sends nothing for this request.
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n\n');

  let last = resumeFrom(req);
  let closed = false;
  const reader = quietErrors(redis.duplicate());
  const onClose = (): void => {
    closed = true;
    reader.disconnect();
  };
  req.raw.on('close', onClose);
  const onStop = (): void => {
    if (!closed) res.write(': the server is stopping; reconnect with Last-Event-ID\n\n');
    onClose();
  };
  if (opts.stop?.aborted) onStop();
  else opts.stop?.addEventListener('abort', onStop, { once: true });
  const heartbeat = setInterval(() => {
    if (!closed) res.write(': keep-alive\n\n');
  }, opts.heartbeatMs ?? 15_000);
  const key = runs.keys.runEvents(runId);
  try {
    let finished = false;
    // Replay what is stored, then follow live with blocking reads.
    while (!closed && !finished) {
      let rows = await runs.readEvents(runId, last, 500);
      if (rows.length === 0) {
        const r = await reader
          .xread('COUNT', 500, 'BLOCK', opts.blockMs ?? 5000, 'STREAMS', key, last === '0' ? '0-0' : last)
          .catch(() => null);
        if (closed) break;
        rows = (r?.[0]?.[1] ?? []).map(([id, f]) => ({ id, event: JSON.parse(f[1] ?? '{}') as ConsoleEvent }));
        if (rows.length === 0) {
          // Nothing new: if the stream is gone (expired) stop instead of spinning.
          if ((await redis.exists(key)) === 0) break;
          continue;
        }
      }
      for (const { id, event } of rows) {
        res.write(`id: ${id}\nevent: ${eventName(event)}\ndata: ${JSON.stringify(event)}\n\n`);
        last = id;
        if (event.type === 'status' && isTerminal(event.status)) finished = true;
      }
    }
    if (!closed) res.write(`event: end\ndata: {}\n\n`);
  } finally {
    clearInterval(heartbeat);
    req.raw.off('close', onClose);
    opts.stop?.removeEventListener('abort', onStop);
    reader.disconnect();
    res.end();
  }
}
