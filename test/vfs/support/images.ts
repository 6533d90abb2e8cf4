/**
 * Test images: generated trees turned into ext2/3/4 images with `mke2fs -d`, cached under
 * .cache/vfs-images (git-ignored) by a key of the generator version and mke2fs arguments.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CACHE = path.resolve(__dirname, '../../../.cache/vfs-images');
const GEN_VERSION = 4;

/** Deterministic pseudo-random bytes. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
export function randomBytes(seed: number, n: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc((n + 3) & ~3);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(r(), i);
  return b.subarray(0, n);
}

export interface TreeOptions {
  /** Number of entries of the big directory (htree). */
  bigDir?: number;
  /** Include device nodes and fifos. */
  specials?: boolean;
  /** Big file sizes. */
  bigFile?: number;
  /** Sparse file with data at every other block of this block size (deep extent trees). */
  alternating?: { blocks: number; blockSize: number };
  /** Small tree for fuzzing: no multi-megabyte files. */
  small?: boolean;
  /**
   * Add /fragmented, written by debugfs into the free-space holes left by deleting every
   * other of 1500 one-block files: a truly fragmented file with a deep extent tree.
   */
  fragment?: boolean;
}

/** Generates the standard test tree. */
export function generateTree(dir: string, opts: TreeOptions = {}): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const w = (p: string, data: Buffer | string, mode = 0o644): void => {
    fs.writeFileSync(path.join(dir, p), data);
    fs.chmodSync(path.join(dir, p), mode);
  };
  fs.mkdirSync(path.join(dir, 'etc'));
  w('etc/hello.txt', 'hello, world\n');
  w('empty', '');
  w('etc/exec.sh', '#!/bin/sh\necho hi\n', 0o755);
  w('setuid', 'x', 0o4755);
  for (const size of [1, 59, 60, 61, 1023, 1024, 1025, 4095, 4096, 4097, 65536, 200_000]) {
    w(`size-${size}`, randomBytes(size, size));
  }
  w('big', randomBytes(7, opts.bigFile ?? (opts.small ? 300_000 : 3_000_000)));
  // sparse: hole, data, hole, data at the end
  const sp = path.join(dir, 'sparse');
  const fd = fs.openSync(sp, 'w');
  fs.writeSync(fd, randomBytes(11, 5000), 0, 5000, 1_000_000);
  fs.writeSync(fd, Buffer.from('end'), 0, 3, opts.small ? 2_000_000 : 20_000_000);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(dir, 'all-hole'), '');
  fs.truncateSync(path.join(dir, 'all-hole'), opts.small ? 300_000 : 3_000_000);
  if (opts.alternating) {
    const { blocks, blockSize } = opts.alternating;
    const afd = fs.openSync(path.join(dir, 'alternating'), 'w');
    for (let i = 0; i < blocks; i += 2) {
      fs.writeSync(afd, randomBytes(1000 + i, blockSize), 0, blockSize, i * blockSize);
    }
    fs.closeSync(afd);
  }
  // symlinks: fast (<60), exactly 59/60/61, long, dangling, to dir
  fs.mkdirSync(path.join(dir, 'links'));
  fs.symlinkSync('../etc/hello.txt', path.join(dir, 'links/fast'));
  fs.symlinkSync('a'.repeat(59), path.join(dir, 'links/s59'));
  fs.symlinkSync('b'.repeat(60), path.join(dir, 'links/s60'));
  fs.symlinkSync('c'.repeat(61), path.join(dir, 'links/s61'));
  fs.symlinkSync(('long/' + 'd'.repeat(170) + '/').repeat(5) + 'end', path.join(dir, 'links/long'));
  fs.symlinkSync('/nonexistent/target', path.join(dir, 'links/dangling'));
  fs.symlinkSync('../etc', path.join(dir, 'links/todir'));
  // hard links
  fs.linkSync(path.join(dir, 'etc/hello.txt'), path.join(dir, 'links/hard1'));
  fs.linkSync(path.join(dir, 'etc/hello.txt'), path.join(dir, 'hard2'));
  // nested dirs, odd names, owners, times
  let p = dir;
  for (let i = 0; i < 12; i++) {
    p = path.join(p, `level${i}`);
    fs.mkdirSync(p);
  }
  fs.writeFileSync(path.join(p, 'deep.txt'), 'deep\n');
  fs.mkdirSync(path.join(dir, 'names'));
  for (const n of ['space name', 'ünïcödé', 'x'.repeat(255), '-dash', 'UPPER', 'a.b.c', 'tab\tname']) {
    fs.writeFileSync(path.join(dir, 'names', n), n);
  }
  fs.mkdirSync(path.join(dir, 'owned'), { mode: 0o750 });
  fs.writeFileSync(path.join(dir, 'owned/file'), 'owned\n');
  fs.chownSync(path.join(dir, 'owned'), 1000, 1000);
  fs.chownSync(path.join(dir, 'owned/file'), 1234, 5678);
  fs.mkdirSync(path.join(dir, 'sticky'), { mode: 0o777 });
  fs.chmodSync(path.join(dir, 'sticky'), 0o1777);
  fs.utimesSync(path.join(dir, 'etc/hello.txt'), 1_000_000_000.5, 1_234_567_890.25);
  fs.utimesSync(path.join(dir, 'empty'), 2_000_000_000, 2_100_000_000);
  if (opts.specials) {
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    execFileSync('mknod', [path.join(dir, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [path.join(dir, 'blk'), 'b', '8', '1']);
    execFileSync('mknod', [path.join(dir, 'bigdev'), 'c', '300', '70000']);
  }
  if (opts.bigDir) {
    fs.mkdirSync(path.join(dir, 'bigdir'));
    for (let i = 0; i < opts.bigDir; i++)
      fs.writeFileSync(path.join(dir, 'bigdir', `entry-${i}-${'n'.repeat(i % 40)}`), '');
  }
}

function addFragmented(image: string, tree: string): void {
  const work = `${image}.frag`;
  fs.mkdirSync(work, { recursive: true });
  const small = path.join(work, 'small');
  fs.writeFileSync(small, randomBytes(99, 1024));
  const src = path.join(work, 'fragmented');
  fs.writeFileSync(src, randomBytes(98, 600_000));
  const n = 1500;
  const cmds: string[] = [];
  for (let i = 0; i < n; i++) cmds.push(`write ${small} fill${i}`);
  for (let i = 0; i < n; i += 2) cmds.push(`rm fill${i}`);
  cmds.push(`write ${src} fragmented`);
  for (let i = 1; i < n; i += 2) cmds.push(`rm fill${i}`);
  cmds.push('sif /fragmented mtime @1600000000', 'sif /fragmented uid 0', 'sif /fragmented gid 0');
  fs.writeFileSync(path.join(work, 'cmds'), cmds.join('\n') + '\n');
  execFileSync('debugfs', ['-w', '-f', path.join(work, 'cmds'), image], { stdio: 'pipe', maxBuffer: 64 << 20 });
  fs.copyFileSync(src, path.join(tree, 'fragmented'));
  fs.chmodSync(path.join(tree, 'fragmented'), fs.statSync(src).mode & 0o7777);
  fs.utimesSync(path.join(tree, 'fragmented'), 1_600_000_000, 1_600_000_000);
  fs.rmSync(work, { recursive: true, force: true });
}

export interface ImageSpec {
  name: string;
  /** mke2fs arguments before -d (e.g. ['-t', 'ext4', '-O', '^64bit']). */
  mkfs: string[];
  size: string;
  tree: TreeOptions;
}

/** Builds (or reuses) the image; returns {image, tree}. */
export function buildImage(spec: ImageSpec): { image: string; tree: string } {
  const key = createHash('sha256').update(JSON.stringify({ GEN_VERSION, spec })).digest('hex').slice(0, 12);
  const base = path.join(CACHE, `${spec.name}-${key}`);
  const image = `${base}.img`;
  const tree = `${base}.tree`;
  if (fs.existsSync(image) && fs.existsSync(path.join(tree, '.done'))) return { image, tree };
  fs.mkdirSync(CACHE, { recursive: true });
  generateTree(tree, spec.tree);
  const tmp = `${image}.tmp`;
  fs.rmSync(tmp, { force: true });
  execFileSync('mke2fs', ['-q', '-F', ...spec.mkfs, '-E', 'root_owner=0:0', '-d', tree, tmp, spec.size], {
    stdio: 'pipe',
    env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000', MKE2FS_DEVICE_SECTSIZE: '512' },
  });
  if (spec.mkfs.join(' ').includes('-I 256')) {
    // mke2fs -d stores whole seconds; give one file nanoseconds (0.25 s, extra = nsec << 2).
    execFileSync('debugfs', ['-w', '-R', 'sif /etc/hello.txt mtime_extra 1000000000', tmp], { stdio: 'pipe' });
  }
  if (spec.tree.fragment) addFragmented(tmp, tree);
  fs.renameSync(tmp, image);
  fs.writeFileSync(path.join(tree, '.done'), '');
  return { image, tree };
}

export const FEATURE_SETS: ImageSpec[] = [
  { name: 'ext2', mkfs: ['-t', 'ext2'], size: '48M', tree: { specials: true } },
  { name: 'ext3', mkfs: ['-t', 'ext3'], size: '48M', tree: { specials: true } },
  { name: 'ext4', mkfs: ['-t', 'ext4', '-I', '256'], size: '48M', tree: { specials: true } },
  {
    name: 'ext4-1k',
    mkfs: ['-t', 'ext4', '-b', '1024', '-I', '256'],
    size: '64M',
    tree: { specials: true, alternating: { blocks: 2400, blockSize: 1024 }, fragment: true },
  },
  {
    name: 'ext4-noextent',
    mkfs: ['-t', 'ext4', '-O', '^extent,^64bit', '-I', '256'],
    size: '48M',
    tree: { specials: true },
  },
  {
    name: 'ext4-inline',
    mkfs: ['-t', 'ext4', '-O', 'inline_data', '-I', '256'],
    size: '48M',
    tree: { specials: true },
  },
  { name: 'ext4-no64', mkfs: ['-t', 'ext4', '-O', '^64bit', '-I', '256'], size: '48M', tree: { specials: true } },
  {
    name: 'ext4-nocsum',
    mkfs: ['-t', 'ext4', '-O', '^metadata_csum', '-I', '128'],
    size: '48M',
    tree: { specials: true },
  },
];

/** Small images for fuzzing (every case copies and walks the whole image). */
export const FUZZ_SETS: ImageSpec[] = [
  {
    name: 'fuzz-ext4',
    mkfs: ['-t', 'ext4', '-b', '4096', '-I', '256'],
    size: '8M',
    tree: { small: true, specials: true },
  },
  {
    name: 'fuzz-ext4-1k',
    mkfs: ['-t', 'ext4', '-b', '1024', '-I', '256'],
    size: '8M',
    tree: { small: true, alternating: { blocks: 800, blockSize: 1024 } },
  },
  { name: 'fuzz-ext2', mkfs: ['-t', 'ext2', '-b', '1024'], size: '8M', tree: { small: true, specials: true } },
  {
    name: 'fuzz-inline',
    mkfs: ['-t', 'ext4', '-O', 'inline_data', '-I', '256'],
    size: '8M',
    tree: { small: true },
  },
];

export const HTREE_ENTRIES = 20000;

/**
 * A directory of 20,000 entries with an htree index. `mke2fs -d` inserts entries linearly
 * (quadratic: minutes for 20k), so the image is made with 300 files, indexed by
 * `e2fsck -fD`, and grown to 20,000 entries with debugfs `ln` (which inserts through the
 * htree) as hard links of one file whose link count is then set (e2fsck -fn is clean).
 */
export function buildHtreeImage(): { image: string; names: string[] } {
  const names = Array.from({ length: HTREE_ENTRIES }, (_, i) => `f${i}`);
  const image = path.join(CACHE, `htree-v${GEN_VERSION}.img`);
  if (fs.existsSync(image)) return { image, names };
  fs.mkdirSync(CACHE, { recursive: true });
  const tree = path.join(CACHE, `htree-v${GEN_VERSION}.tree`);
  fs.rmSync(tree, { recursive: true, force: true });
  fs.mkdirSync(path.join(tree, 'bigdir'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'target'), 'target\n');
  for (let i = 0; i < 300; i++) fs.linkSync(path.join(tree, 'target'), path.join(tree, 'bigdir', names[i]));
  const tmp = `${image}.tmp`;
  fs.rmSync(tmp, { force: true });
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-I', '256', '-N', '4096', '-d', tree, tmp, '32M'], {
    stdio: 'pipe',
  });
  try {
    execFileSync('e2fsck', ['-fyD', tmp], { stdio: 'pipe' });
  } catch (e) {
    // exit status 1 = "errors corrected" (the directory was optimised)
    if ((e as { status?: number }).status !== 1) throw e;
  }
  const cmds = names.slice(300).map((n) => `ln /target /bigdir/${n}`);
  cmds.push(`sif /target links_count ${HTREE_ENTRIES + 1}`);
  const cmdFile = `${tmp}.cmds`;
  fs.writeFileSync(cmdFile, cmds.join('\n') + '\n');
  execFileSync('debugfs', ['-w', '-f', cmdFile, tmp], { stdio: 'pipe', maxBuffer: 64 << 20 });
  fs.rmSync(cmdFile);
  fs.renameSync(tmp, image);
  fs.rmSync(tree, { recursive: true, force: true });
  return { image, names };
}
