/**
 * A process's memory map: the list of VMAs (what /proc/[pid]/maps shows and what mmap,
 * munmap, mprotect and brk reason about) on top of the machine's page-granular AddressSpace.
 */
import {
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  guestAddr,
  type AddressSpace,
  type PageCode,
} from '@lichen/machine';
import { Errno, KernelError } from '../errno';
import { PAGE_BEYOND_EOF, type SharedPages, type SharedUser } from './shared';

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_FIXED_NOREPLACE = 0x100000;

/** Layout constants (48-bit VA, 4 KiB pages, no ASLR: Lichen is deterministic by default). */
export const TASK_SIZE = 2 ** 48;
/** The sigreturn trampoline page (vDSO-less layout). */
export const SIGTRAMP_ADDR = TASK_SIZE - PAGE_SIZE;
export const STACK_TOP = TASK_SIZE - 16 * PAGE_SIZE;
/** Where ET_DYN executables are loaded (Linux: 2/3 of TASK_SIZE, page aligned). */
export const ELF_ET_DYN_BASE = 0xaaaaaaaa0000;
export const DEFAULT_STACK_LIMIT = 8 * 1024 * 1024;
/** Gap between the stack's maximum extent and the top of the mmap area. */
const MMAP_GAP = 128 * 1024 * 1024;
/** Lowest address mmap hands out without a hint (vm.mmap_min_addr is 64 KiB; keep far above). */
const MMAP_MIN = 0x10000;

export interface Vma {
  start: number;
  end: number;
  prot: number;
  /** MAP_SHARED / MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN … */
  flags: number;
  /** '[heap]', '[stack]', '[sigpage]', a path for file mappings, '' for anonymous. */
  name: string;
  /** File offset of `start` for file mappings. */
  offset: number;
  /** Identity of the backing file (for /proc maps inode column), if any. */
  ino: number;
  dev: number;
  /** MAP_SHARED: the object whose frames back the pages (`offset` is the object offset of `start`). */
  obj?: SharedPages;
  /** PROT_WRITE may never be added (MAP_SHARED of a file opened without write access). */
  noWrite?: boolean;
  /** Contents of the private pages this map marked filled (a loaded ELF image's file bytes). */
  image?: PageSource;
}

/** Contents of pages by guest address (immutable): what a filled page holds on first touch. */
export interface PageSource {
  /**
   * Writes the page at `page` into `dst[at, at + PAGE_SIZE)` (zero on entry). For an
   * executable page (`exec`) it may return the page's shared decoded code (AddressSpace.filler,
   * which also says what `held` means).
   */
  fill(page: number, dst: Uint8Array, at: number, exec: boolean, held: PageCode | undefined): PageCode | undefined;
}

export const pageDown = (a: number): number => a - (a % PAGE_SIZE);
export const pageUp = (a: number): number => Math.ceil(a / PAGE_SIZE) * PAGE_SIZE;

export class Mm implements SharedUser {
  /** Sorted by start, non-overlapping. */
  vmas: Vma[] = [];
  brkStart = 0;
  brk = 0;
  stackTop = STACK_TOP;
  stackLimit = DEFAULT_STACK_LIMIT;
  mmapBase = STACK_TOP - DEFAULT_STACK_LIMIT - MMAP_GAP;
  /** Memory quota of the VM (bytes): single requests beyond it fail with ENOMEM (overcommit heuristic). */
  quota = Number.MAX_SAFE_INTEGER;
  /** For /proc: start of argv and env strings on the stack. */
  argStart = 0;
  argEnd = 0;
  envStart = 0;
  envEnd = 0;
  /** Threads and vfork children sharing this map. */
  users = 1;

  /** Shared objects some VMA of this map refers to (each is told when the last one goes). */
  private objs = new Set<SharedPages>();

  constructor(readonly as: AddressSpace) {
    as.pager = (va) => this.pageIn(va);
    as.filler = (page, dst, at, held) => {
      const v = this.find(page);
      return v?.image?.fill(page, dst, at, (v.prot & PROT_EXEC) !== 0, held);
    };
  }

  /** Copy-on-write duplicate for fork(); MAP_SHARED pages stay the same frames on both sides. */
  fork(): Mm {
    const m = new Mm(this.as.fork());
    m.vmas = this.vmas.map((v) => ({ ...v }));
    m.syncObjects();
    m.brkStart = this.brkStart;
    m.brk = this.brk;
    m.stackTop = this.stackTop;
    m.stackLimit = this.stackLimit;
    m.mmapBase = this.mmapBase;
    m.quota = this.quota;
    m.argStart = this.argStart;
    m.argEnd = this.argEnd;
    m.envStart = this.envStart;
    m.envEnd = this.envEnd;
    return m;
  }

  find(addr: number): Vma | undefined {
    let lo = 0;
    let hi = this.vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.vmas[mid];
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return v;
    }
    return undefined;
  }

  /** True when any VMA intersects [start, end). */
  overlaps(start: number, end: number): boolean {
    for (const v of this.vmas) if (v.start < end && v.end > start) return true;
    return false;
  }

  /** Highest free gap of `len` bytes below `below` (top-down, like Linux's default layout). */
  findFree(len: number, below = this.mmapBase): number {
    let top = below;
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i];
      if (v.start >= top) continue;
      if (v.end <= top - len) {
        // gap between v.end and top is big enough
        return top - len;
      }
      top = Math.min(top, v.start);
    }
    if (top - len >= MMAP_MIN) return top - len;
    throw new KernelError(Errno.ENOMEM);
  }

  /** Removes [start, end) from the VMA list (splitting as needed) without touching pages. */
  private carve(start: number, end: number): void {
    const out: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < start) out.push({ ...v, end: start });
      if (v.end > end) out.push({ ...v, start: end, offset: v.offset + (end - v.start) });
    }
    this.vmas = out;
  }

  private insert(v: Vma): void {
    let i = 0;
    while (i < this.vmas.length && this.vmas[i].start < v.start) i++;
    this.vmas.splice(i, 0, v);
    this.mergeAround(i);
  }

  private mergeAround(i: number): void {
    const same = (a: Vma, b: Vma): boolean =>
      a.end === b.start &&
      a.prot === b.prot &&
      a.flags === b.flags &&
      a.name === b.name &&
      a.ino === b.ino &&
      a.obj === b.obj &&
      a.noWrite === b.noWrite &&
      a.image === b.image &&
      ((a.ino === 0 && a.obj === undefined) || a.offset + (a.end - a.start) === b.offset);
    if (i + 1 < this.vmas.length && same(this.vmas[i], this.vmas[i + 1])) {
      this.vmas[i].end = this.vmas[i + 1].end;
      this.vmas.splice(i + 1, 1);
    }
    if (i > 0 && same(this.vmas[i - 1], this.vmas[i])) {
      this.vmas[i - 1].end = this.vmas[i].end;
      this.vmas.splice(i, 1);
    }
  }

  /**
   * Maps [start, start+len) as lazy zero-fill pages (replacing what was there) and records the
   * VMA; with `image`, pages later marked by `fillFrom` take their contents from it.
   */
  mapAnon(
    start: number,
    len: number,
    prot: number,
    flags: number,
    name = '',
    file?: { ino: number; dev: number; offset: number },
    image?: PageSource,
  ): void {
    const end = start + pageUp(len);
    this.carve(start, end);
    this.as.mapAnonymous(guestAddr(start), end - start, prot);
    const { offset = 0, ino = 0, dev = 0 } = file ?? {};
    this.insert({ start, end, prot, flags, name, offset, ino, dev, image });
    if (this.objs.size > 0) this.syncObjects();
  }

  /**
   * Makes the pages of [start, end) that lie in VMAs with an image lazy filled: the first
   * touch reads them from the image (replacing what was there, keeping the VMA's protection).
   */
  fillFrom(start: number, end: number): void {
    for (const v of this.vmas) {
      const s = Math.max(v.start, start);
      const e = Math.min(v.end, end);
      if (s < e && v.image !== undefined) this.as.mapFilled(guestAddr(s), e - s, v.prot);
    }
  }

  /**
   * Gives every lazy filled page of [start, end) its frame now (before its mapping moves away
   * from the addresses its image describes). ENOMEM when memory runs out.
   */
  materialize(start: number, end: number): void {
    const one = new Uint8Array(1);
    for (let p = pageDown(start); p < end; p += PAGE_SIZE) {
      if (this.as.query(guestAddr(p))?.frame === -2 && this.as.read(guestAddr(p), one) !== null)
        throw new KernelError(Errno.ENOMEM);
    }
  }

  /**
   * Maps [start, start+len) to the pages of a shared object from object offset `offset`
   * (lazily: the first touch of a page takes the object's frame through `pageIn`).
   */
  mapShared(
    start: number,
    len: number,
    prot: number,
    flags: number,
    name: string,
    obj: SharedPages,
    offset: number,
    file?: { ino: number; dev: number; noWrite: boolean },
  ): void {
    const end = start + pageUp(len);
    this.carve(start, end);
    this.as.mapAnonymous(guestAddr(start), end - start, prot, true);
    this.insert({
      start,
      end,
      prot,
      flags,
      name,
      offset,
      ino: file?.ino ?? 0,
      dev: file?.dev ?? 0,
      obj,
      noWrite: file?.noWrite ?? false,
    });
    if (prot & PROT_WRITE) obj.written = true;
    this.syncObjects();
  }

  /** The machine's pager: the frame of a lazy shared page (or -1 / -2, see AddressSpace.pager). */
  private pageIn(va: number): number {
    const v = this.find(va);
    if (v?.obj === undefined) return PAGE_BEYOND_EOF;
    try {
      return v.obj.frameAt((v.offset + pageDown(va) - v.start) / PAGE_SIZE);
    } catch {
      return PAGE_BEYOND_EOF; // the file went away under the mapping: SIGBUS, never a host exception
    }
  }

  /** Pages of `obj` from index `first` on must be taken from the object again (truncate). */
  refault(obj: SharedPages, first: number): void {
    for (const v of this.vmas) {
      if (v.obj !== obj) continue;
      const s = Math.max(v.start, v.start + first * PAGE_SIZE - v.offset);
      if (s < v.end) this.as.mapAnonymous(guestAddr(s), v.end - s, v.prot, true);
    }
  }

  /** Re-reads [start, end) of shared mappings from their objects and zeroes private pages (MADV_DONTNEED). */
  discard(start: number, end: number): void {
    for (const v of this.vmas) {
      const s = Math.max(v.start, start);
      const e = Math.min(v.end, end);
      if (s >= e) continue;
      if (v.obj !== undefined) this.as.mapAnonymous(guestAddr(s), e - s, v.prot, true);
      else if ((v.flags & MAP_TYPE) === MAP_PRIVATE) this.as.mapAnonymous(guestAddr(s), e - s, v.prot);
    }
  }

  /** Shared objects mapped in [start, end) (msync). */
  objectsIn(start: number, end: number): SharedPages[] {
    const out = new Set<SharedPages>();
    for (const v of this.vmas) if (v.obj !== undefined && v.start < end && v.end > start) out.add(v.obj);
    return [...out];
  }

  /** Attaches to objects newly referred to and detaches from those no VMA refers to any more. */
  private syncObjects(): void {
    const now = new Set<SharedPages>();
    for (const v of this.vmas) if (v.obj !== undefined) now.add(v.obj);
    const before = this.objs;
    this.objs = now;
    for (const o of now) if (!before.has(o)) o.attach(this);
    for (const o of before) if (!now.has(o)) o.detach(this);
  }

  unmap(start: number, len: number): void {
    const end = start + pageUp(len);
    this.carve(start, end);
    this.as.unmap(guestAddr(start), end - start);
    if (this.objs.size > 0) this.syncObjects();
  }

  /** mprotect: ENOMEM when part of the range is not mapped. */
  protect(start: number, len: number, prot: number): void {
    const end = start + pageUp(len);
    if (!this.covers(start, end)) throw new KernelError(Errno.ENOMEM);
    const pieces: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) continue;
      if (prot & PROT_WRITE && v.noWrite) throw new KernelError(Errno.EACCES);
    }
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) continue;
      if (prot & PROT_WRITE && v.obj !== undefined) v.obj.written = true;
      const s = Math.max(v.start, start);
      pieces.push({ ...v, start: s, end: Math.min(v.end, end), prot, offset: v.offset + (s - v.start) });
    }
    this.carve(start, end);
    for (const p of pieces) this.insert(p);
    this.as.protect(guestAddr(start), end - start, prot);
  }

  /** True when VMAs cover all of [start, end) without a hole. */
  covers(start: number, end: number): boolean {
    let covered = start;
    for (const v of this.vmas) {
      if (v.end <= covered || v.start >= end) continue;
      if (v.start > covered) break;
      covered = v.end;
    }
    return covered >= end;
  }

  /** Bytes of virtual memory mapped. */
  get totalVm(): number {
    let t = 0;
    for (const v of this.vmas) t += v.end - v.start;
    return t;
  }

  destroy(): void {
    this.vmas = [];
    this.as.destroy();
    this.syncObjects();
  }

  /** /proc/[pid]/maps text. */
  mapsText(): string {
    const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
    let s = '';
    for (const v of this.vmas) {
      const perms =
        (v.prot & PROT_READ ? 'r' : '-') +
        (v.prot & PROT_WRITE ? 'w' : '-') +
        (v.prot & PROT_EXEC ? 'x' : '-') +
        ((v.flags & MAP_TYPE) === MAP_SHARED ? 's' : 'p');
      const line = `${hex(v.start, 8)}-${hex(v.end, 8)} ${perms} ${hex(v.offset, 8)} ${hex(v.dev >>> 8, 2)}:${hex(v.dev & 0xff, 2)} ${v.ino}`;
      s += v.name ? `${line.padEnd(73)}${v.name}\n` : `${line} \n`;
    }
    return s;
  }
}
