/**
 * npm run bench:vfs [-- --image PATH] [--runs N]
 *
 * Reads every regular file of an ext4 image through the Lichen VFS (ext4 reader on a local
 * file block device) and hashes it (sha256), then runs `debugfs -R 'rdump / DIR'` on the same
 * image in the same run (extracting to /dev/shm, so the host disk is not what is measured),
 * and prints MB/s for both and the time ratio Lichen/debugfs (target ≤ 3×). Both read the
 * image from the host page cache (the image is read once before timing); each reader has one
 * untimed warm-up pass, then the median of --runs (default 5) timed passes is compared.
 *
 * Image: --image PATH; else `debian` from the local image store (lichen image build debian);
 * else a synthetic image built with mke2fs -d from a copy of the host's /usr/share (cached
 * under .cache/vfs-bench), said in the output.
 * Also reports the cached path walk: re-resolving every path reads no blocks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AT_SYMLINK_NOFOLLOW,
  CountingBlockDevice,
  Ext4Fs,
  FileBlockDevice,
  O_DIRECTORY,
  O_RDONLY,
  Vfs,
} from '../libs/vfs/src';
import { defaultImageDir } from '../libs/images/src';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function findImage(): { image: string; label: string } {
  const given = arg('image');
  if (given) return { image: given, label: `--image ${given}` };
  try {
    const dir = defaultImageDir();
    const tag = JSON.parse(fs.readFileSync(path.join(dir, 'tags', 'debian', 'latest.json'), 'utf8')) as {
      sha256: string;
    };
    const blob = path.join(dir, 'blobs', `${tag.sha256}.ext4`);
    if (fs.existsSync(blob)) return { image: blob, label: `debian:latest from the local store (${blob})` };
  } catch {
    // no debian image: fall through
  }
  const cache = path.resolve(__dirname, '../.cache/vfs-bench');
  const image = path.join(cache, 'usr-share.ext4');
  if (!fs.existsSync(image)) {
    fs.mkdirSync(cache, { recursive: true });
    console.log('building the synthetic image (mke2fs -d of /usr/share) ...');
    const tmp = `${image}.tmp`;
    fs.rmSync(tmp, { force: true });
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', '/usr/share', tmp, '1600M'], { stdio: 'inherit' });
    fs.renameSync(tmp, image);
  }
  return { image, label: `synthetic: mke2fs -t ext4 -d /usr/share (no debian image in the local store), ${image}` };
}

async function lichenRead(
  image: string,
): Promise<{ files: number; bytes: number; ms: number; paths: string[]; digest: string }> {
  const dev = await FileBlockDevice.open(image);
  const t0 = process.hrtime.bigint();
  const vfs = new Vfs();
  await vfs.mount(await Ext4Fs.open(dev, { cacheBlocks: 16384 }));
  const ctx = vfs.newContext();
  const buf = new Uint8Array(4 << 20);
  let files = 0;
  let bytes = 0;
  const paths: string[] = [];
  const all = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const d = await vfs.open(ctx, undefined, dir, O_RDONLY | O_DIRECTORY);
    const entries = await d.readdir();
    await d.release();
    for (const e of entries) {
      if (e.name === '.' || e.name === '..') continue;
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      paths.push(p);
      if (e.type === 4) await walk(p);
      else if (e.type === 8) {
        const f = await vfs.open(ctx, undefined, p, O_RDONLY);
        const h = createHash('sha256');
        for (;;) {
          const n = await f.read(buf);
          if (n === 0) break;
          h.update(buf.subarray(0, n));
          bytes += n;
        }
        await f.release();
        all.update(h.digest());
        files++;
      }
    }
  };
  await walk('/');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await dev.close();
  return { files, bytes, ms, paths, digest: all.digest('hex').slice(0, 16) };
}

async function cachedWalk(image: string, paths: string[]): Promise<{ reads: number; ms: number }> {
  const dev = new CountingBlockDevice(await FileBlockDevice.open(image));
  const vfs = new Vfs();
  await vfs.mount(await Ext4Fs.open(dev, { cacheBlocks: 64 }));
  const ctx = vfs.newContext();
  for (const p of paths) await vfs.stat(ctx, undefined, p, AT_SYMLINK_NOFOLLOW).catch(() => undefined);
  const before = dev.reads;
  const t0 = process.hrtime.bigint();
  for (const p of paths) await vfs.stat(ctx, undefined, p, AT_SYMLINK_NOFOLLOW).catch(() => undefined);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await dev.close();
  return { reads: dev.reads - before, ms };
}

function debugfsRdump(image: string): { ms: number; bytes: number } {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const out = fs.mkdtempSync(path.join(base, 'lichen-bench-vfs-'));
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('debugfs', ['-R', `rdump / ${out}`, image], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`debugfs failed: ${r.stderr.toString()}`);
    const du = execFileSync('du', ['-sb', '--apparent-size', out]).toString();
    return { ms, bytes: Number(du.split(/\s/)[0]) };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs = Number(arg('runs') ?? '5');
  const { image, label } = findImage();
  const size = fs.statSync(image).size;
  console.log(`image: ${label}`);
  console.log(`image size: ${(size / 1048576).toFixed(0)} MiB`);
  // warm the page cache so both readers see the same (cached) image
  execFileSync('cat', [image], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
  // One untimed pass of each first: JIT warm-up for Lichen, dentry/inode caches of the host
  // for debugfs's output directory. The cold Lichen pass is printed too.
  const cold = await lichenRead(image);
  debugfsRdump(image);
  console.log(`lichen cold first pass (JIT warm-up, not counted): ${cold.ms.toFixed(0)} ms`);
  const lichen: number[] = [];
  const debugfs: number[] = [];
  let info = { files: 0, bytes: 0, paths: [] as string[], digest: '' };
  for (let i = 0; i < runs; i++) {
    const l = await lichenRead(image);
    lichen.push(l.ms);
    info = l;
    debugfs.push(debugfsRdump(image).ms);
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const lm = med(lichen);
  const dm = med(debugfs);
  const mb = info.bytes / 1e6;
  console.log(`files: ${info.files}, bytes: ${info.bytes} (content digest ${info.digest})`);
  console.log(
    `lichen VFS read+sha256: ${lm.toFixed(0)} ms  ${(mb / (lm / 1000)).toFixed(1)} MB/s  (runs: ${lichen.map((x) => x.toFixed(0)).join(', ')})`,
  );
  console.log(
    `debugfs rdump:          ${dm.toFixed(0)} ms  ${(mb / (dm / 1000)).toFixed(1)} MB/s  (runs: ${debugfs.map((x) => x.toFixed(0)).join(', ')})`,
  );
  console.log(`ratio lichen/debugfs: ${(lm / dm).toFixed(2)}x (target <= 3x)`);
  const cw = await cachedWalk(image, info.paths);
  console.log(`cached path walk of ${info.paths.length} paths: ${cw.reads} block reads, ${cw.ms.toFixed(0)} ms`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
