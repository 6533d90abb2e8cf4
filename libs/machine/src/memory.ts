/**
 * Guest physical memory (frames with reference counts) and address spaces (two-level page
 * table, lazy zero-fill, copy-on-write, a direct-mapped TLB of plain numbers).
 */
import type { CompiledBlock } from './decode/blocks';
import {
  type AccessKind,
  type AddressSpace,
  type FaultCause,
  type FaultInfo,
  type GuestAddr,
  type PhysicalMemory,
  type Prot,
} from './api';
import * as M_api from './api';
import * as M_state from './state';
import { splitAddress } from './fault-address';
// Local bindings: hot code must not go through module-export getters.
const { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } = M_api;
const { FAULT_SIGNAL } = M_state;

/**
 * What a retired memory hands on to the next memory of this thread: its backing buffer and
 * per-frame metadata, all zero again (and the decode caches empty) where the old VM used
 * them, except for frames that still hold an unchanged immutable code page (`held`).
 * Allocating a fresh multi-hundred-MiB ArrayBuffer per VM makes V8 run scavenges and
 * mark-compacts for "external memory pressure" (about half of a short VM's time), and the
 * frame-sized metadata arrays and per-code-frame caches were most of the rest of creating a
 * memory. Only `retire()` adds a spare, after it cut every address space off it, so no guest
 * of the old VM can reach the new one's memory.
 */
/**
 * Decoded instructions and compiled blocks of one page of immutable code at one guest address
 * (an ELF page: the kernel's filler hands it out with the frame it filled). Every frame filled
 * with that page, in any VM of the thread, starts with a copy of it (`adopt`) instead of
 * decoding and compiling again, and a VM that decoded more gives it back when it retires
 * (`retire`). Only frames whose contents never changed since they were filled, and that were
 * never mapped at another address, exchange tables with it: a store or a remap unlinks the
 * frame first. Never shared across threads (ids are those of the thread's default decoder).
 */
export class PageCode {
  /**
   * Frames linked to this page so far. Tables are kept from the second one on: most pages of a
   * bytes object that is never loaded again (a device opened for one VM) would only cost them.
   */
  links = 0;
  code: Int32Array | null = null;
  blocks: (CompiledBlock | undefined)[] | null = null;
  /** Indices of `blocks` that hold a block. */
  readonly starts: number[] = [];
}

interface Spare {
  buffer: ArrayBuffer;
  refs: Int32Array;
  freeList: Int32Array;
  codeMark: Uint8Array;
  codeSeen: Uint8Array;
  adoptPending: Uint8Array;
  pageCode: (PageCode | undefined)[];
  held: (PageCode | undefined)[];
  code: (Int32Array | undefined)[];
  blocks: ((CompiledBlock | undefined)[] | undefined)[];
  heat: (Uint8Array | undefined)[];
}
const spares: Spare[] = [];
const MAX_SPARE_BUFFERS = 2;
/** A retired memory that used more than this is dropped instead of zeroed for reuse. */
const MAX_REUSE_DIRTY_BYTES = 64 * 1024 * 1024;

function takeSpare(bytes: number): Spare | undefined {
  for (let i = 0; i < spares.length; i++) {
    const b = spares[i].buffer;
    if (b.byteLength >= bytes && b.byteLength <= bytes * 2) return spares.splice(i, 1)[0];
  }
  return undefined;
}

export class PhysicalMemoryImpl implements PhysicalMemory {
  readonly frameCount: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly u16: Uint16Array;
  readonly view: DataView;
  private readonly refs: Int32Array;
  /** Released frames (dirty: zeroed when handed out again). */
  private readonly freeList: Int32Array;
  private freeTop: number;
  /** Frames at or above this index were never handed out: still zero. */
  private fresh = 0;
  private retired = false;
  /** Live address spaces over this memory (retire() destroys them). */
  private readonly spaces = new Set<AddressSpaceImpl>();
  private used = 0;
  private peak = 0;
  /**
   * Decoded-code cache per frame: handler row index + 1 per instruction word (0 = not decoded).
   * `codeMark[f]` is nonzero while `code[f]` may hold entries (2: entries the frame's PageCode
   * lacks); stores to such a frame drop them.
   * `codeSeen[f]` is 1 once the CPU took the frame's tables (they may be dirty even after a
   * drop: a run keeps counting heat in them); retire() clears exactly those.
   */
  readonly code: (Int32Array | undefined)[];
  readonly codeMark: Uint8Array;
  private readonly codeSeen: Uint8Array;
  /** The shared tables of a frame filled with immutable code, and whether it still has to copy them. */
  private readonly pageCode: (PageCode | undefined)[];
  /**
   * Frames a retired memory left as they were because they still held the unchanged bytes of an
   * immutable code page (`retire`): `held[f]` is that page, and frame f is not zero. Every other
   * frame at or above `fresh` is zero. A filled page that gets such a frame back with the same
   * page skips the copy (`resolve`); any other use zeroes it first (`allocFrame`).
   */
  private readonly held: (PageCode | undefined)[];
  private readonly adoptPending: Uint8Array;
  /** Compiled blocks per code frame, by starting word, and block-start execution counts. */
  readonly blocks: ((CompiledBlock | undefined)[] | undefined)[];
  readonly heat: (Uint8Array | undefined)[];

  constructor(bytes: number) {
    if (!Number.isInteger(bytes) || bytes < PAGE_SIZE || bytes > 2 ** 32 - PAGE_SIZE)
      throw new RangeError(`memory size must be between 4 KiB and 4 GiB, got ${bytes}`);
    this.frameCount = Math.floor(bytes / PAGE_SIZE);
    const size = this.frameCount * PAGE_SIZE;
    // Per-frame metadata arrays are never shorter than the frame count (a spare's buffer is at
    // least as large); the decode-cache lists grow with the highest frame handed out (frames
    // are handed out from 0 upwards), so a 256 MiB quota costs nothing per unused frame.
    const spare = takeSpare(size);
    this.buffer = spare?.buffer ?? new ArrayBuffer(size);
    this.refs = spare?.refs ?? new Int32Array(this.frameCount);
    this.freeList = spare?.freeList ?? new Int32Array(this.frameCount);
    this.codeMark = spare?.codeMark ?? new Uint8Array(this.frameCount);
    this.codeSeen = spare?.codeSeen ?? new Uint8Array(this.frameCount);
    this.adoptPending = spare?.adoptPending ?? new Uint8Array(this.frameCount);
    this.pageCode = spare?.pageCode ?? [];
    this.held = spare?.held ?? [];
    this.code = spare?.code ?? [];
    this.blocks = spare?.blocks ?? [];
    this.heat = spare?.heat ?? [];
    this.bytes = new Uint8Array(this.buffer, 0, size);
    this.i32 = new Int32Array(this.buffer, 0, size >> 2);
    this.u16 = new Uint16Array(this.buffer, 0, size >> 1);
    this.view = new DataView(this.buffer, 0, size);
    this.freeTop = 0;
  }

  get freeFrames(): number {
    return this.freeTop + (this.frameCount - this.fresh);
  }
  get peakFramesUsed(): number {
    return this.peak;
  }

  allocFrame(): number {
    const f = this.allocMaybeHeld();
    if (f >= 0 && this.held[f] !== undefined) this.takeHeld(f, true);
    return f;
  }
  /**
   * allocFrame, except that the frame may still hold the bytes of the page `held[f]` (a frame a
   * retired memory kept): the caller takes it with `takeHeld`.
   */
  allocMaybeHeld(): number {
    let f: number;
    if (this.freeTop !== 0) {
      f = this.freeList[--this.freeTop];
      this.bytes.fill(0, f * PAGE_SIZE, f * PAGE_SIZE + PAGE_SIZE);
      if (this.codeMark[f] !== 0) this.dropCode(f);
    } else if (this.fresh < this.frameCount) {
      // Never used by this memory: zero (or held, see `held`), its decode tables (if a spare
      // brought any) empty. Extend the lists in step (packed, in bounds).
      f = this.fresh++;
      if (f === this.code.length) {
        this.pageCode.push(undefined);
        this.held.push(undefined);
        this.code.push(undefined);
        this.blocks.push(undefined);
        this.heat.push(undefined);
      }
    } else return -1;
    this.refs[f] = 1;
    if (++this.used > this.peak) this.peak = this.used;
    return f;
  }
  /**
   * The page whose bytes a frame just handed out by allocMaybeHeld still holds (undefined: the
   * frame is zero). From now on the frame counts as holding nothing; `zero` zeroes it.
   */
  takeHeld(frame: number, zero: boolean): PageCode | undefined {
    const page = this.held[frame];
    if (page === undefined) return undefined;
    this.held[frame] = undefined;
    if (zero) this.bytes.fill(0, frame * PAGE_SIZE, frame * PAGE_SIZE + PAGE_SIZE);
    return page;
  }
  /** Registers an address space over this memory (called by its constructor). */
  attach(space: AddressSpaceImpl): void {
    if (this.retired) throw new Error('guest memory was retired');
    this.spaces.add(space);
  }
  detach(space: AddressSpaceImpl): void {
    this.spaces.delete(space);
  }

  /**
   * Ends this memory's life: destroys every address space over it (so no CPU or kernel copy
   * can reach a frame again), refuses new frames and spaces, and hands the zeroed buffer (but
   * for frames `held` describes) to the next memory created in this thread. Call when the VM is
   * finished; idempotent.
   */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    for (const space of [...this.spaces]) space.destroy();
    this.spaces.clear();
    const n = this.fresh;
    this.freeTop = 0;
    this.fresh = this.frameCount;
    if (n * PAGE_SIZE > MAX_REUSE_DIRTY_BYTES || spares.length >= MAX_SPARE_BUFFERS) return;
    this.refs.fill(0, 0, n);
    this.freeList.fill(0, 0, n);
    // Zero every frame but those still holding an immutable code page unchanged (linked): they
    // keep its bytes for the next memory (see `held`). Runs of frames to zero are one fill each.
    let zeroFrom = 0;
    for (let f = 0; f < n; f++) {
      const shared = this.pageCode[f];
      if (shared !== undefined) {
        if (zeroFrom < f) this.bytes.fill(0, zeroFrom * PAGE_SIZE, f * PAGE_SIZE);
        zeroFrom = f + 1;
      }
      this.held[f] = shared;
    }
    if (zeroFrom < n) this.bytes.fill(0, zeroFrom * PAGE_SIZE, n * PAGE_SIZE);
    for (let f = 0; f < n; f++) {
      const shared = this.pageCode[f];
      if (this.codeSeen[f] === 0) {
        // never taken by the CPU: its tables are still clean, only the link goes
        this.pageCode[f] = undefined;
        this.adoptPending[f] = 0;
        continue;
      }
      this.codeSeen[f] = 0;
      if (shared === undefined || this.adoptPending[f] !== 0) this.clearCode(f);
      else if (this.codeMark[f] === 2) {
        this.giveBack(f, shared);
        this.clearCode(f);
      } else this.clearAdopted(f, shared);
    }
    this.codeMark.fill(0, 0, n);
    const { buffer, refs, freeList, codeMark, codeSeen, adoptPending, pageCode, held, code, blocks, heat } = this;
    spares.push({ buffer, refs, freeList, codeMark, codeSeen, adoptPending, pageCode, held, code, blocks, heat });
  }

  retain(frame: number): void {
    this.check(frame);
    this.refs[frame]++;
  }
  release(frame: number): void {
    // After retire() the metadata belongs to the next memory: a late release changes nothing.
    if (this.retired) return;
    this.check(frame);
    if (--this.refs[frame] === 0) {
      this.freeList[this.freeTop++] = frame;
      this.used--;
    }
  }
  refCount(frame: number): number {
    this.check(frame);
    return this.refs[frame];
  }
  /** Forget decoded instructions of a frame (its contents changed). */
  dropCode(frame: number): void {
    if (!this.retired) this.clearCode(frame);
  }
  private clearCode(frame: number): void {
    this.codeMark[frame] = 0;
    this.pageCode[frame] = undefined;
    this.adoptPending[frame] = 0;
    const c = this.code[frame];
    if (c !== undefined) c.fill(0);
    const b = this.blocks[frame];
    if (b !== undefined) b.fill(undefined);
    const h = this.heat[frame];
    if (h !== undefined) h.fill(0);
  }
  /** Compiled-block table of a code frame, created on first use. */
  blocksOf(frame: number): (CompiledBlock | undefined)[] {
    let b = this.blocks[frame];
    if (b === undefined) {
      b = new Array<CompiledBlock | undefined>(PAGE_SIZE / 4).fill(undefined);
      this.blocks[frame] = b;
      this.heat[frame] = new Uint8Array(PAGE_SIZE / 4);
    }
    this.codeSeen[frame] = 1;
    return b;
  }
  /** The decode cache of a frame, created on first use. */
  codeOf(frame: number): Int32Array {
    let c = this.code[frame];
    if (c === undefined) {
      c = new Int32Array(PAGE_SIZE / 4);
      this.code[frame] = c;
    }
    if (this.adoptPending[frame] !== 0) this.adopt(frame, c);
    if (this.codeMark[frame] === 0) this.codeMark[frame] = 1;
    this.codeSeen[frame] = 1;
    return c;
  }
  /**
   * Links a frame just filled with the page `shared` describes: the CPU's first look at it
   * copies the shared tables. Any store to the frame, or mapping it elsewhere, unlinks it.
   */
  link(frame: number, shared: PageCode): void {
    shared.links++;
    this.pageCode[frame] = shared;
    this.adoptPending[frame] = 1;
    this.codeMark[frame] = 1;
  }
  /** Unlinks a frame from its shared tables (it is about to appear at another address). */
  unlink(frame: number): void {
    if (this.pageCode[frame] !== undefined) this.dropCode(frame);
  }
  private adopt(frame: number, c: Int32Array): void {
    this.adoptPending[frame] = 0;
    const shared = this.pageCode[frame] as PageCode;
    if (shared.code === null || shared.blocks === null) return;
    c.set(shared.code);
    // The frame's tables are empty here: it was never taken since it was handed out clean.
    const b = this.blocksOf(frame);
    for (const i of shared.starts) b[i] = shared.blocks[i];
  }
  /** clearCode for a linked frame that gained nothing since it copied `shared`: only its blocks are set. */
  private clearAdopted(frame: number, shared: PageCode): void {
    this.codeMark[frame] = 0;
    this.pageCode[frame] = undefined;
    (this.code[frame] as Int32Array).fill(0);
    const b = this.blocks[frame] as (CompiledBlock | undefined)[];
    for (const i of shared.starts) b[i] = undefined;
    (this.heat[frame] as Uint8Array).fill(0);
  }
  /** Adds what this VM decoded and compiled in an unchanged linked frame to its shared tables. */
  private giveBack(frame: number, shared: PageCode): void {
    if (shared.links < 2) return;
    (shared.code ??= new Int32Array(PAGE_SIZE / 4)).set(this.code[frame] as Int32Array);
    const b = this.blocks[frame];
    if (b === undefined) return;
    const sb = (shared.blocks ??= new Array<CompiledBlock | undefined>(PAGE_SIZE / 4).fill(undefined));
    for (let i = 0; i < b.length; i++) {
      const blk = b[i];
      if (blk !== undefined && sb[i] === undefined) {
        sb[i] = blk;
        shared.starts.push(i);
      }
    }
  }
  private check(frame: number): void {
    if (this.retired) throw new Error('guest memory was retired');
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.frameCount || this.refs[frame] <= 0)
      throw new RangeError(`bad or free frame ${frame}`);
  }
}

// Page-table entry (int32): bits 0-2 prot, bit 3 valid, bit 4 lazy (no frame yet), bit 5
// copy-on-write, bit 6 shared (writes go to the frame itself, fork shares it), bit 7 filled
// (a lazy private page whose new frame the filler writes), bits 8.. frame (< 2^20).
const PTE_VALID = 8;
const PTE_LAZY = 16;
const PTE_COW = 32;
const PTE_SHARED = 64;
const PTE_FILL = 128;
const PTE_FRAME_SHIFT = 8;
const L2_BITS = 10;
const L2_SIZE = 1 << L2_BITS;
const TLB_SIZE = 256;
const MAX_VA = 2 ** 48;
const PAGE = 4096;
const INV_PAGE = 1 / 4096;
const TLB_MASK = TLB_SIZE - 1;

/**
 * Page-table leaves and TLBs of destroyed address spaces, for the next ones of this thread: a
 * short VM makes three address spaces with a few leaves each, and allocating their off-heap
 * typed arrays afresh was a large part of setting a VM up. A leaf is pooled only after
 * `clearLeaf` emptied it (all zero); a TLB's tags are all NaN again when it is taken. A destroyed
 * space points at DEAD_TLB (never filled: every lookup misses and then faults on the empty
 * table), so it can never see the translations of the space that reuses its arrays.
 */
interface Tlb {
  rTag: Float64Array;
  rFrame: Int32Array;
  wTag: Float64Array;
  wFrame: Int32Array;
  xTag: Float64Array;
  xFrame: Int32Array;
}
function newTlb(): Tlb {
  return {
    rTag: new Float64Array(TLB_SIZE).fill(NaN),
    rFrame: new Int32Array(TLB_SIZE),
    wTag: new Float64Array(TLB_SIZE).fill(NaN),
    wFrame: new Int32Array(TLB_SIZE),
    xTag: new Float64Array(TLB_SIZE).fill(NaN),
    xFrame: new Int32Array(TLB_SIZE),
  };
}
const DEAD_TLB = newTlb();
const freeTlbs: Tlb[] = [];
const MAX_FREE_TLBS = 8;
const freeLeaves: Int32Array[] = [];
const MAX_FREE_LEAVES = 64;
function newLeaf(): Int32Array {
  return freeLeaves.pop() ?? new Int32Array(L2_SIZE);
}

/** A fault record; the CPU adds the pc. */
export interface PendingFault {
  addr: number;
  access: AccessKind;
  cause: FaultCause;
}

export class AddressSpaceImpl implements AddressSpace {
  readonly memory: PhysicalMemoryImpl;
  private readonly bytes: Uint8Array;
  private readonly i32: Int32Array;
  private readonly dv: DataView;
  private readonly u16: Uint16Array;
  private readonly codeMark: Uint8Array;
  private readonly table = new Map<number, Int32Array>();
  /**
   * TLBs (reads, writes, instruction fetches): tag = virtual page number (NaN when empty: never
   * equal, even to vpn -1), frame = physical frame. Taken from the pool (freeTlbs) and handed
   * back by destroy().
   */
  private rTag: Float64Array;
  private rFrame: Int32Array;
  private wTag: Float64Array;
  private wFrame: Int32Array;
  /** Instruction fetches (fetchFrame): the CPU asks again each time it enters another page. */
  private xTag: Float64Array;
  private xFrame: Int32Array;
  /** Whether a TLB entry may be filled since the last flush (flushTlb has nothing to do otherwise). */
  private tlbUsed = false;
  private resident = 0;
  private peakResident = 0;
  private destroyed = false;
  /** Details of the last fault thrown by an access (valid after FAULT_SIGNAL). */
  readonly fault: PendingFault = { addr: 0, access: 'read', cause: 'not-mapped' };
  /** High half of the last ld64. */
  hi = 0;
  /** Exclusive-monitor hook: called on stores while the CPU holds a reservation. */
  monitorAddr = -1;
  /** Supplies frames of lazy shared pages (see AddressSpace.pager); null: they zero-fill. */
  pager: ((va: number) => number) | null = null;
  /** Writes the contents of lazy filled pages (see AddressSpace.filler); null: they zero-fill. */
  filler: ((page: number, dst: Uint8Array, at: number, held: PageCode | undefined) => PageCode | undefined) | null =
    null;

  constructor(memory: PhysicalMemoryImpl) {
    this.memory = memory;
    this.bytes = memory.bytes;
    this.i32 = memory.i32;
    this.dv = memory.view;
    this.u16 = memory.u16;
    this.codeMark = memory.codeMark;
    const tlb = freeTlbs.pop() ?? newTlb();
    this.rTag = tlb.rTag;
    this.rFrame = tlb.rFrame;
    this.wTag = tlb.wTag;
    this.wFrame = tlb.wFrame;
    this.xTag = tlb.xTag;
    this.xFrame = tlb.xFrame;
    memory.attach(this);
  }

  get residentPages(): number {
    return this.resident;
  }
  get peakResidentPages(): number {
    return this.peakResident;
  }

  // ---- page table -------------------------------------------------------------------

  private pte(vpn: number): number {
    const leaf = this.table.get(Math.floor(vpn / L2_SIZE));
    return leaf === undefined ? 0 : leaf[vpn & (L2_SIZE - 1)];
  }
  private setPte(vpn: number, e: number): void {
    const key = Math.floor(vpn / L2_SIZE);
    let leaf = this.table.get(key);
    if (leaf === undefined) {
      if (e === 0) return;
      leaf = newLeaf();
      this.table.set(key, leaf);
    }
    leaf[vpn & (L2_SIZE - 1)] = e;
  }
  private clearPte(vpn: number): void {
    const leaf = this.table.get(Math.floor(vpn / L2_SIZE));
    if (leaf !== undefined) this.clearLeaf(leaf, vpn & (L2_SIZE - 1), (vpn & (L2_SIZE - 1)) + 1);
  }
  /** Empties entries [lo, hi) of a leaf, releasing their frames. */
  private clearLeaf(leaf: Int32Array, lo: number, hi: number): void {
    for (let i = lo; i < hi; i++) {
      const e = leaf[i];
      if (e === 0) continue;
      if ((e & PTE_LAZY) === 0) {
        this.memory.release(e >>> PTE_FRAME_SHIFT);
        this.resident--;
      }
      leaf[i] = 0;
    }
  }
  /**
   * Calls `f(leaf, lo, hi)` for the part [lo, hi) of each leaf that pages [a, b) fall in;
   * `create` makes missing leaves, otherwise they are skipped.
   */
  private eachLeaf(a: number, b: number, create: boolean, f: (leaf: Int32Array, lo: number, hi: number) => void): void {
    for (let p = a; p < b;) {
      const key = Math.floor(p / L2_SIZE);
      const lo = p - key * L2_SIZE;
      const hi = Math.min(L2_SIZE, lo + (b - p));
      p += hi - lo;
      let leaf = this.table.get(key);
      if (leaf === undefined) {
        if (!create) continue;
        leaf = newLeaf();
        this.table.set(key, leaf);
      }
      f(leaf, lo, hi);
    }
  }
  flushTlb(): void {
    if (!this.tlbUsed) return;
    this.tlbUsed = false;
    this.rTag.fill(NaN);
    this.wTag.fill(NaN);
    this.xTag.fill(NaN);
  }
  private range(addr: number, length: number): [number, number] {
    if (!Number.isInteger(addr) || addr < 0 || addr % PAGE_SIZE !== 0)
      throw new RangeError(`unaligned address ${addr}`);
    if (!Number.isInteger(length) || length < 0 || addr + length > MAX_VA) throw new RangeError(`bad length ${length}`);
    return [addr / PAGE_SIZE, Math.ceil((addr + length) / PAGE_SIZE)];
  }

  private live(): void {
    if (this.destroyed) throw new Error('address space was destroyed');
  }

  mapAnonymous(addr: GuestAddr, length: number, prot: Prot, shared = false): void {
    this.mapLazy(addr, length, (prot & 7) | PTE_VALID | PTE_LAZY | (shared ? PTE_SHARED : 0));
  }
  mapFilled(addr: GuestAddr, length: number, prot: Prot): void {
    this.mapLazy(addr, length, (prot & 7) | PTE_VALID | PTE_LAZY | PTE_FILL);
  }
  private mapLazy(addr: GuestAddr, length: number, kind: number): void {
    this.live();
    const [a, b] = this.range(addr, length);
    this.eachLeaf(a, b, true, (leaf, lo, hi) => {
      this.clearLeaf(leaf, lo, hi);
      leaf.fill(kind, lo, hi);
    });
    this.flushTlb();
  }
  mapFrame(addr: GuestAddr, frame: number, prot: Prot, shared = false): void {
    this.live();
    const [a] = this.range(addr, PAGE_SIZE);
    this.memory.retain(frame);
    this.memory.unlink(frame); // its shared tables hold blocks compiled for its first address
    this.clearPte(a);
    this.setPte(a, (prot & 7) | PTE_VALID | (shared ? PTE_SHARED : PTE_COW) | (frame << PTE_FRAME_SHIFT));
    if (++this.resident > this.peakResident) this.peakResident = this.resident;
    this.flushTlb();
  }
  unmap(addr: GuestAddr, length: number): void {
    const [a, b] = this.range(addr, length);
    this.eachLeaf(a, b, false, (leaf, lo, hi) => this.clearLeaf(leaf, lo, hi));
    this.flushTlb();
  }
  protect(addr: GuestAddr, length: number, prot: Prot): void {
    const [a, b] = this.range(addr, length);
    this.eachLeaf(a, b, false, (leaf, lo, hi) => {
      for (let i = lo; i < hi; i++) if (leaf[i] !== 0) leaf[i] = (leaf[i] & ~7) | (prot & 7);
    });
    this.flushTlb();
  }
  query(addr: GuestAddr): { prot: Prot; frame: number } | undefined {
    const e = this.pte(Math.floor(addr / PAGE_SIZE));
    if (e === 0) return undefined;
    const frame = (e & PTE_LAZY) === 0 ? e >>> PTE_FRAME_SHIFT : (e & PTE_FILL) !== 0 ? -2 : -1;
    return { prot: e & 7, frame };
  }
  fork(): AddressSpace {
    const child = new AddressSpaceImpl(this.memory);
    for (const [key, leaf] of this.table) {
      let copy: Int32Array | undefined;
      for (let i = 0; i < L2_SIZE; i++) {
        let e = leaf[i];
        if (e === 0) continue;
        if (copy === undefined) {
          copy = newLeaf();
          child.table.set(key, copy);
        }
        if ((e & PTE_LAZY) === 0) {
          this.memory.retain(e >>> PTE_FRAME_SHIFT);
          // Shared pages stay shared; private pages become copy-on-write in both spaces.
          if ((e & PTE_SHARED) === 0) e |= PTE_COW;
          leaf[i] = e;
          child.resident++;
        }
        copy[i] = e;
      }
    }
    child.peakResident = child.resident;
    this.flushTlb();
    return child;
  }
  destroy(): void {
    if (this.destroyed) return;
    for (const leaf of this.table.values()) {
      this.clearLeaf(leaf, 0, L2_SIZE);
      if (freeLeaves.length < MAX_FREE_LEAVES) freeLeaves.push(leaf);
    }
    this.table.clear();
    this.flushTlb();
    if (freeTlbs.length < MAX_FREE_TLBS)
      freeTlbs.push({
        rTag: this.rTag,
        rFrame: this.rFrame,
        wTag: this.wTag,
        wFrame: this.wFrame,
        xTag: this.xTag,
        xFrame: this.xFrame,
      });
    this.rTag = DEAD_TLB.rTag;
    this.rFrame = DEAD_TLB.rFrame;
    this.wTag = DEAD_TLB.wTag;
    this.wFrame = DEAD_TLB.wFrame;
    this.xTag = DEAD_TLB.xTag;
    this.xFrame = DEAD_TLB.xFrame;
    this.destroyed = true;
    this.memory.detach(this);
  }

  // ---- translation ------------------------------------------------------------------

  /**
   * Resolves a page for an access, making lazy pages present and breaking copy-on-write
   * for writes. Returns the frame, or -1 with `this.fault` filled in.
   * `checkProt` false for kernel copies (they ignore PROT bits).
   */
  resolve(va: number, access: AccessKind, checkProt: boolean): number {
    const vpn = Math.floor(va / PAGE_SIZE);
    let e = va >= 0 && va < MAX_VA ? this.pte(vpn) : 0;
    if (e === 0) return this.setFault(va, access, 'not-mapped');
    if (checkProt) {
      const need = access === 'read' ? PROT_READ : access === 'write' ? PROT_WRITE : PROT_EXEC;
      if ((e & need) === 0) return this.setFault(va, access, 'permission');
    }
    if ((e & PTE_LAZY) !== 0) {
      let f: number;
      if ((e & PTE_SHARED) !== 0 && this.pager !== null) {
        // A page of a shared object: its owner hands out the frame (-1 no memory, -2 bus error).
        f = this.pager(va);
        if (f < 0) return this.setFault(va, access, f === -2 ? 'bus' : 'no-memory');
        this.memory.retain(f);
      } else {
        const filler = (e & PTE_FILL) !== 0 ? this.filler : null;
        f = filler !== null ? this.memory.allocMaybeHeld() : this.memory.allocFrame();
        if (f < 0) return this.setFault(va, access, 'no-memory');
        if (filler !== null) {
          // A frame still holding the same code page's bytes from an earlier VM needs no copy.
          const held = this.memory.takeHeld(f, false);
          let shared = filler(vpn * PAGE_SIZE, this.bytes, f * PAGE_SIZE, held);
          if (held !== undefined && shared !== held) {
            this.bytes.fill(0, f * PAGE_SIZE, f * PAGE_SIZE + PAGE_SIZE);
            shared = filler(vpn * PAGE_SIZE, this.bytes, f * PAGE_SIZE, undefined);
          }
          if (shared !== undefined) this.memory.link(f, shared);
        }
      }
      e = (e & 7) | PTE_VALID | (e & PTE_SHARED) | (f << PTE_FRAME_SHIFT);
      this.setPte(vpn, e);
      if (++this.resident > this.peakResident) this.peakResident = this.resident;
    }
    let frame = e >>> PTE_FRAME_SHIFT;
    if (access === 'write' && (e & PTE_COW) !== 0) {
      if (this.memory.refCount(frame) > 1) {
        const f = this.memory.allocFrame();
        if (f < 0) return this.setFault(va, access, 'no-memory');
        this.bytes.copyWithin(f * PAGE_SIZE, frame * PAGE_SIZE, frame * PAGE_SIZE + PAGE_SIZE);
        this.memory.release(frame);
        frame = f;
      }
      e = (e & 7) | PTE_VALID | (frame << PTE_FRAME_SHIFT);
      this.setPte(vpn, e);
      const t = vpn & (TLB_SIZE - 1);
      this.rTag[t] = NaN;
      this.xTag[t] = NaN;
    }
    return frame;
  }
  private setFault(va: number, access: AccessKind, cause: FaultCause): number {
    this.fault.addr = va; // as computed (may be negative or past 2^56): the CPU rebuilds the exact address
    this.fault.access = access;
    this.fault.cause = cause;
    return -1;
  }
  /** Frame for a CPU read of page `vpn` (fills the TLB); throws FAULT_SIGNAL. */
  private rMiss(va: number): number {
    const f = this.resolve(va, 'read', true);
    if (f < 0) throw FAULT_SIGNAL;
    const vpn = Math.floor(va / PAGE_SIZE);
    const t = vpn & (TLB_SIZE - 1);
    this.rTag[t] = vpn;
    this.rFrame[t] = f;
    this.tlbUsed = true;
    return f;
  }
  private wMiss(va: number): number {
    const f = this.resolve(va, 'write', true);
    if (f < 0) throw FAULT_SIGNAL;
    const vpn = Math.floor(va / PAGE_SIZE);
    const t = vpn & (TLB_SIZE - 1);
    this.wTag[t] = vpn;
    this.wFrame[t] = f;
    this.tlbUsed = true;
    // A writable page is also readable through the same frame only if PROT_READ; leave rTLB alone.
    return f;
  }
  /** Frame for an instruction fetch from the page holding `va`; throws FAULT_SIGNAL. */
  fetchFrame(va: number): number {
    const vpn = Math.floor(va * INV_PAGE);
    const t = vpn & TLB_MASK;
    if (this.xTag[t] === vpn) return this.xFrame[t];
    const f = this.resolve(va, 'exec', true);
    if (f < 0) throw FAULT_SIGNAL;
    this.xTag[t] = vpn;
    this.xFrame[t] = f;
    this.tlbUsed = true;
    return f;
  }
  /** Byte offset in physical memory for reading `va` (page-local). */
  rBase(va: number): number {
    const vpn = Math.floor(va * INV_PAGE);
    const t = vpn & TLB_MASK;
    const f = this.rTag[t] === vpn ? this.rFrame[t] : this.rMiss(va);
    return f * PAGE + (va - vpn * PAGE);
  }
  /** Byte offset in physical memory for writing `va`; drops decoded code of the frame. */
  wBase(va: number): number {
    const vpn = Math.floor(va * INV_PAGE);
    const t = vpn & TLB_MASK;
    const f = this.wTag[t] === vpn ? this.wFrame[t] : this.wMiss(va);
    if (this.codeMark[f] !== 0) this.memory.dropCode(f);
    return f * PAGE + (va - vpn * PAGE);
  }
  /** Checks that [va, va+len) is writable (resolving lazy/COW pages) without writing. */
  probeWrite(va: number, len: number): void {
    this.wBase(va);
    const end = va + len - 1;
    const first = Math.floor(va * INV_PAGE);
    const last = Math.floor(end * INV_PAGE);
    if (last !== first) this.wBase(last * PAGE);
  }
  /** Checks that [va, va+len) is readable. */
  probeRead(va: number, len: number): void {
    this.rBase(va);
    const end = va + len - 1;
    const first = Math.floor(va * INV_PAGE);
    const last = Math.floor(end * INV_PAGE);
    if (last !== first) this.rBase(last * PAGE);
  }

  // ---- CPU accesses (throw FAULT_SIGNAL with `fault` filled in) ------------------------
  // Each accessor inlines the TLB lookup; page-crossing accesses take the byte-wise path
  // after checking every page they touch.

  ld8(va: number): number {
    const vpn = Math.floor(va * INV_PAGE);
    const t = vpn & TLB_MASK;
    const f = this.rTag[t] === vpn ? this.rFrame[t] : this.rMiss(va);
    return this.bytes[f * PAGE + (va - vpn * PAGE)];
  }
  ld16(va: number): number {
    const vpn = Math.floor(va * INV_PAGE);
    const o = va - vpn * PAGE;
    if (o <= PAGE - 2) {
      const t = vpn & TLB_MASK;
      const p = (this.rTag[t] === vpn ? this.rFrame[t] : this.rMiss(va)) * PAGE + o;
      return (p & 1) === 0 ? this.u16[p >>> 1] : this.dv.getUint16(p, true);
    }
    this.probeRead(va, 2);
    return this.ld8(va) | (this.ld8(va + 1) << 8);
  }
  /** 32-bit load, returned as a signed int32. */
  ld32(va: number): number {
    const vpn = Math.floor(va * INV_PAGE);
    const o = va - vpn * PAGE;
    if (o <= PAGE - 4) {
      const t = vpn & TLB_MASK;
      const p = (this.rTag[t] === vpn ? this.rFrame[t] : this.rMiss(va)) * PAGE + o;
      return (p & 3) === 0 ? this.i32[p >>> 2] : this.dv.getInt32(p, true);
    }
    this.probeRead(va, 4);
    return this.ld8(va) | (this.ld8(va + 1) << 8) | (this.ld8(va + 2) << 16) | (this.ld8(va + 3) << 24);
  }
  /** 64-bit load: returns the low half, high half in `this.hi`. */
  ld64(va: number): number {
    const vpn = Math.floor(va * INV_PAGE);
    const o = va - vpn * PAGE;
    if (o <= PAGE - 8) {
      const t = vpn & TLB_MASK;
      const p = (this.rTag[t] === vpn ? this.rFrame[t] : this.rMiss(va)) * PAGE + o;
      if ((p & 3) === 0) {
        const i = p >>> 2;
        this.hi = this.i32[i + 1];
        return this.i32[i];
      }
      this.hi = this.dv.getInt32(p + 4, true);
      return this.dv.getInt32(p, true);
    }
    this.probeRead(va, 8);
    const lo = this.ld32(va);
    this.hi = this.ld32(va + 4);
    return lo;
  }
  st8(va: number, v: number): void {
    if (this.monitorAddr >= 0) this.touchMonitor(va, 1);
    this.bytes[this.wBase(va)] = v;
  }
  st16(va: number, v: number): void {
    if (this.monitorAddr >= 0) this.touchMonitor(va, 2);
    const vpn = Math.floor(va * INV_PAGE);
    const o = va - vpn * PAGE;
    if (o <= PAGE - 2) {
      const p = this.wBase(va);
      if ((p & 1) === 0) this.u16[p >>> 1] = v;
      else this.dv.setUint16(p, v, true);
      return;
    }
    this.probeWrite(va, 2);
    this.bytes[this.wBase(va)] = v;
    this.bytes[this.wBase(va + 1)] = v >>> 8;
  }
  st32(va: number, v: number): void {
    if (this.monitorAddr >= 0) this.touchMonitor(va, 4);
    const vpn = Math.floor(va * INV_PAGE);
    const o = va - vpn * PAGE;
    if (o <= PAGE - 4) {
      const t = vpn & TLB_MASK;
      const f = this.wTag[t] === vpn ? this.wFrame[t] : this.wMiss(va);
      if (this.codeMark[f] !== 0) this.memory.dropCode(f);
      const p = f * PAGE + o;
      if ((p & 3) === 0) this.i32[p >>> 2] = v;
      else this.dv.setInt32(p, v, true);
      return;
    }
    this.probeWrite(va, 4);
    for (let i = 0; i < 4; i++) this.bytes[this.wBase(va + i)] = v >>> (8 * i);
  }
  st64(va: number, lo: number, hi: number): void {
    if (this.monitorAddr >= 0) this.touchMonitor(va, 8);
    const vpn = Math.floor(va * INV_PAGE);
    const o = va - vpn * PAGE;
    if (o <= PAGE - 8) {
      const t = vpn & TLB_MASK;
      const f = this.wTag[t] === vpn ? this.wFrame[t] : this.wMiss(va);
      if (this.codeMark[f] !== 0) this.memory.dropCode(f);
      const p = f * PAGE + o;
      if ((p & 3) === 0) {
        const i = p >>> 2;
        this.i32[i] = lo;
        this.i32[i + 1] = hi;
      } else {
        this.dv.setInt32(p, lo, true);
        this.dv.setInt32(p + 4, hi, true);
      }
      return;
    }
    this.probeWrite(va, 8);
    this.st32(va, lo);
    this.st32(va + 4, hi);
  }
  /** A store overlapping the reserved granule clears the exclusive monitor. */
  private touchMonitor(va: number, len: number): void {
    const g = this.monitorAddr;
    if (va < g + 64 && va + len > g) this.monitorAddr = -1;
  }

  // ---- kernel copies ------------------------------------------------------------------

  /** The fault that stopped a kernel copy (its address is the kernel's own number). */
  private copyFault(): FaultInfo {
    const { hi, lo } = splitAddress(this.fault.addr);
    const { access, cause } = this.fault;
    return { pc: 0 as GuestAddr, addr: this.fault.addr as GuestAddr, addrHi: hi, addrLo: lo, access, cause };
  }

  read(addr: GuestAddr, dst: Uint8Array): null | { fault: FaultInfo; copied: number } {
    let done = 0;
    while (done < dst.length) {
      const va = addr + done;
      const f = this.resolve(va, 'read', false);
      if (f < 0) return { fault: this.copyFault(), copied: done };
      const off = va % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, dst.length - done);
      dst.set(this.bytes.subarray(f * PAGE_SIZE + off, f * PAGE_SIZE + off + n), done);
      done += n;
    }
    return null;
  }
  write(addr: GuestAddr, src: Uint8Array): null | { fault: FaultInfo; copied: number } {
    let done = 0;
    while (done < src.length) {
      const va = addr + done;
      const f = this.resolve(va, 'write', false);
      if (f < 0) return { fault: this.copyFault(), copied: done };
      // The write TLB may cache this page now that COW is broken; drop stale read entries.
      const vpn = Math.floor(va / PAGE_SIZE);
      this.rTag[vpn & (TLB_SIZE - 1)] = NaN;
      this.wTag[vpn & (TLB_SIZE - 1)] = NaN;
      this.xTag[vpn & (TLB_SIZE - 1)] = NaN;
      if (this.memory.codeMark[f] !== 0) this.memory.dropCode(f);
      const off = va % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, src.length - done);
      this.bytes.set(src.subarray(done, done + n), f * PAGE_SIZE + off);
      done += n;
    }
    return null;
  }
}

/** Throws an alignment fault for `va` (exclusives, atomics). */
export function alignmentFault(mem: AddressSpaceImpl, va: number, access: AccessKind): never {
  mem.fault.addr = va;
  mem.fault.access = access;
  mem.fault.cause = 'alignment';
  throw FAULT_SIGNAL;
}
