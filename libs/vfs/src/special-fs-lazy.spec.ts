/**
 * sysfs and devfs make their nodes when first used: everything a caller can observe (names,
 * readdir cookies, inode numbers, times, sizes, link counts, contents, statfs) is what the
 * same filesystem made at mount time shows.
 */
import { describe, expect, it } from 'vitest';
import { DevFs, STANDARD_DEVICES } from './devfs';
import type { FileSystem } from './fs';
import { SysFs } from './sysfs';
import { TmpFs } from './tmpfs';
import {
  AT_SYMLINK_NOFOLLOW,
  isDir,
  isLnk,
  makedev,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_WRONLY,
  S_IFCHR,
  S_IFREG,
  type Timespec,
} from './types';
import { Vfs } from './vfs';

/** A clock that stands still until moved (like a deterministic run's before the guest starts). */
function testClock(): { clock: () => Timespec; set(sec: number): void; calls: () => number } {
  let now: Timespec = { sec: 1000, nsec: 5 };
  let calls = 0;
  return {
    clock: () => {
      calls++;
      return now;
    },
    set: (sec) => {
      now = { sec, nsec: 7 };
    },
    calls: () => calls,
  };
}

/** `fs` made at mount time: its deferred entries made now, in the constructor's place. */
function madeAtMount<T extends TmpFs>(fs: T): T {
  fs.rootSync().materialize();
  return fs;
}

/** Everything the VFS shows of a filesystem mounted as the root of a namespace of its own. */
async function dump(fs: FileSystem): Promise<unknown[]> {
  const vfs = new Vfs();
  await vfs.mount(fs);
  const ctx = vfs.newContext();
  const out: unknown[] = [await vfs.statfs(ctx, undefined, '/')];
  const walk = async (path: string): Promise<void> => {
    const st = await vfs.stat(ctx, undefined, path, AT_SYMLINK_NOFOLLOW);
    out.push({ path, st });
    if (isLnk(st.mode)) out.push(await vfs.readlink(ctx, undefined, path));
    else if (isDir(st.mode)) {
      const d = await vfs.open(ctx, undefined, path, O_RDONLY | O_DIRECTORY);
      const entries = await d.readdir(1000);
      await d.release();
      out.push(entries);
      for (const e of entries)
        if (e.name !== '.' && e.name !== '..') await walk(`${path === '/' ? '' : path}/${e.name}`);
    } else if ((st.mode & 0o170000) === S_IFREG) {
      const f = await vfs.open(ctx, undefined, path, O_RDONLY);
      const buf = new Uint8Array(8192);
      out.push(Buffer.from(buf.subarray(0, await f.read(buf))).toString('latin1'));
      await f.release();
    }
  };
  await walk('/');
  return out;
}

describe('sysfs made on first use', () => {
  it('lists, stats and reads exactly what a sysfs made at mount time does', async () => {
    const c = testClock();
    const eager = await dump(madeAtMount(new SysFs({ clock: c.clock })));
    const lazy = new SysFs({ clock: c.clock });
    c.set(2000);
    expect(await dump(lazy)).toEqual(eager);
  });

  it('makes no node and reads the clock once until it is used', () => {
    const c = testClock();
    const sys = new SysFs({ clock: c.clock, tree: { a: { b: 'x\n' } } });
    expect(c.calls()).toBe(1);
    expect(sys.rootSync().entries?.size).toBe(0);
    expect(sys.rootSync().child('a')?.child('b')?.a.size).toBe(2);
    expect(sys.rootSync().attr().nlink).toBe(3);
  });

  it('statfs before any lookup counts the nodes still to be made', async () => {
    const c = testClock();
    const eager = await madeAtMount(new SysFs({ clock: c.clock })).statfs();
    expect(await new SysFs({ clock: c.clock }).statfs()).toEqual(eager);
  });
});

describe('devfs made on first use', () => {
  it('lists, stats and reads exactly what a devfs made at mount time does', async () => {
    const c = testClock();
    const eager = await dump(madeAtMount(new DevFs({ clock: c.clock })));
    const lazy = new DevFs({ clock: c.clock });
    c.set(2000);
    expect(await dump(lazy)).toEqual(eager);
  });

  it("stamps what is made after first use with the clock's time", async () => {
    const c = testClock();
    const vfs = new Vfs({ clock: c.clock });
    await vfs.mount(new TmpFs({ clock: c.clock }));
    const ctx = vfs.newContext();
    await vfs.mkdir(ctx, undefined, '/dev', 0o755);
    await vfs.mount(new DevFs({ clock: c.clock }), '/dev');
    c.set(3000);
    const f = await vfs.open(ctx, undefined, '/dev/shm/x', O_WRONLY | O_CREAT, 0o600);
    await f.release();
    expect((await vfs.stat(ctx, undefined, '/dev/shm/x')).mtime.sec).toBe(3000);
    expect((await vfs.stat(ctx, undefined, '/dev/null')).mtime.sec).toBe(1000);
    // /dev/shm got a new entry now; /dev itself keeps the time it was made.
    expect((await vfs.stat(ctx, undefined, '/dev/shm')).mtime.sec).toBe(3000);
    expect((await vfs.stat(ctx, undefined, '/dev')).mtime.sec).toBe(1000);
  });

  it('addNode before any lookup keeps the standard nodes and their numbers', () => {
    const c = testClock();
    const dev = new DevFs({ clock: c.clock });
    const n = dev.addNode('pts/0', S_IFCHR | 0o620, makedev(136, 0));
    expect(dev.rootSync().child('null')?.a.ino).toBe(2);
    expect(dev.rootSync().child('pts')?.child('0')).toBe(n);
    expect(n.a.ino).toBe(2 + STANDARD_DEVICES.length + 7);
  });
});
