/**
 * Artifacts list deletions: a real busybox guest removes an image file and an image
 * directory; the artifacts tar (stored in S3: s3rver on loopback) holds OCI whiteouts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, defaultImageDir, LocalImageStore, S3ImageStore } from '@lichen/images';
import { startS3rver, s3ConfigFor } from '../images/support/s3-server';
import type { S3Backend } from '../images/support/s3-server';
import { ADMIN_KEY, auth, KEY_A, startService, submitRun, waitRun } from './support/harness';
import type { Service } from './support/harness';

let s3: S3Backend;
let svc: Service;

beforeAll(async () => {
  const local = new LocalImageStore(defaultImageDir());
  if (!local.get('busybox')) await buildImage('busybox', { store: local });
  const busybox = local.get('busybox');
  if (!busybox) throw new Error('busybox image missing');
  s3 = await startS3rver();
  const cfg = s3ConfigFor(s3);
  await new S3ImageStore(cfg).ensureBucket();
  // Real kernel (no LICHEN_VM_ENGINE override); images and artifacts in S3.
  svc = await startService({
    LICHEN_VM_ENGINE: '',
    LICHEN_S3_ENDPOINT: cfg.endpoint as string,
    LICHEN_S3_BUCKET: cfg.bucket,
    LICHEN_S3_ACCESS_KEY_ID: s3.accessKeyId,
    LICHEN_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  });
  const up = await fetch(`${svc.url}/v1/images?ref=busybox:latest`, {
    method: 'POST',
    headers: { ...auth(ADMIN_KEY), 'content-type': 'application/octet-stream' },
    body: readFileSync(busybox.path),
  });
  expect(up.status, await up.clone().text()).toBe(201);
}, 300_000);
afterAll(async () => {
  await svc?.stop();
  await s3?.stop();
});

async function runToEnd(body: unknown): Promise<Record<string, unknown>> {
  return waitRun(svc.url, KEY_A, await submitRun(svc.url, KEY_A, body), 90_000);
}

async function artifactsListing(id: string): Promise<{ lines: string[]; extract: (p: string) => string }> {
  const r = await fetch(`${svc.url}/v1/runs/${id}/artifacts`, { headers: auth(KEY_A) });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('application/x-tar');
  const dir = mkdtempSync(join(tmpdir(), 'lichen-wh-'));
  const tarPath = join(dir, 'a.tar');
  writeFileSync(tarPath, Buffer.from(await r.arrayBuffer()));
  const lines = execFileSync('tar', ['-tvf', tarPath], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const extract = (p: string): string => execFileSync('tar', ['-xOf', tarPath, p], { encoding: 'utf8' });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { lines, extract };
}
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** Path of a `tar -tv` line and whether it is a zero-length regular file. */
const entry = (line: string): { path: string; emptyFile: boolean } => {
  const cols = line.split(/\s+/);
  return { path: cols.slice(5).join(' '), emptyFile: line.startsWith('-') && cols[2] === '0' };
};

describe('artifacts list deletions as OCI whiteouts (real guest, S3)', () => {
  it('rm of an image file and rmdir of an image directory give .wh.<name> entries', async () => {
    const run = await runToEnd({
      image: 'busybox',
      argv: ['sh', '-c', 'rm /etc/hostname && rmdir /mnt && mkdir -p /out && echo kept > /out/new.txt && ls /'],
      artifacts: true,
    });
    expect(run.status, String(run.stderr)).toBe('succeeded');
    expect(String(run.stdout).split('\n')).not.toContain('mnt');
    const { lines, extract } = await artifactsListing(run.id as string);
    const entries = lines.map(entry);
    const byPath = new Map(entries.map((e) => [e.path.replace(/^\.\//, ''), e]));
    expect(byPath.get('etc/.wh.hostname')?.emptyFile, lines.join('\n')).toBe(true);
    expect(byPath.get('.wh.mnt')?.emptyFile, lines.join('\n')).toBe(true);
    // untouched image files are not in the layer; the deleted ones only as whiteouts
    expect(byPath.has('etc/hostname')).toBe(false);
    expect(byPath.has('etc/passwd')).toBe(false);
    expect([...byPath.keys()].some((p) => p.startsWith('mnt'))).toBe(false);
    expect(extract([...byPath.keys()].find((p) => /(^|\/)out\/new\.txt$/.test(p)) as string)).toBe('kept\n');
    expect(
      entries
        .filter((e) => e.path.includes('.wh.'))
        .map((e) => e.path.replace(/^\.\//, ''))
        .sort(),
    ).toEqual(['.wh.mnt', 'etc/.wh.hostname']);
  });

  it('a directory removed and made again is opaque (.wh..wh..opq); a file made and removed leaves nothing', async () => {
    const run = await runToEnd({
      image: 'busybox',
      argv: ['sh', '-c', 'rm -r /etc && mkdir /etc && echo x > /etc/only && touch /tmp/t && rm /tmp/t'],
      artifacts: true,
    });
    expect(run.status, String(run.stderr)).toBe('succeeded');
    const { lines } = await artifactsListing(run.id as string);
    const paths = lines.map((l) => entry(l).path.replace(/^\.\//, ''));
    expect(paths, lines.join('\n')).toEqual(expect.arrayContaining(['etc/', 'etc/.wh..wh..opq', 'etc/only']));
    expect(paths).not.toContain('.wh.etc');
    expect(paths.filter((p) => /(^|\/)tmp\/(\.wh\.)?t$/.test(p))).toEqual([]);
  });
  it('a batch build step that deletes an image file: its whiteout never becomes a file of the cases', async () => {
    const r = await fetch(`${svc.url}/v1/batches`, {
      method: 'POST',
      headers: { ...auth(KEY_A), 'content-type': 'application/json' },
      body: JSON.stringify({
        image: 'busybox',
        submissions: [{ id: 's1', files: [{ path: '/work/in.txt', content: Buffer.from('x').toString('base64') }] }],
        build: { argv: ['sh', '-c', 'rm /etc/hostname && echo built > /work/out'] },
        cases: [
          {
            name: 'c1',
            argv: ['sh', '-c', 'ls -a /etc /work | grep -c "[.]wh[.]"; cat /work/out'],
            expected: '0\nbuilt\n',
            compare: 'exact',
          },
        ],
        limits: { wallMs: 60_000 },
      }),
    });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    type View = { status: string; submissions: { cases: { verdict: string; detail: string | null }[] }[] };
    let v: View;
    const end = Date.now() + 90_000;
    for (;;) {
      v = (await (await fetch(`${svc.url}/v1/batches/${id}`, { headers: auth(KEY_A) })).json()) as View;
      if (v.status === 'completed' || Date.now() > end) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(v.submissions[0]?.cases[0], JSON.stringify(v)).toMatchObject({ verdict: 'accepted' });
  }, 120_000);
});
