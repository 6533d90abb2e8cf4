import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { ApiError } from './api-error';

type Done = (err: Error | null, body?: unknown) => void;

function payloadTooLarge(limit: number): ApiError {
  return new ApiError(413, 'payload_too_large', `request body larger than ${limit} bytes`, { limit });
}

function malformed(err: Error): ApiError {
  return new ApiError(400, 'malformed_json', `request body is not valid JSON: ${err.message}`);
}

/** The Content-Encodings a JSON body may come in (as with Express's parser), by name. */
const DECODERS: Record<string, (() => Transform) | null> = {
  '': null,
  identity: null,
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The body as sent, decompressed when `Content-Encoding` says so; `null` for an encoding we do
 * not take. The decoder is destroyed when the body is refused, so a compressed bomb is not
 * inflated past the limit.
 */
function decoded(encoding: string, payload: NodeJS.ReadableStream): NodeJS.ReadableStream | null {
  const enc = encoding.trim().toLowerCase();
  if (!Object.hasOwn(DECODERS, enc)) return null;
  const make = DECODERS[enc];
  if (make === null) return payload;
  const decoder = make();
  payload.on('error', (e: Error) => decoder.destroy(e));
  return payload.pipe(decoder);
}

/**
 * Request bodies: JSON (`application/json`, `application/*+json`) is read up to `limit` bytes,
 * as sent and once decompressed (see `decoded`), and parsed with secure-json-parse, which refuses
 * `__proto__` and `constructor.prototype` keys (as Fastify's own parser does); any other body (an
 * image upload, whatever its Content-Type) is left unread for its route to stream from `req.raw`.
 * These are the only parsers: Fastify's own (JSON, text/plain) are removed, so the limit lives
 * here alone.
 *
 * The JSON parser reads the body itself so that its failures are the API's errors
 * (`malformed_json`, `payload_too_large` with the limit) when they reach the global error
 * filter: Nest turns Fastify's own body errors into plain HTTP exceptions, losing which it was.
 */
export function acceptBodies(fastify: FastifyInstance, limit: number): void {
  const json = (req: FastifyRequest, raw: NodeJS.ReadableStream, done: Done): void => {
    if (Number(req.headers['content-length']) > limit) return done(payloadTooLarge(limit));
    const encoding = String(req.headers['content-encoding'] ?? '');
    const payload = decoded(encoding, raw);
    if (!payload) {
      return done(
        new ApiError(
          415,
          'unsupported_media_type',
          `Content-Encoding ${encoding} is not supported: send the body plain, gzip, deflate or br`,
        ),
      );
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let ended = false;
    const finish = (err: Error | null, body?: unknown): void => {
      if (ended) return;
      ended = true;
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      // A decoder still inflating is stopped; the request itself is left for Node to drain.
      if (payload !== raw && err) (payload as NodeJS.ReadableStream & { destroy(): void }).destroy();
      done(err, body);
    };
    const onData = (c: Buffer): void => {
      bytes += c.length;
      if (bytes > limit) finish(payloadTooLarge(limit));
      else chunks.push(c);
    };
    const onEnd = (): void => {
      const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return finish(malformed(new Error('the body is empty')));
      let body: unknown;
      try {
        body = sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
      } catch (e) {
        return finish(malformed(e as Error));
      }
      finish(null, body);
    };
    const onError = (err: Error): void =>
      finish(
        payload === raw
          ? err
          : new ApiError(400, 'malformed_body', `request body is not valid ${encoding}: ${err.message}`),
      );
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', json);
  fastify.addContentTypeParser(/^application\/[^;\s]+\+json(;.*)?$/, json);
  fastify.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
}
