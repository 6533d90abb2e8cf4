/**
 * devfs: a tmpfs (like Linux devtmpfs) pre-populated with the standard nodes, made when /dev
 * is first used and stamped with the mount's creation time. The nodes are plain character
 * nodes; opening one goes to the device the Vfs has registered for its (major, minor):
 * null/zero/full/random/urandom are built in, the kernel registers tty (5,0), console (5,1),
 * ptmx (5,2) and anything else it adds with addNode (the /dev/pts/N slaves, removed again
 * with removeNode).
 */
import { makedev, S_IFCHR, S_IFDIR, S_IFLNK, type Clock } from './types';
import { TmpFs, type MemoryAccount, type TmpNode } from './tmpfs';

export interface DevFsOptions {
  clock?: Clock;
  account?: MemoryAccount;
}

export const STANDARD_DEVICES: { name: string; major: number; minor: number; mode: number }[] = [
  { name: 'null', major: 1, minor: 3, mode: 0o666 },
  { name: 'zero', major: 1, minor: 5, mode: 0o666 },
  { name: 'full', major: 1, minor: 7, mode: 0o666 },
  { name: 'random', major: 1, minor: 8, mode: 0o666 },
  { name: 'urandom', major: 1, minor: 9, mode: 0o666 },
  { name: 'tty', major: 5, minor: 0, mode: 0o666 },
  { name: 'console', major: 5, minor: 1, mode: 0o600 },
  { name: 'ptmx', major: 5, minor: 2, mode: 0o666 },
];

const STANDARD_LINKS: readonly (readonly [string, string])[] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

export class DevFs extends TmpFs {
  override readonly type = 'devtmpfs';

  constructor(opts: DevFsOptions = {}) {
    // Not `{ ...opts, rootMode, source }`: a spread followed by new properties costs V8 a
    // fresh map (a few microseconds) every time.
    super({ clock: opts.clock, account: opts.account, rootMode: 0o755, source: 'devtmpfs' });
    this.deferRootEntries((root) => this.populate(root));
  }

  /** The standard nodes, made when /dev is first used (most runs never look). */
  private populate(root: TmpNode): void {
    for (const d of STANDARD_DEVICES) this.addNode(d.name, S_IFCHR | d.mode, makedev(d.major, d.minor));
    for (const name of ['pts', 'shm', 'mqueue']) {
      const n = this.newNode({ mode: S_IFDIR | (name === 'pts' ? 0o755 : 0o1777), uid: 0, gid: 0, rdev: 0 });
      root.addEntry(name, n);
    }
    for (const [name, target] of STANDARD_LINKS) {
      const n = this.newNode({ mode: S_IFLNK | 0o777, uid: 0, gid: 0, rdev: 0 });
      n.target = target;
      n.a.size = target.length;
      root.addEntry(name, n);
    }
  }

  /** Adds (or replaces) a node at `path` relative to /dev (parents must exist). */
  addNode(path: string, mode: number, rdev: number, uid = 0, gid = 0): TmpNode {
    const parts = path.split('/').filter((p) => p);
    let dir = this.rootSync();
    for (const p of parts.slice(0, -1)) {
      const c = dir.child(p);
      if (!c) throw new Error(`devfs: no directory ${p}`);
      dir = c;
    }
    const name = parts[parts.length - 1];
    if (dir.child(name)) dir.removeEntry(name);
    const n = this.newNode({ mode, uid, gid, rdev });
    dir.addEntry(name, n);
    return n;
  }

  /** Removes the node at `path` relative to /dev if it is there (a pseudo-terminal gone). */
  removeNode(path: string): void {
    const parts = path.split('/').filter((p) => p);
    let dir: TmpNode | null = this.rootSync();
    for (const p of parts.slice(0, -1)) dir = dir?.child(p) ?? null;
    const name = parts[parts.length - 1];
    if (dir?.child(name)) dir.removeEntry(name);
  }
}
