/** The overlay's artifacts export lists deletions as OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AT_REMOVEDIR, Ext4Fs, FileBlockDevice, O_CREAT, O_WRONLY, OverlayFs, TmpFs, Vfs } from '@lichen/vfs';
import { buildImage, FEATURE_SETS } from './support/images';
import { listDir } from './support/walk';

const devs: FileBlockDevice[] = [];
afterAll(async () => {
  for (const d of devs) await d.close();
});

async function setup(): Promise<{ vfs: Vfs; ovl: OverlayFs }> {
  const image = buildImage(FEATURE_SETS.find((s) => s.name === 'ext4')!).image;
  const dev = await FileBlockDevice.open(image);
  devs.push(dev);
  const ovl = new OverlayFs(await Ext4Fs.open(dev), new TmpFs({ rootMode: 0o755 }));
  const vfs = new Vfs();
  await vfs.mount(ovl);
  return { vfs, ovl };
}

async function exportToDisk(ovl: OverlayFs): Promise<{ tarPath: string; dir: string }> {
  const chunks: Uint8Array[] = [];
  for await (const c of ovl.exportTar()) chunks.push(c);
  const dir = fs.mkdtempSync(join(tmpdir(), 'lichen-ovl-wh-'));
  const tarPath = join(dir, 'layer.tar');
  fs.writeFileSync(tarPath, Buffer.concat(chunks));
  return { tarPath, dir };
}

/** `tar -tv` lines as [type char, size, path]. */
function listing(tarPath: string): { type: string; size: number; path: string }[] {
  return execFileSync('tar', ['-tvf', tarPath], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const cols = l.split(/\s+/);
      return { type: l[0] ?? '?', size: Number(cols[2]), path: cols.slice(5).join(' ') };
    });
}

describe('overlay export: deletions as OCI whiteouts', () => {
  it('a deleted lower file and a removed lower directory become zero-length .wh.<name> files', async () => {
    const { vfs, ovl } = await setup();
    const ctx = vfs.newContext();
    await vfs.unlink(ctx, undefined, '/etc/hello.txt');
    await vfs.unlink(ctx, undefined, '/big');
    for (const n of await listDir(vfs, ctx, '/links')) await vfs.unlink(ctx, undefined, `/links/${n}`);
    await vfs.unlink(ctx, undefined, '/links', AT_REMOVEDIR);
    // a file created and deleted within the run leaves nothing behind
    const f = await vfs.open(ctx, undefined, '/etc/tmp', O_WRONLY | O_CREAT, 0o644);
    await f.release();
    await vfs.unlink(ctx, undefined, '/etc/tmp');

    const { tarPath, dir } = await exportToDisk(ovl);
    try {
      const entries = listing(tarPath);
      const whiteouts = entries.filter((e) => /(^|\/)\.wh\./.test(e.path));
      expect(whiteouts.map((e) => e.path).sort()).toEqual(['.wh.big', '.wh.links', 'etc/.wh.hello.txt']);
      for (const w of whiteouts) expect([w.type, w.size]).toEqual(['-', 0]);
      // the parent of a nested whiteout is in the archive; nothing of the removed tree is
      expect(entries.map((e) => e.path)).toContain('etc/');
      expect(entries.some((e) => e.path.startsWith('links/'))).toBe(false);
      expect(entries.some((e) => e.path.includes('tmp'))).toBe(false);
      // the same deletions as changes() reports them
      const fromTar = whiteouts.map((e) => `/${e.path.replace(/(^|\/)\.wh\.([^/]+)$/, '$1$2')}`).sort();
      expect(fromTar).toEqual([...ovl.changes().deleted].sort());
      execFileSync('tar', ['-xf', tarPath, '-C', dir]);
      expect(fs.statSync(join(dir, 'etc/.wh.hello.txt')).size).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a directory recreated over a deleted one carries the opaque marker .wh..wh..opq', async () => {
    const { vfs, ovl } = await setup();
    const ctx = vfs.newContext();
    for (const n of await listDir(vfs, ctx, '/links')) await vfs.unlink(ctx, undefined, `/links/${n}`);
    await vfs.unlink(ctx, undefined, '/links', AT_REMOVEDIR);
    await vfs.mkdir(ctx, undefined, '/links', 0o755);
    const f = await vfs.open(ctx, undefined, '/links/only', O_WRONLY | O_CREAT, 0o644);
    await f.write(Buffer.from('new\n'));
    await f.release();

    const { tarPath, dir } = await exportToDisk(ovl);
    try {
      const paths = listing(tarPath).map((e) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['links/', 'links/.wh..wh..opq', 'links/only']));
      // the marker follows its directory; the directory is not also whited out
      expect(paths.indexOf('links/.wh..wh..opq')).toBe(paths.indexOf('links/') + 1);
      expect(paths).not.toContain('.wh.links');
      expect(ovl.changes()).toEqual({ deleted: [], opaque: ['/links'] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
