/**
 * The contract between libs/machine and its users (the kernel, tests, benchmarks).
 *
 * This file holds types only. The implementation lives in the other modules of this
 * library; anything exported from `index.ts` that the kernel uses must satisfy these
 * interfaces. Change this file only together with its users, and say why in the commit.
 */
import type { PageCode } from './memory';

/** A guest virtual address. Always a non-negative integer below 2^48, kept as a JS number. */
export type GuestAddr = number & { readonly __brand: 'GuestAddr' };
export const guestAddr = (n: number): GuestAddr => n as GuestAddr;

/** Page size of the guest MMU. */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** Page permissions (bit set). */
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export type Prot = number;

export type AccessKind = 'read' | 'write' | 'exec';
/**
 * not-mapped: no page-table entry (the kernel decides: SIGSEGV, stack growth, file page-in).
 * permission: an entry exists but forbids the access.
 * no-memory: a lazily zero-filled page could not get a frame (memory quota exhausted).
 * alignment: an access that the architecture requires to be aligned was not (exclusives, atomics).
 * bus: the pager refused a lazy shared page (a file page wholly beyond end of file: SIGBUS).
 */
export type FaultCause = 'not-mapped' | 'permission' | 'no-memory' | 'alignment' | 'bus';

export interface FaultInfo {
  readonly pc: GuestAddr;
  /**
   * The faulting address as a number: exact below 2^53 (every mapped page and every address
   * the kernel copies to); above that use `addrHi`/`addrLo`.
   */
  readonly addr: GuestAddr;
  /**
   * The faulting address exactly, as the architecture forms it (the 64-bit sum modulo 2^64,
   * top byte included: a tagged base keeps its tag, base - offset below zero wraps to
   * 0xffff...): high and low 32-bit halves, each an unsigned number. Linux derives si_addr
   * from this with its untagged_addr rule; the CPU does not apply it.
   */
  readonly addrHi: number;
  readonly addrLo: number;
  readonly access: AccessKind;
  readonly cause: FaultCause;
}

/** Why `Cpu.run` returned. */
export const enum StopReason {
  /** The instruction budget was spent. */
  Budget = 0,
  /** SVC #imm executed; PC already points after it. `cpu.svcImmediate` holds imm16. */
  Svc = 1,
  /** A memory fault; PC points at the faulting instruction and no state was changed by it. */
  Fault = 2,
  /** An unallocated or unimplemented encoding; PC points at it. `cpu.undefinedInsn` holds the word. */
  Undefined = 3,
  /** BRK #imm; PC points at it. `cpu.svcImmediate` holds imm16. */
  Breakpoint = 4,
  /** `cpu.requestStop()` was called (from a host callback) — the kernel wants control back. */
  Interrupted = 5,
}

/**
 * Guest physical memory: one buffer sized by the VM's memory quota, cut into 4 KiB frames
 * with reference counts (a frame shared copy-on-write by two address spaces has count 2).
 */
export interface PhysicalMemory {
  readonly frameCount: number;
  readonly freeFrames: number;
  /** Highest number of frames in use at once since creation (for `maxMemoryBytes`). */
  readonly peakFramesUsed: number;
  /** The whole of guest physical memory; frame f occupies bytes [f*4096, f*4096+4096). */
  readonly bytes: Uint8Array;
  /** A zeroed frame with refcount 1, or -1 when none is left. */
  allocFrame(): number;
  retain(frame: number): void;
  /** Drops one reference; the frame is free when its count reaches zero. */
  release(frame: number): void;
  refCount(frame: number): number;
  /**
   * The VM is finished: destroys every address space over this memory, refuses new frames,
   * and lets the next memory created in this thread reuse the (zeroed) backing buffer.
   */
  retire(): void;
}

/**
 * One guest address space (a page table + TLB). Mappings are page-granular.
 *
 * Page-table entries come in three kinds:
 * - absent: any access faults with cause 'not-mapped' (the kernel may page in and retry);
 * - lazy zero-fill: mapped with permissions but no frame yet; the first access takes a
 *   zeroed frame without leaving the CPU (or faults with 'no-memory');
 * - present: a frame with permissions; a present page shared after `fork` is copy-on-write
 *   and is copied on the first write by either side, without leaving the CPU.
 */
export interface AddressSpace {
  readonly memory: PhysicalMemory;
  /**
   * Map [addr, addr+length) as lazy pages with `prot`. Replaces what was there.
   * Private (default): the first access takes a zeroed frame. `shared`: the first access asks
   * `pager` for the frame (shared memory and file pages: the same frame in every space that
   * maps the object); fork() copies such a page as lazy-shared, so the child asks its own pager.
   */
  mapAnonymous(addr: GuestAddr, length: number, prot: Prot, shared?: boolean): void;
  /**
   * Frame source for lazy shared pages: given the faulting address, returns a frame (the space
   * takes its own reference), -1 when no frame is left ('no-memory') or -2 for a bus error
   * ('bus'). Null: lazy shared pages zero-fill like private ones.
   */
  pager: ((va: number) => number) | null;
  /**
   * Map [addr, addr+length) as lazy private pages with contents: the first access takes a
   * zeroed frame and asks `filler` to write the page's contents into it (ELF segments, loaded
   * on demand). Otherwise like private `mapAnonymous` pages; fork() copies them still lazy, so
   * the child asks its own filler.
   */
  mapFilled(addr: GuestAddr, length: number, prot: Prot): void;
  /**
   * Contents of lazy filled pages: writes the page at guest address `page` into
   * `dst[at, at + PAGE_SIZE)`, which is zero on entry. Null: filled pages zero-fill.
   * It may return the `PageCode` of that page (immutable code at this address: the same
   * object for the same bytes at the same address, in this thread only), so the CPU starts
   * from the instructions other VMs decoded there.
   * `held` (usually undefined): the frame is not zero but still holds the bytes of the page that
   * PageCode describes (an earlier VM of this thread left them). A filler that would return
   * `held` may return it without writing; if it returns anything else, the space zeroes the
   * frame and calls it again without `held`.
   */
  filler: ((page: number, dst: Uint8Array, at: number, held: PageCode | undefined) => PageCode | undefined) | null;
  /**
   * Map one page to an existing frame (retains it). Used for file pages and shared memory.
   * Private (default): copy-on-write — the first write copies the frame while another
   * reference to it exists. `shared`: writes go to the frame itself and fork() shares it.
   */
  mapFrame(addr: GuestAddr, frame: number, prot: Prot, shared?: boolean): void;
  /** Remove pages (releasing their frames). Unmapped holes are fine. */
  unmap(addr: GuestAddr, length: number): void;
  /** Change permissions of mapped pages; absent pages are skipped. */
  protect(addr: GuestAddr, length: number, prot: Prot): void;
  /** Current state of one page, or undefined when absent. */
  query(addr: GuestAddr): { prot: Prot; frame: number /* -1 while lazy, -2 lazy filled */ } | undefined;
  /**
   * Kernel-side copies (they ignore PROT bits but honour lazy and copy-on-write pages).
   * They return null on success, or the fault that stopped them (nothing partial is hidden:
   * `copied` says how many bytes were transferred before the fault).
   */
  read(addr: GuestAddr, dst: Uint8Array): null | { fault: FaultInfo; copied: number };
  write(addr: GuestAddr, src: Uint8Array): null | { fault: FaultInfo; copied: number };
  /**
   * A duplicate for fork(): private pages become copy-on-write in both spaces, shared pages
   * (mapFrame with `shared`) stay shared, lazy pages stay lazy (and private) on both sides.
   */
  fork(): AddressSpace;
  /** Release every frame; the space must not be used afterwards. */
  destroy(): void;
  /** Frames this space maps (resident set), for /proc and memory accounting. */
  readonly residentPages: number;
  /** Highest `residentPages` since creation (Linux's hiwater_rss, getrusage's ru_maxrss). */
  readonly peakResidentPages: number;
}

/** A saved architectural context (task switch). Opaque to the kernel apart from copying. */
export interface CpuContext {
  readonly kind: 'aarch64-context';
}

/** Host services the CPU calls back into. */
export interface CpuHost {
  /** CNTVCT_EL0: the virtual counter (the kernel derives it from the instruction count in deterministic mode). */
  readCounter(): number;
  /** CNTFRQ_EL0 in Hz. */
  readonly counterFrequency: number;
}

/**
 * One AArch64 EL0 CPU. One instance per VM; tasks are switched with save/restoreContext
 * and by assigning `addressSpace`.
 *
 * 64-bit register values cross this API as bigint (slow path: syscalls, signals, tests) or
 * as numbers where noted; the interpreter itself never uses BigInt.
 */
export interface Cpu {
  addressSpace: AddressSpace;
  /** Executes up to `budget` instructions; see `retired` and the stop fields. */
  run(budget: number): StopReason;
  /** Instructions retired by the last `run` (exact; a faulting instruction does not retire). */
  readonly retired: number;
  /** Total instructions retired since creation. */
  readonly totalRetired: number;
  /** imm16 of the last SVC or BRK. */
  readonly svcImmediate: number;
  /** Fault details when run returned StopReason.Fault. */
  readonly lastFault: FaultInfo | null;
  /** The instruction word when run returned StopReason.Undefined. */
  readonly undefinedInsn: number;
  /** Ask a running `run` to return StopReason.Interrupted at the next instruction boundary. */
  requestStop(): void;

  getX(n: number): bigint; // n in 0..30; 31 reads as zero (XZR)
  setX(n: number, value: bigint): void;
  /** X[n] as a number: exact for values below 2^53 (pointers, sizes, small ints). */
  getXNumber(n: number): number;
  /** X[n] as a signed 32-bit int (syscall int arguments such as fds and flags). */
  getW(n: number): number;
  /** Sets X[n] from a number: non-negative values below 2^53, or negative values (sign-extended to 64 bits). */
  setXNumber(n: number, value: number): void;
  sp: GuestAddr;
  pc: GuestAddr;
  /** NZCV in bits 31..28, as MRS NZCV reads it. */
  nzcv: number;
  tpidrEl0: bigint;
  tpidrroEl0: bigint;
  fpcr: number;
  fpsr: number;
  /** V[n] as 16 little-endian bytes (a copy). */
  getV(n: number): Uint8Array;
  setV(n: number, bytes: Uint8Array): void;

  saveContext(): CpuContext;
  restoreContext(ctx: CpuContext): void;
  /** Clears the exclusive monitor (context switch, signal delivery). */
  clearExclusive(): void;
  /** Drops cached decoded code for [addr, addr+length) (the kernel calls it on code-page writes it makes itself). */
  invalidateCode(addr: GuestAddr, length: number): void;
}
