/** procfs inode numbers: one per kind of node, handed out in order of first use. */
import { describe, expect, it } from 'vitest';
import { ProcFs } from './procfs';
import type { ProcProvider } from './procfs-provider';
import { Vfs } from './vfs';

type Kind = Parameters<ProcFs['inoOf']>[0];

const provider: ProcProvider = {
  pids: () => [1],
  tids: () => [1],
  owner: () => ({ uid: 0, gid: 0 }),
  pidFile: () => null,
  pidFileNames: () => [],
  pidLink: () => null,
  fds: () => [],
  fdLink: () => null,
  globalFile: () => null,
  globalFileNames: () => [],
};

describe('procfs inode numbers', () => {
  it('are the same for equal kinds (an undefined field counts as absent) and new for any other', () => {
    const kinds: Kind[] = [
      { k: 'root' },
      { k: 'self' },
      { k: 'pid', pid: 1 },
      { k: 'pid', pid: 1, tid: undefined },
      { k: 'pid', pid: 1, tid: 1 },
      { k: 'pid', pid: 12 },
      { k: 'pidlink', pid: 1, tid: undefined, name: 'exe' },
      { k: 'pidlink', pid: 1, name: 'exe' },
      { k: 'pidlink', pid: 1, tid: 1, name: 'exe' },
      { k: 'pidfile', pid: 1, name: 'exe' },
      { k: 'pidfile', pid: 1, tid: 2, name: 'status' },
      { k: 'pidfile', pid: 12, name: 'status' },
      { k: 'thread-self' },
      { k: 'mounts-link' },
      { k: 'global', name: 'self' },
      { k: 'global', name: 'cpuinfo' },
      { k: 'fddir', pid: 1, info: false },
      { k: 'fddir', pid: 1, info: true },
      { k: 'fd', pid: 1, fd: 0 },
      { k: 'fdinfo', pid: 1, fd: 0 },
      { k: 'fd', pid: 10, fd: 0 },
      { k: 'fd', pid: 1, fd: 10 },
      { k: 'taskdir', pid: 1 },
      { k: 'self' },
      { k: 'pid', pid: 1 },
      { k: 'fddir', pid: 1, info: true },
    ];
    // What the numbers were when the key was the kind's JSON text.
    const byJson = new Map<string, number>();
    const want = kinds.map((kind) => {
      if (kind.k === 'root') return 1;
      const key = JSON.stringify(kind);
      if (!byJson.has(key)) byJson.set(key, byJson.size + 2);
      return byJson.get(key);
    });
    const fs = new ProcFs(new Vfs(), provider);
    expect(kinds.map((kind) => fs.inoOf(kind))).toEqual(want);
  });
});
