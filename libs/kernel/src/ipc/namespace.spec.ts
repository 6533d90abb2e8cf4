import { describe, expect, it } from 'vitest';
import { Errno, KernelError } from '../errno';
import type { Task } from '../task';
import { IPC_CREAT, IPC_EXCL, IpcIds, IpcObject, ipcGet, ipcPerms } from './namespace';

function task(euid: number, egid: number, groups: number[] = []): Task {
  return { process: { creds: { euid, egid, groups } } } as unknown as Task;
}

const root = task(0, 0);
const obj = (key = 0, mode = 0o600, t: Task = root): IpcObject => new IpcObject(key, t, mode, 1);

function errnoOf(fn: () => unknown): Errno | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e instanceof KernelError ? e.errno : null;
  }
}

describe('IpcIds: ids as Linux computes them', () => {
  it('hands out indexes cyclically and bumps the sequence when it wraps', () => {
    const ids = new IpcIds<IpcObject>(() => 32000);
    const a = obj();
    const b = obj();
    expect(ids.add(a)).toBe(0);
    expect(ids.add(b)).toBe(1);
    ids.remove(a);
    // the cursor moves on: index 2, not the freed 0
    expect(ids.add(obj())).toBe(2);
    ids.remove(b);
    for (let i = 3; i < 64; i++) ids.remove(ids.byIndex(ids.add(obj())));
    // below 64 objects the cycle is 64 long: the next one wraps to index 0 with seq 1
    const w = obj();
    expect(ids.add(w)).toBe(32768);
    expect(ids.obtain(32768)).toBe(w);
    expect(errnoOf(() => ids.obtain(0))).toBe(Errno.EINVAL);
    expect(errnoOf(() => ids.obtain(-1))).toBe(Errno.EINVAL);
    expect(ids.byIndex(0)).toBe(w);
    expect(ids.maxIdx).toBe(2);
    expect(ids.inUse).toBe(2);
  });

  it('ENOSPC at the family limit', () => {
    const ids = new IpcIds<IpcObject>(() => 2);
    ids.add(obj());
    ids.add(obj());
    expect(errnoOf(() => ids.add(obj()))).toBe(Errno.ENOSPC);
  });

  it('ipcget: keys, IPC_CREAT, IPC_EXCL, ENOENT, EACCES', () => {
    const ids = new IpcIds<IpcObject>(() => 100);
    const user = task(1000, 1000);
    const make = (t: Task, flags: number) => () => new IpcObject(42, t, flags, 1);
    expect(errnoOf(() => ipcGet(ids, root, 42, 0o600, make(root, 0o600)))).toBe(Errno.ENOENT);
    const id = ipcGet(ids, user, 42, IPC_CREAT | 0o640, make(user, IPC_CREAT | 0o640));
    expect(ipcGet(ids, user, 42, 0o600, make(user, 0))).toBe(id);
    expect(errnoOf(() => ipcGet(ids, user, 42, IPC_CREAT | IPC_EXCL, make(user, 0)))).toBe(Errno.EEXIST);
    // group read only
    expect(ipcGet(ids, task(2000, 1000), 42, 0o400, make(user, 0))).toBe(id);
    expect(errnoOf(() => ipcGet(ids, task(2000, 1000), 42, 0o200, make(user, 0)))).toBe(Errno.EACCES);
    expect(errnoOf(() => ipcGet(ids, task(2000, 2000), 42, 0o400, make(user, 0)))).toBe(Errno.EACCES);
    // supplementary groups count, root passes everything
    expect(ipcGet(ids, task(2000, 2000, [1000]), 42, 0o400, make(user, 0))).toBe(id);
    expect(ipcPerms(root, ids.obtain(id), 0o777)).toBe(true);
  });
});
