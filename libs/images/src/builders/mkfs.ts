/**
 * Packs a staging tree into an ext4 image with `mke2fs -t ext4 -d`, deterministically:
 * the same tree and seed give the same bytes.
 *
 * - the filesystem UUID and the directory hash seed are derived from `seed` (`-U`, `-E hash_seed=`);
 * - superblock and inode creation times come from E2FSPROGS_FAKE_TIME;
 * - atime/mtime of every entry are set in the staging tree before packing; mke2fs copies the host
 *   inode change time (ctime), which cannot be set on the host, so a `debugfs -w` pass sets ctime
 *   and atime of every inode afterwards;
 * - the size and inode count are computed from the tree, not from free host space.
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { run } from './exec';
import type { TreeEntry } from './stage';

export interface PackOptions {
  /** Volume label (at most 16 bytes). */
  label: string;
  /** Anything that identifies the content (e.g. the sorted package list); UUID and hash seed derive from it. */
  seed: string;
  /** Timestamp of every inode and of the superblock, seconds since the epoch. */
  epochSeconds: number;
  /** The staging tree's entries (from walkTree). */
  entries: readonly TreeEntry[];
  /** Extra free space in bytes (default 4 MiB). */
  extraBytes?: number;
}

const BLOCK = 4096;

/** A UUID (RFC 4122 variant, version 4 layout) derived from `seed`. */
export function uuidFromSeed(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Image size and inode count for a tree: data blocks plus metadata, with headroom. */
export function imageGeometry(entries: readonly TreeEntry[], extraBytes = 4 << 20): { bytes: number; inodes: number } {
  let blocks = 0;
  for (const { stat } of entries) {
    if (stat.isFile()) blocks += Math.ceil(stat.size / BLOCK);
    else if (stat.isDirectory()) blocks += 1 + Math.ceil(stat.size / BLOCK);
    else if (stat.isSymbolicLink() && stat.size >= 60) blocks += 1;
  }
  const inodes = Math.ceil((entries.length + 64) * 1.25);
  const dataBytes = blocks * BLOCK * 1.05;
  const metaBytes = inodes * 256 + (4 << 20);
  const mib = 1 << 20;
  return { bytes: Math.ceil((dataBytes + metaBytes + extraBytes) / mib) * mib, inodes };
}

function debugfsQuote(path: string): string {
  if (/["\n\r\\]/.test(path))
    throw new Error(`cannot pack a file name containing quotes, backslashes or newlines: ${path}`);
  return `"${path}"`;
}

export async function packExt4(root: string, output: string, opts: PackOptions): Promise<void> {
  const { bytes, inodes } = imageGeometry(opts.entries, opts.extraBytes);
  const uuid = uuidFromSeed(`uuid:${opts.seed}`);
  const hashSeed = uuidFromSeed(`hash:${opts.seed}`);
  const env = { ...process.env, E2FSPROGS_FAKE_TIME: String(opts.epochSeconds), MKE2FS_CONFIG: '/dev/null' };
  rmSync(output, { force: true });
  // MKE2FS_CONFIG=/dev/null: the host's mke2fs.conf does not change the result; features are explicit.
  await run(
    'mke2fs',
    [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-O',
      'ext_attr,dir_index,filetype,extent,flex_bg,sparse_super,large_file,huge_file,dir_nlink,extra_isize,64bit,metadata_csum,^has_journal',
      '-b',
      String(BLOCK),
      '-I',
      '256',
      '-N',
      String(inodes),
      '-m',
      '0',
      '-L',
      opts.label.slice(0, 16),
      '-U',
      uuid,
      '-E',
      `hash_seed=${hashSeed},nodiscard,lazy_itable_init=0,root_owner=0:0`,
      '-d',
      root,
      output,
      `${bytes / 1024}k`,
    ],
    { env },
  );
  const t = `@${opts.epochSeconds}`;
  const script = opts.entries
    .map((e) => {
      const q = debugfsQuote(e.path);
      return `sif ${q} ctime ${t}\nsif ${q} ctime_extra 0\nsif ${q} atime ${t}\nsif ${q} atime_extra 0\n`;
    })
    .join('');
  const scriptFile = `${output}.debugfs`;
  writeFileSync(scriptFile, script);
  try {
    const { stderr } = await run('debugfs', ['-w', '-f', scriptFile, output], { env });
    const problems = stderr.split('\n').filter((l) => l.trim() && !/^debugfs \d/.test(l));
    if (problems.length) throw new Error(`debugfs could not normalise times: ${problems.slice(0, 5).join('; ')}`);
  } finally {
    rmSync(scriptFile, { force: true });
  }
  // A clean check guarantees the image the VFS reads is consistent.
  await run('e2fsck', ['-f', '-n', output], { env });
}
