/** The namespace battery (support/battery.ts) on tmpfs, overlay-over-ext4 and hostfs. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe } from 'vitest';
import { Ext4Fs, FileBlockDevice, HostFs, OverlayFs, TmpFs, Vfs } from '@lichen/vfs';
import { battery } from './support/battery';
import { buildImage, FEATURE_SETS } from './support/images';

let n = 0;

describe('tmpfs', () => {
  battery('tmpfs', async () => {
    const vfs = new Vfs();
    await vfs.mount(new TmpFs());
    const ctx = vfs.newContext();
    const dir = `/t${n++}`;
    await vfs.mkdir(ctx, undefined, dir, 0o755);
    return { vfs, ctx, dir, fullPosix: true };
  });
});

describe('overlay over ext4', () => {
  const devs: FileBlockDevice[] = [];
  afterAll(async () => {
    for (const d of devs) await d.close();
  });
  battery('overlay', async () => {
    const { image } = buildImage(FEATURE_SETS.find((s) => s.name === 'ext4')!);
    const dev = await FileBlockDevice.open(image);
    devs.push(dev);
    const vfs = new Vfs();
    await vfs.mount(new OverlayFs(await Ext4Fs.open(dev), new TmpFs({ rootMode: 0o755 })));
    const ctx = vfs.newContext();
    // a directory that exists in the lower layer, so every operation meets copy-up
    const dir = `/etc/t${n++}`;
    await vfs.mkdir(ctx, undefined, dir, 0o755);
    return { vfs, ctx, dir, fullPosix: true };
  });
});

describe('hostfs', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-hostfs-battery-'));
  const opened: HostFs[] = [];
  afterAll(async () => {
    for (const h of opened) await h.close();
    fs.rmSync(base, { recursive: true, force: true });
  });
  battery('hostfs', async () => {
    const host = path.join(base, `t${n++}`);
    fs.mkdirSync(host);
    fs.chmodSync(host, 0o755);
    const vfs = new Vfs();
    await vfs.mount(new TmpFs());
    const ctx = vfs.newContext();
    await vfs.mkdir(ctx, undefined, '/host', 0o755);
    const h = await HostFs.open(host);
    opened.push(h);
    await vfs.mount(h, '/host');
    await vfs.mkdir(ctx, undefined, '/host/w', 0o755);
    return { vfs, ctx, dir: '/host/w', fullPosix: true, nsec: false };
  });
});
