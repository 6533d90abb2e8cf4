import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ImageStore } from '@lichen/images';
import { startS3rver, s3ConfigFor } from '../images/support/s3-server';
import type { S3Backend } from '../images/support/s3-server';
import { ADMIN_KEY, auth, KEY_A, startService, testEnv, waitRun } from './support/harness';
import type { Service } from './support/harness';
import { startServe } from '../../apps/api/src/serve';

function ext4Image(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'svc-img-'));
  mkdirSync(join(dir, 'tree/bin'), { recursive: true });
  writeFileSync(join(dir, 'tree/bin/hello'), 'hi\n');
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', join(dir, 'tree'), join(dir, 'img.ext4'), '4M'], {
    stdio: 'ignore',
  });
  return readFileSync(join(dir, 'img.ext4'));
}

const upload = (url: string, ref: string, body: Buffer, key = ADMIN_KEY, type = 'application/octet-stream') =>
  fetch(`${url}/v1/images?ref=${encodeURIComponent(ref)}`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': type },
    body,
  });

describe('images: local store (no S3)', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('uploads a validated ext4 image, lists it, runs on it, deletes it', async () => {
    const r = await upload(svc.url, 'tiny:1', ext4Image());
    expect(r.status).toBe(201);
    const info = (await r.json()) as { ref: string; digest: string };
    expect(info.ref).toBe('tiny:1');
    expect(info.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const list = (await (await fetch(`${svc.url}/v1/images`, { headers: auth(KEY_A) })).json()) as {
      images: { ref: string }[];
      store: string;
    };
    expect(list.store).toBe('local');
    expect(list.images.map((i) => i.ref)).toEqual(['tiny:1']);
    // The run gets the image (the scripted engine ignores the root; the runner resolved it).
    const run = await fetch(`${svc.url}/v1/runs?wait=10`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'tiny:1', argv: ['echo', 'on tiny'] }),
    });
    expect(((await run.json()) as { status: string }).status).toBe('succeeded');
    const del = await fetch(`${svc.url}/v1/images/${encodeURIComponent('tiny:1')}`, {
      method: 'DELETE',
      headers: auth(ADMIN_KEY),
    });
    expect(del.status).toBe(200);
    const again = await fetch(`${svc.url}/v1/images/${encodeURIComponent('tiny:1')}`, {
      method: 'DELETE',
      headers: auth(ADMIN_KEY),
    });
    expect(again.status).toBe(404);
  });

  it('streams the upload whatever its Content-Type says (text/plain here)', async () => {
    const r = await upload(svc.url, 'plain:1', ext4Image(), ADMIN_KEY, 'text/plain');
    expect(r.status).toBe(201);
    expect(((await r.json()) as { ref: string }).ref).toBe('plain:1');
    const del = await fetch(`${svc.url}/v1/images/${encodeURIComponent('plain:1')}`, {
      method: 'DELETE',
      headers: auth(ADMIN_KEY),
    });
    expect(del.status).toBe(200);
  });

  it('refuses a file that is not ext4, an empty upload and a bad name', async () => {
    const notExt4 = await upload(svc.url, 'junk:1', Buffer.alloc(70_000, 1));
    expect(notExt4.status).toBe(400);
    const body = (await notExt4.json()) as { error: { code: string; details: { reason: string } } };
    expect(body.error.code).toBe('invalid_image_file');
    expect(body.error.details.reason).toBeTruthy();
    expect((await upload(svc.url, 'empty:1', Buffer.alloc(0))).status).toBe(400);
    expect((await upload(svc.url, 'Bad Name', ext4Image())).status).toBe(400);
    const list = (await (await fetch(`${svc.url}/v1/images`, { headers: auth(KEY_A) })).json()) as {
      images: unknown[];
    };
    expect(list.images).toEqual([]);
  });

  it('readyz reports Redis and the image store', async () => {
    const r = await fetch(`${svc.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok', checks: { redis: 'ok', imageStore: 'ok' } });
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('serves the OpenAPI document at /docs', async () => {
    const r = await fetch(`${svc.url}/docs/openapi.json`);
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { paths: Record<string, unknown> };
    for (const p of [
      '/v1/runs',
      '/v1/runs/{id}',
      '/v1/runs/{id}/events',
      '/v1/runs/{id}/cancel',
      '/v1/batches',
      '/v1/images',
    ])
      expect(Object.keys(doc.paths)).toContain(p);
  });
});

describe('images and artifacts in S3 (s3rver on loopback)', () => {
  let s3: S3Backend;
  let svc: Service;
  let s3env: Record<string, string>;
  beforeAll(async () => {
    s3 = await startS3rver();
    const cfg = s3ConfigFor(s3);
    await new S3ImageStore(cfg).ensureBucket();
    s3env = {
      LICHEN_S3_ENDPOINT: cfg.endpoint as string,
      LICHEN_S3_BUCKET: cfg.bucket,
      LICHEN_S3_ACCESS_KEY_ID: s3.accessKeyId,
      LICHEN_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      LICHEN_S3_MAX_ATTEMPTS: '1',
    };
    svc = await startService(s3env);
  });
  afterAll(async () => {
    await svc?.stop();
    await s3?.stop();
  });

  it('upload goes to S3, runs resolve it through the runner cache, artifacts land in S3', async () => {
    expect((await upload(svc.url, 'tiny:2', ext4Image())).status).toBe(201);
    const list = (await (await fetch(`${svc.url}/v1/images`, { headers: auth(KEY_A) })).json()) as {
      images: { ref: string }[];
      store: string;
    };
    expect(list.store).toBe('s3');
    expect(list.images.map((i) => i.ref)).toEqual(['tiny:2']);
    const r = await fetch(`${svc.url}/v1/runs`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'tiny:2', argv: ['write-artifact'], artifacts: true }),
    });
    const run = await waitRun(svc.url, KEY_A, ((await r.json()) as { id: string }).id);
    expect(run.status).toBe('succeeded');
    const tar = await fetch(`${svc.url}/v1/runs/${run.id as string}/artifacts`, { headers: auth(KEY_A) });
    expect(tar.status).toBe(200);
    expect(
      Buffer.from(await tar.arrayBuffer())
        .subarray(512, 526)
        .toString(),
    ).toBe('artifact data\n');
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/lichen_image_cache_requests_total\{result="miss",app="api"\} 1/);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
  });

  it('a service whose S3 bucket is unreachable fails at start-up with a clear message', async () => {
    const { env } = testEnv({ ...s3env, LICHEN_S3_BUCKET: 'no-such-bucket-lichen' });
    await expect(startServe({ env, port: 0, host: '127.0.0.1' })).rejects.toThrow(
      /image store unreachable: S3 bucket no-such-bucket-lichen/,
    );
  });
});
