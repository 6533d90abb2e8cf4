/** The VFS's notification hook: which events each operation reports, and silence while nobody watches. */
import { describe, expect, it } from 'vitest';
import type { VNode } from './fs';
import {
  type FsNotifyListener,
  IN_ACCESS,
  IN_ATTRIB,
  IN_CLOSE_NOWRITE,
  IN_CLOSE_WRITE,
  IN_CREATE,
  IN_DELETE,
  IN_DELETE_SELF,
  IN_ISDIR,
  IN_MODIFY,
  IN_MOVE_SELF,
  IN_MOVED_FROM,
  IN_MOVED_TO,
  IN_OPEN,
} from './notify';
import { OverlayFs } from './overlay';
import { TmpFs } from './tmpfs';
import { AT_REMOVEDIR, O_CREAT, O_PATH, O_RDONLY, O_WRONLY } from './types';
import { Vfs } from './vfs';

class Recorder implements FsNotifyListener {
  /** Formatted when read, so nodes named after the event still get their names. */
  private readonly entries: (() => string)[] = [];
  constructor(private readonly names: Map<VNode, string>) {}
  get log(): string[] {
    return this.entries.map((f) => f());
  }
  private n(node: VNode | null): string {
    return node ? (this.names.get(node) ?? `ino${node.attr().ino}`) : '-';
  }
  nodeEvent(node: VNode, mask: number, parent: VNode | null, name: string, unlinked: boolean): void {
    this.entries.push(
      () => `node ${this.n(node)} ${mask.toString(16)} ${this.n(parent)}/${name}${unlinked ? ' unlinked' : ''}`,
    );
  }
  dirEvent(dir: VNode, mask: number, name: string, cookie: number): void {
    this.entries.push(() => `dir ${this.n(dir)} ${mask.toString(16)} ${name}${cookie ? ' c' + cookie : ''}`);
  }
}

describe('Vfs change notification', () => {
  async function setup(): Promise<{ vfs: Vfs; rec: Recorder; names: Map<VNode, string> }> {
    const vfs = new Vfs();
    await vfs.mount(new TmpFs());
    const names = new Map<VNode, string>();
    const rec = new Recorder(names);
    vfs.notifier = rec;
    return { vfs, rec, names };
  }

  it('reports nothing while no watch is active', async () => {
    const { vfs, rec } = await setup();
    const ctx = vfs.newContext();
    const f = await vfs.open(ctx, undefined, '/f', O_CREAT | O_WRONLY, 0o644);
    await f.write(Buffer.from('x'));
    await f.release();
    await vfs.chmod(ctx, undefined, '/f', 0o600);
    await vfs.unlink(ctx, undefined, '/f');
    expect(rec.log).toEqual([]);
  });

  it('reports each operation as fsnotify does', async () => {
    const { vfs, rec, names } = await setup();
    const ctx = vfs.newContext();
    vfs.watches = 1;
    const root = vfs.rootRef().dentry.node!;
    names.set(root, 'root');
    const x = (m: number): string => m.toString(16);
    const f = await vfs.open(ctx, undefined, '/f', O_CREAT | O_WRONLY, 0o644);
    names.set(f.node, 'f');
    await f.write(Buffer.from('abc'));
    await f.pwrite(Buffer.from(''), 0);
    await f.release();
    const r = await vfs.open(ctx, undefined, '/f', O_RDONLY);
    await r.read(new Uint8Array(8));
    await r.read(new Uint8Array(8));
    await r.release();
    await (await vfs.open(ctx, undefined, '/f', O_PATH)).release();
    await vfs.utimens(ctx, undefined, '/f', [
      { sec: 1, nsec: 0 },
      { sec: 0, nsec: (1 << 30) - 2 },
    ]);
    await vfs.mkdir(ctx, undefined, '/d', 0o755);
    await vfs.rename(ctx, undefined, '/f', undefined, '/d/g');
    const d = vfs.rootRef().dentry.children.get('d')!.node!;
    names.set(d, 'd');
    const keep = await vfs.open(ctx, undefined, '/d/g', O_RDONLY);
    await vfs.unlink(ctx, undefined, '/d/g');
    await keep.release();
    await vfs.unlink(ctx, undefined, '/d', AT_REMOVEDIR);
    expect(rec.log).toEqual([
      `dir root ${x(IN_CREATE)} f`,
      `node f ${x(IN_OPEN)} root/f`,
      `node f ${x(IN_MODIFY)} root/f`,
      `node f ${x(IN_CLOSE_WRITE)} root/f`,
      `node f ${x(IN_OPEN)} root/f`,
      `node f ${x(IN_ACCESS)} root/f`,
      `node f ${x(IN_CLOSE_NOWRITE)} root/f`,
      `node f ${x(IN_ACCESS)} root/f`,
      `dir root ${x(IN_CREATE | IN_ISDIR)} d`,
      `dir root ${x(IN_MOVED_FROM)} f c1`,
      `dir d ${x(IN_MOVED_TO)} g c1`,
      `node f ${x(IN_MOVE_SELF)} -/`,
      `node f ${x(IN_OPEN)} d/g`,
      `node f ${x(IN_ATTRIB)} -/`,
      `dir d ${x(IN_DELETE)} g`,
      `node f ${x(IN_CLOSE_NOWRITE)} d/g unlinked`,
      `node f ${x(IN_DELETE_SELF)} -/`,
      `node d ${x(IN_DELETE_SELF)} -/`,
      `dir root ${x(IN_DELETE | IN_ISDIR)} d`,
    ]);
  });

  it('overlay: removing a lower-only file reports IN_DELETE_SELF (nlink 0 once gone)', async () => {
    const lower = new TmpFs();
    const lv = new Vfs();
    await lv.mount(lower);
    const lctx = lv.newContext();
    await (await lv.open(lctx, undefined, '/a', O_CREAT | O_WRONLY, 0o644)).release();
    await (await lv.open(lctx, undefined, '/b', O_CREAT | O_WRONLY, 0o644)).release();
    const vfs = new Vfs();
    await vfs.mount(new OverlayFs(lower, new TmpFs({ rootMode: 0o755 })));
    const names = new Map<VNode, string>();
    const rec = new Recorder(names);
    vfs.notifier = rec;
    vfs.watches = 1;
    const ctx = vfs.newContext();
    const a = await vfs.resolve(ctx, undefined, '/a');
    names.set(a.dentry.node!, 'a');
    names.set(vfs.rootRef().dentry.node!, 'root');
    await vfs.unlink(ctx, undefined, '/a');
    expect(rec.log).toEqual([
      `node a ${IN_ATTRIB.toString(16)} -/`,
      `node a ${IN_DELETE_SELF.toString(16)} -/`,
      `dir root ${IN_DELETE.toString(16)} a`,
    ]);
    expect(a.dentry.node!.attr().nlink).toBe(0);
    expect((await vfs.stat(ctx, undefined, '/b')).nlink).toBe(1);
  });
});
