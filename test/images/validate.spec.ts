import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  closeSync,
  writeSync,
  readSync,
  truncateSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageValidationError, validateExt4Image } from '../../libs/images/src';
import { FileBlockDevice } from '../../libs/vfs/src';
import { tempDir } from './support/fixtures';

const dir = tempDir('validate');
const tree = join(dir, 'tree');
mkdirSync(join(tree, 'etc'), { recursive: true });
writeFileSync(join(tree, 'etc', 'hostname'), 'lichen\n');

let seq = 0;
function mkfs(args: string[], sizeMiB = 16): string {
  const p = join(dir, `img${++seq}.ext4`);
  execFileSync('mke2fs', ['-q', '-F', ...args, '-d', tree, p, `${sizeMiB}M`], { stdio: 'pipe' });
  return p;
}

/** Patches bytes of a file in place. */
function patch(path: string, offset: number, bytes: number[]): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
  closeSync(fd);
}
function readU32(path: string, offset: number): number {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(4);
  readSync(fd, b, 0, 4, offset);
  closeSync(fd);
  return b.readUInt32LE(0);
}
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const copy = (p: string) => {
  const q = join(dir, `copy${++seq}.ext4`);
  writeFileSync(q, readFileSync(p));
  return q;
};
async function refusal(p: string, opts = {}): Promise<ImageValidationError> {
  const err = await validateExt4Image(p, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageValidationError);
  return err as ImageValidationError;
}

describe('validateExt4Image', () => {
  it.each([
    ['ext4 (4 KiB blocks, flex_bg, metadata_csum)', ['-t', 'ext4', '-b', '4096'], 'ext4', 4096],
    ['ext4 with 1 KiB blocks (first data block 1, 8 groups)', ['-t', 'ext4', '-b', '1024'], 'ext4', 1024],
    ['ext4 with 64bit descriptors', ['-t', 'ext4', '-b', '4096', '-O', '64bit'], 'ext4', 4096],
    ['ext4 with meta_bg and 1 KiB blocks', ['-t', 'ext4', '-b', '1024', '-O', 'meta_bg,^resize_inode'], 'ext4', 1024],
    [
      'ext4 without flex_bg (per-group placement checked)',
      ['-t', 'ext4', '-b', '1024', '-O', '^flex_bg'],
      'ext4',
      1024,
    ],
    ['ext3', ['-t', 'ext3', '-b', '4096'], 'ext3', 4096],
    ['ext2', ['-t', 'ext2', '-b', '1024'], 'ext2', 1024],
  ])('accepts %s', async (_name, args, kind, blockSize) => {
    const img = mkfs(args as string[], 32);
    const s = await validateExt4Image(img);
    expect(s.kind).toBe(kind);
    expect(s.blockSize).toBe(blockSize);
    expect(s.fsBytes).toBe(32 * 1024 * 1024);
    expect(s.groups).toBeGreaterThan(0);
    expect(s.inodesCount).toBeGreaterThan(0);
  });

  it('also reads through a BlockDevice', async () => {
    const dev = await FileBlockDevice.open(mkfs(['-t', 'ext4']));
    try {
      expect((await validateExt4Image(dev)).kind).toBe('ext4');
    } finally {
      await dev.close();
    }
  });

  it('refuses a wrong magic', async () => {
    const p = copy(mkfs(['-t', 'ext4']));
    patch(p, 1024 + 0x38, [0x00, 0x00]);
    expect((await refusal(p)).message).toMatch(/superblock magic is 0x0, expected 0xef53/);
  });

  it('refuses a block size out of range', async () => {
    const p = copy(mkfs(['-t', 'ext2']));
    patch(p, 1024 + 0x18, u32(9));
    expect((await refusal(p)).code).toBe('bad_block_size');
  });

  it('refuses an image shorter than its filesystem', async () => {
    const p = copy(mkfs(['-t', 'ext4']));
    truncateSync(p, 8 * 1024 * 1024);
    expect((await refusal(p)).message).toMatch(
      /filesystem spans 16777216 bytes .* but the image is only 8388608 bytes/,
    );
  });

  it('refuses an image above the configured maximum', async () => {
    const p = mkfs(['-t', 'ext4']);
    expect((await refusal(p, { maxBytes: 1024 * 1024 })).message).toMatch(
      /image is 16777216 bytes, the maximum is 1048576/,
    );
  });

  it('refuses inconsistent geometry', async () => {
    const p = copy(mkfs(['-t', 'ext2']));
    patch(p, 1024 + 0x00, u32(readU32(p, 1024) + 1)); // inode count ≠ groups × per group
    expect((await refusal(p)).message).toMatch(/inode count \d+ ≠ \d+ groups × \d+ inodes per group/);
    const q = copy(mkfs(['-t', 'ext2']));
    patch(q, 1024 + 0x20, u32(0));
    expect((await refusal(q)).message).toMatch(/blocks per group is 0/);
  });

  it('refuses group descriptors that point outside the filesystem', async () => {
    const p = copy(mkfs(['-t', 'ext2', '-b', '4096']));
    // 4 KiB blocks: the descriptor table starts at block 1; group 0's inode table field.
    patch(p, 4096 + 0x8, u32(0x00ffffff));
    expect((await refusal(p)).message).toMatch(
      /group 0 descriptor: inode table at block 16777215 .* outside the filesystem/,
    );
  });

  it('refuses a descriptor that puts a bitmap in another group without flex_bg', async () => {
    const p = copy(mkfs(['-t', 'ext2', '-b', '1024']));
    // 1 KiB blocks: the descriptor table starts at block 2 (after the superblock at 1).
    const group1BlockBitmap = readU32(p, 2048 + 32 + 0x0);
    patch(p, 2048 + 0x0, u32(group1BlockBitmap)); // group 0's block bitmap → inside group 1
    expect((await refusal(p)).message).toMatch(/group 0 descriptor: block bitmap at block \d+ lies outside its group/);
  });

  it('checks the superblock checksum when metadata_csum is on', async () => {
    const p = copy(mkfs(['-t', 'ext4', '-O', 'metadata_csum']));
    patch(p, 1024 + 0x78, [0x41]); // change the volume name without fixing the checksum
    expect((await refusal(p)).message).toMatch(/superblock checksum mismatch/);
  });

  it.each([
    ['metadata_csum (crc32c)', ['-t', 'ext4', '-b', '1024', '-O', 'metadata_csum']],
    ['metadata_csum with 64bit descriptors', ['-t', 'ext4', '-b', '1024', '-O', 'metadata_csum,64bit']],
    ['gdt_csum (crc16)', ['-t', 'ext4', '-b', '1024', '-O', '^metadata_csum,uninit_bg']],
  ])('checks group descriptor checksums: %s', async (_name, args) => {
    const img = mkfs(args as string[]);
    expect((await validateExt4Image(img)).kind).toBe('ext4');
    const p = copy(img);
    // 1 KiB blocks: descriptors at block 2; bump group 1's used-directories count (field 0x10).
    const descSize = (await validateExt4Image(img)).descSize;
    const at = 2048 + descSize + 0x10;
    const fd = openSync(p, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = (b[0] as number) ^ 0x1;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    expect((await refusal(p)).message).toMatch(/group 1 descriptor: checksum mismatch/);
  });

  it('names refused and unknown incompatible features', async () => {
    const p = copy(mkfs(['-t', 'ext2']));
    const incompat = readU32(p, 1024 + 0x60);
    patch(p, 1024 + 0x60, u32(incompat | 0x10000));
    expect((await refusal(p)).message).toMatch(/feature "encrypt" refused/);
    patch(p, 1024 + 0x60, u32(incompat | 0x40000000));
    expect((await refusal(p)).message).toMatch(/unknown incompatible feature flags 0x40000000/);
  });

  it('refuses files that are not filesystems at all, with clear errors', async () => {
    const small = join(dir, 'small');
    writeFileSync(small, Buffer.alloc(100));
    expect((await refusal(small)).code).toBe('too_small');
    expect((await refusal(join(dir, 'missing'))).message).toMatch(/cannot open .*missing/);
    expect((await refusal(dir)).message).toMatch(/is not a regular file/);
  });
});
