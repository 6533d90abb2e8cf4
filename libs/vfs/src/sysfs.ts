/**
 * A minimal read-only sysfs: the files programs commonly probe (CPU topology, page size
 * hints, THP settings). Built from a tree of strings; the kernel may pass extra files.
 * The nodes are made when /sys is first used (most runs never look), stamped with the
 * mount's creation time.
 */
import { S_IFDIR, S_IFREG, type Clock } from './types';
import { TmpFs, type TmpNode } from './tmpfs';

export type SysTree = { [name: string]: string | SysTree };

export function defaultSysTree(cpus = 1): SysTree {
  const range = cpus === 1 ? '0\n' : `0-${cpus - 1}\n`;
  const cpu: SysTree = { online: range, possible: range, present: range, kernel_max: '8191\n' };
  for (let i = 0; i < cpus; i++) cpu[`cpu${i}`] = { online: '1\n' };
  return {
    devices: { system: { cpu } },
    kernel: { mm: { transparent_hugepage: { enabled: 'always [madvise] never\n' } } },
    fs: { cgroup: {} },
    class: {},
    bus: {},
    block: {},
    dev: { char: {}, block: {} },
    module: {},
    power: {},
    firmware: {},
  };
}

export class SysFs extends TmpFs {
  override readonly type = 'sysfs';

  /** `clock` stamps the nodes (the VM's clock, so deterministic runs see fixed times). */
  constructor(opts: { tree?: SysTree; clock?: Clock } = {}) {
    super({ rootMode: 0o555, source: 'sysfs', readOnly: true, clock: opts.clock });
    const tree = opts.tree;
    this.deferRootEntries((root) => this.fill(root, tree ?? defaultSysTree()));
  }

  private fill(dir: TmpNode, tree: SysTree): void {
    for (const [name, v] of Object.entries(tree)) {
      if (typeof v === 'string') {
        const n = this.newNode({ mode: S_IFREG | 0o444, uid: 0, gid: 0, rdev: 0 });
        n.writeSync(0, Buffer.from(v, 'latin1'));
        dir.addEntry(name, n);
      } else {
        const n = this.newNode({ mode: S_IFDIR | 0o555, uid: 0, gid: 0, rdev: 0 });
        dir.addEntry(name, n);
        this.fill(n, v);
      }
    }
  }
}
