/**
 * Shared memory objects (Linux's shmem inodes and the page cache of mapped files): one guest
 * frame per object page, handed to every address space that maps the page MAP_SHARED (the
 * machine asks for it through `AddressSpace.pager` on first touch). Writes through any mapping
 * land in that frame, so every other mapping — in this or another process — sees them.
 *
 * File objects (one per VFS inode, looked up by VNode) also keep read(2)/write(2) coherent with
 * the mappings: reads of a cached page come from its frame, writes update it. Frames are written
 * back to the file on msync, when the last mapping goes (munmap, exec, exit) and when the run
 * ends; write-back never extends the file (the tail of the last page past EOF stays in memory).
 */
import { PAGE_SIZE, type PhysicalMemory } from '@lichen/machine';
import type { OpenFile, VNode } from '@lichen/vfs';

/** What an object needs from the file it caches (the mapping holds an fd reference). */
export interface BackingFile {
  readonly file: OpenFile;
  /** Drops the reference the object held (closes the description when it was the last). */
  drop(): void | Promise<void>;
}

/** An address space map that maps an object (told when pages must be faulted again). */
export interface SharedUser {
  /** Pages of `obj` at index >= `first` changed identity (truncate): remap them lazily. */
  refault(obj: SharedPages, first: number): void;
}

/** Returned by `SharedPages.frameAt` for a page wholly beyond end of file (SIGBUS). */
export const PAGE_BEYOND_EOF = -2;

export class SharedPages {
  /** Page index -> frame; the object holds one reference on each. */
  private readonly frames = new Map<number, number>();
  /** Maps (Mm) that currently have a VMA on this object. */
  readonly users = new Set<SharedUser>();
  /** A shared mapping of it was ever writable: write-back has work to do. */
  written = false;
  private freed = false;
  /** In-flight write-back (awaited by msync and the end of the run). Never rejects. */
  private flushing: Promise<void> = Promise.resolve();
  /** A write-back failed since the last `takeError` (msync reports EIO, like Linux). */
  private failed = false;

  constructor(
    readonly memory: PhysicalMemory,
    /** Null for anonymous shared memory (MAP_SHARED|MAP_ANONYMOUS, /dev/zero). */
    readonly backing: BackingFile | null,
    private readonly cache: PageCache | null,
    readonly node: VNode | null,
    /** Size in bytes of an anonymous object (its first mapping's length; mremap does not grow it). */
    private readonly anonSize = 0,
  ) {}

  /** A new MAP_SHARED|MAP_ANONYMOUS object of `size` bytes. */
  static anonymous(memory: PhysicalMemory, size: number): SharedPages {
    return new SharedPages(memory, null, null, null, size);
  }

  /** Current size in bytes: the file's, or the anonymous object's. */
  get size(): number {
    return this.backing !== null ? this.backing.file.stat().size : this.anonSize;
  }

  get isFile(): boolean {
    return this.backing !== null;
  }

  /** Frame of page `index` for a mapping, allocating a zeroed one; -1 out of memory, PAGE_BEYOND_EOF. */
  frameAt(index: number): number {
    if (index * PAGE_SIZE >= this.size) return PAGE_BEYOND_EOF;
    const have = this.frames.get(index);
    if (have !== undefined) return have;
    const f = this.memory.allocFrame();
    if (f < 0) return -1;
    this.frames.set(index, f);
    return f;
  }

  has(index: number): boolean {
    return this.frames.has(index);
  }

  /** Loads file page `index` (when not cached yet and inside the file): all-zero pages stay holes. */
  async load(index: number): Promise<boolean> {
    const b = this.backing;
    if (b === null || this.frames.has(index) || index * PAGE_SIZE >= b.file.stat().size) return true;
    const data = await b.file.readPage(index);
    if (this.frames.has(index) || this.freed) return true;
    if (data.every((x) => x === 0)) return true;
    const f = this.memory.allocFrame();
    if (f < 0) return false;
    this.memory.bytes.set(data, f * PAGE_SIZE);
    this.frames.set(index, f);
    return true;
  }

  /** Copies cached bytes of [pos, pos+buf.length) over `buf` (read(2) sees mapped writes). */
  overlay(pos: number, buf: Uint8Array): void {
    if (this.frames.size === 0 || buf.length === 0) return;
    this.eachPage(pos, buf.length, (frame, off, at, n) => {
      const base = frame * PAGE_SIZE + off;
      buf.set(this.memory.bytes.subarray(base, base + n), at);
    });
  }

  /** write(2) wrote `data` at `pos`: cached pages take the new bytes (mappings see them). */
  update(pos: number, data: Uint8Array): void {
    this.eachPage(pos, data.length, (frame, off, at, n) => {
      this.memory.bytes.set(data.subarray(at, at + n), frame * PAGE_SIZE + off);
    });
  }

  /**
   * fallocate(2) punched [pos, pos+len) out of the file: cached pages wholly inside leave the
   * object (mappings fault them in again, as holes), the others are zeroed over the range.
   */
  punch(pos: number, len: number): void {
    const end = pos + len;
    let first = Infinity;
    for (const [index, frame] of this.frames) {
      const lo = Math.max(pos, index * PAGE_SIZE);
      const hi = Math.min(end, (index + 1) * PAGE_SIZE);
      if (lo >= hi) continue;
      if (hi - lo === PAGE_SIZE) {
        this.frames.delete(index);
        this.memory.release(frame);
        first = Math.min(first, index);
      } else
        this.memory.bytes.fill(
          0,
          frame * PAGE_SIZE + lo - index * PAGE_SIZE,
          frame * PAGE_SIZE + hi - index * PAGE_SIZE,
        );
    }
    if (first !== Infinity) for (const u of this.users) u.refault(this, first);
  }

  private eachPage(pos: number, len: number, fn: (frame: number, off: number, at: number, n: number) => void): void {
    let at = 0;
    while (at < len) {
      const p = pos + at;
      const index = Math.floor(p / PAGE_SIZE);
      const off = p - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, len - at);
      const frame = this.frames.get(index);
      if (frame !== undefined) fn(frame, off, at, n);
      at += n;
    }
  }

  /**
   * The file was truncated from `before` to `size` bytes: cached bytes past the old or new end
   * (whichever is lower) read as zero, pages wholly past the new end leave the object, and every
   * mapping faults them again (SIGBUS unless the file grows back).
   */
  truncate(before: number, size: number): void {
    const low = Math.min(before, size);
    const f = this.frames.get(Math.floor(low / PAGE_SIZE));
    if (f !== undefined && low % PAGE_SIZE !== 0)
      this.memory.bytes.fill(0, f * PAGE_SIZE + (low % PAGE_SIZE), (f + 1) * PAGE_SIZE);
    const first = Math.ceil(size / PAGE_SIZE);
    let dropped = false;
    for (const [index, frame] of this.frames) {
      if (index < first) continue;
      this.frames.delete(index);
      this.memory.release(frame);
      dropped = true;
    }
    if (dropped) for (const u of this.users) u.refault(this, first);
  }

  attach(user: SharedUser): void {
    this.users.add(user);
  }

  /** `user` no longer maps the object: the last one writes a file back and frees the frames. */
  detach(user: SharedUser): void {
    if (!this.users.delete(user) || this.users.size > 0) return;
    if (this.backing === null) {
      this.free();
      return;
    }
    const backing = this.backing;
    this.flushing = this.flushing
      .then(() => this.writeBack())
      .then(async () => {
        if (this.users.size > 0 || this.freed) return;
        this.free();
        this.cache?.forget(this);
        try {
          await backing.drop();
        } catch {
          // closing a description never fails the caller
        }
      });
  }

  /** Writes every cached page to the file (clipped at EOF); resolves when done. */
  sync(): Promise<void> {
    if (this.backing === null) return Promise.resolve();
    this.flushing = this.flushing.then(() => this.writeBack());
    return this.flushing;
  }

  /** True (once) when a write-back failed since the last call. */
  takeError(): boolean {
    const f = this.failed;
    this.failed = false;
    return f;
  }

  /** The write-back (or release) already under way. */
  settled(): Promise<void> {
    return this.flushing;
  }

  private async writeBack(): Promise<void> {
    const b = this.backing;
    if (b === null || !this.written || this.freed) return;
    const pages = [...this.frames].sort((x, y) => x[0] - y[0]);
    for (const [index, f] of pages) {
      if (this.freed) return;
      // A copy: the guest may keep writing the frame while the file system works.
      const data = this.memory.bytes.slice(f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
      try {
        await b.file.writePage(index, data);
      } catch {
        this.failed = true; // EROFS, ENOSPC, EIO: the data stays in memory, msync says EIO
        return;
      }
    }
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const f of this.frames.values()) this.memory.release(f);
    this.frames.clear();
  }
}

/** The objects of one VM's file pages, by inode. */
export class PageCache {
  private readonly byNode = new Map<VNode, SharedPages>();

  constructor(readonly memory: PhysicalMemory) {}

  /** The object of a file's inode while some mapping keeps it alive. */
  lookup(node: VNode): SharedPages | undefined {
    return this.byNode.get(node);
  }

  /** The object for `node`, created with `backing` (whose reference it then keeps) when absent. */
  obtain(node: VNode, backing: () => BackingFile): SharedPages {
    let o = this.byNode.get(node);
    if (o === undefined) {
      o = new SharedPages(this.memory, backing(), this, node);
      this.byNode.set(node, o);
    }
    return o;
  }

  forget(o: SharedPages): void {
    if (o.node !== null && this.byNode.get(o.node) === o) this.byNode.delete(o.node);
  }

  /** Writes every mapped file back (the run ends: artifacts and rw mounts must see the data). */
  async syncAll(): Promise<void> {
    for (const o of [...this.byNode.values()]) {
      await o.settled();
      await o.sync();
    }
  }
}

const caches = new WeakMap<PhysicalMemory, PageCache>();

/** The page cache of the VM that owns `memory`. */
export function pageCacheOf(memory: PhysicalMemory): PageCache {
  let c = caches.get(memory);
  if (c === undefined) {
    c = new PageCache(memory);
    caches.set(memory, c);
  }
  return c;
}

/** Writes back the files `memory`'s VM mapped shared, if it ever did (makes no page cache). */
export async function syncPageCache(memory: PhysicalMemory): Promise<void> {
  await caches.get(memory)?.syncAll();
}

/** The page cache's object for `node`, if the file is mapped shared somewhere. */
export function cachedPagesOf(memory: PhysicalMemory, node: VNode): SharedPages | undefined {
  return caches.get(memory)?.lookup(node);
}
