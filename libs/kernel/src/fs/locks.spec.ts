import { describe, expect, it } from 'vitest';
import type { Stat } from '@lichen/vfs';
import { Errno } from '../errno';
import type { Kernel } from '../kernel';
import type { Process, Task } from '../task';
import { anonStat, KFile } from './file';
import { F_RDLCK, F_UNLCK, F_WRLCK, MAX_RANGES_PER_INODE, OFFSET_MAX, resolveRange, setLock, testLock } from './locks';

class FakeFile extends KFile {
  constructor(private readonly ino: number) {
    super(2);
  }
  describe(): string {
    return 'fake';
  }
  stat(): Stat {
    return anonStat(0o100644, this.ino);
  }
}

describe('resolveRange (struct flock to an absolute byte range)', () => {
  it('applies whence and the three forms of l_len', () => {
    expect(resolveRange(F_WRLCK, 0, 10n, 5n, 0, 0)).toEqual({ type: F_WRLCK, start: 10n, end: 14n });
    expect(resolveRange(F_WRLCK, 1, 2n, 0n, 100, 0)).toEqual({ type: F_WRLCK, start: 102n, end: OFFSET_MAX });
    expect(resolveRange(F_RDLCK, 2, -10n, -5n, 0, 50)).toEqual({ type: F_RDLCK, start: 35n, end: 39n });
  });
  it('rejects bad whence, negative starts and overflowing ranges', () => {
    expect(resolveRange(F_RDLCK, 3, 0n, 1n, 0, 0)).toBe(Errno.EINVAL);
    expect(resolveRange(F_RDLCK, 0, -1n, 1n, 0, 0)).toBe(Errno.EINVAL);
    expect(resolveRange(F_RDLCK, 0, 2n, -3n, 0, 0)).toBe(Errno.EINVAL);
    expect(resolveRange(F_RDLCK, 1, OFFSET_MAX, 1n, 1, 0)).toBe(Errno.EOVERFLOW);
    expect(resolveRange(F_RDLCK, 0, OFFSET_MAX - 1n, 3n, 0, 0)).toBe(Errno.EOVERFLOW);
  });
});

describe('record lock table', () => {
  const k = {} as Kernel;
  const t = {} as Task;
  const a = { pid: 10 } as Process;
  const b = { pid: 11 } as Process;
  it('splits and merges one owner’s ranges and reports conflicts to another', async () => {
    const f = new FakeFile(1);
    const r = (type: number, start: bigint, end: bigint) => ({ type, start, end });
    expect(await setLock(k, t, f, a, 10, r(F_WRLCK, 0n, 99n), false)).toBe(0);
    expect(await setLock(k, t, f, a, 10, r(F_UNLCK, 40n, 59n), false)).toBe(0);
    expect(testLock(k, f, b, r(F_RDLCK, 40n, 59n))).toBeUndefined();
    expect(testLock(k, f, b, r(F_RDLCK, 50n, OFFSET_MAX))).toMatchObject({ start: 60n, end: 99n, pid: 10 });
    expect(testLock(k, f, a, r(F_WRLCK, 0n, OFFSET_MAX))).toBeUndefined();
    expect(await setLock(k, t, f, b, 11, r(F_RDLCK, 0n, 0n), false)).toBe(-Errno.EAGAIN);
    expect(await setLock(k, t, f, a, 10, r(F_WRLCK, 40n, 59n), false)).toBe(0);
    expect(testLock(k, f, b, r(F_RDLCK, 0n, OFFSET_MAX))).toMatchObject({ start: 0n, end: 99n });
  });
  it('refuses to split one inode into more ranges than the limit (ENOLCK)', async () => {
    const f = new FakeFile(2);
    let last = 0;
    for (let i = 0; i <= MAX_RANGES_PER_INODE; i++) {
      last = await setLock(
        k,
        t,
        f,
        a,
        10,
        { type: i % 2 ? F_RDLCK : F_WRLCK, start: BigInt(i), end: BigInt(i) },
        false,
      );
      if (last !== 0) break;
    }
    expect(last).toBe(-Errno.ENOLCK);
  });
});
