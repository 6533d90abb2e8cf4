import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, auth, KEY_A, queuedAnything, startService } from './support/harness';
import type { Service } from './support/harness';

let svc: Service;
beforeAll(async () => {
  svc = await startService({
    LICHEN_BODY_LIMIT_BYTES: '65536',
    LICHEN_MAX_ARGV: '8',
    LICHEN_MAX_ENV: '4',
    LICHEN_MAX_FILES: '3',
    LICHEN_MAX_FILES_BYTES: '1000',
  });
});
afterAll(async () => {
  await svc?.stop();
});

async function postRaw(
  body: string | Buffer | ReadableStream<Uint8Array>,
  headers: Record<string, string> = auth(KEY_A),
) {
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    // Needed by fetch for a stream body; a no-op for the others.
    duplex: 'half',
  } as RequestInit;
  const r = await fetch(`${svc.url}/v1/runs`, init);
  return { status: r.status, body: (await r.json()) as { error: { code: string; message: string; details: unknown } } };
}
const post = (body: unknown, headers?: Record<string, string>) => postRaw(JSON.stringify(body), headers);

/** The body in 8 KiB chunks with no Content-Length (Transfer-Encoding: chunked). */
function postChunked(body: string) {
  const bytes = Buffer.from(body);
  return postRaw(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 8192) c.enqueue(bytes.subarray(i, i + 8192));
        c.close();
      },
    }),
  );
}
const ok = { image: 'scratch', argv: ['echo', 'x'] };

describe('bad input is refused with a clear 4xx and nothing is queued', () => {
  const cases: [string, () => ReturnType<typeof postRaw>, number, string][] = [
    ['malformed JSON', () => postRaw('{"image": "scratch", argv: [}'), 400, 'malformed_json'],
    ['oversized body', () => post({ ...ok, stdin: 'x'.repeat(70_000) }), 413, 'payload_too_large'],
    [
      'oversized body without a Content-Length',
      () => postChunked(JSON.stringify({ ...ok, stdin: 'x'.repeat(70_000) })),
      413,
      'payload_too_large',
    ],
    ['empty JSON body', () => postRaw(''), 400, 'malformed_json'],
    [
      'a body that is not the gzip it claims',
      () => postRaw(JSON.stringify(ok), { ...auth(KEY_A), 'content-encoding': 'gzip' }),
      400,
      'malformed_body',
    ],
    [
      'a gzip body that inflates past the limit (1 MB of spaces)',
      () => postRaw(gzipSync(Buffer.alloc(1 << 20, 0x20)), { ...auth(KEY_A), 'content-encoding': 'gzip' }),
      413,
      'payload_too_large',
    ],
    [
      'an unknown Content-Encoding',
      () => postRaw(JSON.stringify(ok), { ...auth(KEY_A), 'content-encoding': 'zstd-ish' }),
      415,
      'unsupported_media_type',
    ],
    [
      'a __proto__ key',
      () => postRaw('{"image":"scratch","argv":["echo"],"__proto__":{"x":1}}'),
      400,
      'malformed_json',
    ],
    ['missing argv', () => post({ image: 'scratch' }), 400, 'validation_failed'],
    ['unknown field', () => post({ ...ok, sudo: true }), 400, 'validation_failed'],
    ['argv not strings', () => post({ image: 'scratch', argv: ['echo', 3] }), 400, 'validation_failed'],
    ['empty argv', () => post({ image: 'scratch', argv: [] }), 400, 'invalid_argv'],
    ['too many args', () => post({ image: 'scratch', argv: Array(9).fill('a') }), 400, 'too_many_args'],
    ['NUL in argv', () => post({ image: 'scratch', argv: ['echo', 'a\u0000b'] }), 400, 'invalid_argv'],
    ['too many env', () => post({ ...ok, env: { A: '1', B: '2', C: '3', D: '4', E: '5' } }), 400, 'too_many_env'],
    ['bad env name', () => post({ ...ok, env: { 'A=B': '1' } }), 400, 'invalid_env'],
    [
      'too many files',
      () => post({ ...ok, files: [1, 2, 3, 4].map((i) => ({ path: `/f${i}`, content: '' })) }),
      400,
      'too_many_files',
    ],
    [
      'files too large',
      () => post({ ...ok, files: [{ path: '/big', content: Buffer.alloc(1200).toString('base64') }] }),
      400,
      'files_too_large',
    ],
    [
      'path escaping root',
      () => post({ ...ok, files: [{ path: '/tmp/../../etc/passwd', content: '' }] }),
      400,
      'path_escapes_root',
    ],
    [
      'relative path escaping root',
      () => post({ ...ok, files: [{ path: '../x', content: '' }] }),
      400,
      'path_escapes_root',
    ],
    ['bad base64', () => post({ ...ok, files: [{ path: '/x', content: '%%%' }] }), 400, 'invalid_base64'],
    [
      'duplicate file path',
      () =>
        post({
          ...ok,
          files: [
            { path: '/x', content: '' },
            { path: '//x/.', content: '' },
          ],
        }),
      400,
      'duplicate_path',
    ],
    ['stdin twice', () => post({ ...ok, stdin: 'a', stdinBase64: 'YQ==' }), 400, 'invalid_stdin'],
    ['unknown image', () => post({ ...ok, image: 'nosuchimage:1' }), 400, 'unknown_image'],
    ['malformed image name', () => post({ ...ok, image: 'Bad Image!' }), 400, 'invalid_image'],
    ['limit above tenant maximum', () => post({ ...ok, limits: { cpuSteps: 1e15 } }), 400, 'limit_exceeds_maximum'],
    ['negative limit', () => post({ ...ok, limits: { wallMs: -1 } }), 400, 'validation_failed'],
    ['bad webhook', () => post({ ...ok, webhookUrl: 'ftp://x' }), 400, 'invalid_webhook'],
    ['seed out of range', () => post({ ...ok, deterministic: { seed: -1 } }), 400, 'validation_failed'],
    ['no API key', () => post(ok, {}), 401, 'unauthorized'],
    ['wrong API key', () => post(ok, auth('not-a-key-0123456789')), 401, 'unauthorized'],
    ['admin key cannot submit runs', () => post(ok, auth(ADMIN_KEY)), 403, 'forbidden'],
  ];
  for (const [name, send, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const r = await send();
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(r.body.error.message.length).toBeGreaterThan(5);
    });
  }

  it('?wait out of bounds → 400', async () => {
    const r = await fetch(`${svc.url}/v1/runs?wait=100000`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify(ok),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_wait');
  });

  it('none of the refused requests stored or queued anything', async () => {
    expect(await queuedAnything(svc.prefix)).toEqual({ jobs: 0, runs: 0 });
  });

  it('limit violations list every offending limit in details', async () => {
    const r = await post({ ...ok, limits: { cpuSteps: 1e15, memoryBytes: 1e13 } });
    expect(r.body.error.details).toEqual([
      { limit: 'cpuSteps', asked: 1e15, max: 100_000_000_000 },
      { limit: 'memoryBytes', asked: 1e13, max: 2048 * 1024 * 1024 },
    ]);
  });

  it('a trailing slash reaches the same route', async () => {
    const r = await fetch(`${svc.url}/v1/runs/00000000-0000-0000-0000-000000000000/`, { headers: auth(KEY_A) });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('run_not_found');
  });

  it('an overlong image reference in the path gets the validation error, not a bare 404', async () => {
    const r = await fetch(`${svc.url}/v1/images/${'a'.repeat(300)}`, { method: 'DELETE', headers: auth(ADMIN_KEY) });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_image');
  });

  it('unknown run ids and routes are 404 with the error body', async () => {
    const r = await fetch(`${svc.url}/v1/runs/00000000-0000-0000-0000-000000000000`, { headers: auth(KEY_A) });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('run_not_found');
    const r2 = await fetch(`${svc.url}/v1/nope`, { headers: auth(KEY_A) });
    expect(r2.status).toBe(404);
    expect(((await r2.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('compressed request bodies', () => {
  for (const [enc, pack] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const) {
    it(`a ${enc} body is decompressed and accepted`, async () => {
      const r = await fetch(`${svc.url}/v1/runs`, {
        method: 'POST',
        headers: { ...auth(KEY_A), 'content-type': 'application/json', 'content-encoding': enc },
        body: pack(Buffer.from(JSON.stringify(ok))),
      });
      expect(r.status).toBe(202);
      expect(((await r.json()) as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
    });
  }
});
