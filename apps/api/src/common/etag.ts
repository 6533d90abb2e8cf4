import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** A weak validator for a response body: its length and a SHA-1 of its bytes. */
export function weakEtag(body: string | Buffer): string {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const hash = createHash('sha1').update(bytes).digest('base64url');
  return `W/"${bytes.length.toString(16)}-${hash}"`;
}

/**
 * Whether an If-None-Match header matches `etag` (RFC 9110 §13.1.2: the weak comparison, so
 * `W/` prefixes are ignored; `*` matches any current representation).
 */
export function noneMatchHits(header: string, etag: string): boolean {
  const bare = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);
  const want = bare(etag);
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag === '*' || bare(tag) === want) return true;
  }
  return false;
}

/**
 * ETags on successful GET and HEAD responses with a body in memory (JSON, CSV, JUnit XML, the
 * metrics text), and 304 Not Modified when the client's If-None-Match names the same body: a
 * client polling `GET /v1/runs/:id` or a batch's progress gets an empty answer until something
 * changed. Streams (SSE, artifacts, image uploads) are left alone. POST replies get no ETag:
 * the hash would cost every `?wait` run and no client can revalidate a POST.
 */
export function addEtags(app: FastifyInstance): void {
  app.addHook('onSend', (req, reply, payload, done) => {
    if (
      (req.method !== 'GET' && req.method !== 'HEAD') ||
      reply.statusCode !== 200 ||
      (typeof payload !== 'string' && !Buffer.isBuffer(payload)) ||
      reply.hasHeader('etag')
    ) {
      done(null, payload);
      return;
    }
    const etag = weakEtag(payload);
    reply.header('etag', etag);
    const ifNoneMatch = req.headers['if-none-match'];
    if (typeof ifNoneMatch === 'string' && noneMatchHits(ifNoneMatch, etag)) {
      reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      done(null, null);
      return;
    }
    done(null, payload);
  });
}
