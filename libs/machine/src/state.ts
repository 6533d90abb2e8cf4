/**
 * Architectural register state of one AArch64 EL0 CPU, kept in typed arrays.
 *
 * Integer registers: `x` holds 34 64-bit slots as pairs of 32-bit halves:
 *   x[2n] = low 32 bits, x[2n+1] = high 32 bits (as signed int32; use `>>> 0` for unsigned).
 *   Slot 0..30 = X0..X30, slot 31 = XZR (always zero: write helpers skip it), slot 32 = SP.
 *   Register field value 31 means XZR or SP depending on the instruction: use `rz(n)`-style
 *   reads (slot n) for XZR semantics and `sp(n)` (31 -> 32) for SP semantics.
 * Vector registers: V[n] occupies bytes [16n, 16n+16) of the ArrayBuffer `v` (the integer registers follow them),
 * little-endian, with views vb (u8), vh (u16), vw (u32), vi (i32), vf32 (f32), vf64 (f64).
 * Flags are kept unpacked in `nf`, `zf`, `cf`, `vf` (each 0 or 1).
 */
import type { AddressSpaceImpl } from './memory';

/** Thrown (as this one preallocated object) to abandon the current instruction. */
export class StopSignal {
  constructor(readonly kind: 'fault' | 'undefined' | 'breakpoint') {}
}
export const UNDEFINED_SIGNAL = new StopSignal('undefined');
export const FAULT_SIGNAL = new StopSignal('fault');
export const BREAKPOINT_SIGNAL = new StopSignal('breakpoint');

export const SLOT_ZR = 31;
export const SLOT_SP = 32;

/** Bytes of V0..V31 at the start of CpuState.v; the integer registers follow them. */
const V_BYTES = 32 * 16;
const X_WORDS = 34 * 2;

export class CpuState {
  /**
   * One buffer for all registers (one backing store per CPU instead of two): V0..V31, 16 bytes
   * each, in bytes [0, 512), then the integer registers.
   */
  readonly v = new ArrayBuffer(V_BYTES + X_WORDS * 4);
  /** 64-bit integer registers as 32-bit halves (see file comment). */
  readonly x = new Int32Array(this.v, V_BYTES, X_WORDS);
  readonly xu = new Uint32Array(this.v, V_BYTES, X_WORDS);
  readonly vb = new Uint8Array(this.v, 0, V_BYTES);
  readonly vh = new Uint16Array(this.v, 0, V_BYTES / 2);
  readonly vw = new Uint32Array(this.v, 0, V_BYTES / 4);
  readonly vi = new Int32Array(this.v, 0, V_BYTES / 4);
  readonly vf32 = new Float32Array(this.v, 0, V_BYTES / 4);
  readonly vf64 = new Float64Array(this.v, 0, V_BYTES / 8);
  /** NZCV flags, each 0 or 1. */
  nf = 0;
  zf = 0;
  cf = 0;
  vf = 0;
  fpcr = 0;
  fpsr = 0;
  /** Address of the instruction being executed. */
  pc = 0;
  /** Address of the next instruction: the loop sets pc + 4, branches overwrite it. */
  npc = 0;
  tpidrLo = 0;
  tpidrHi = 0;
  tpidrroLo = 0;
  tpidrroHi = 0;
  /** Set by SVC/BRK handlers; the run loop returns this stop reason (0 = keep running). */
  stop = 0;
  svcImm = 0;
  /** Current address space; memory accesses go through it. */
  mem: AddressSpaceImpl;
  /** Scratch results for helpers returning two halves. */
  rlo = 0;
  rhi = 0;
  /** Host callbacks for counter registers. */
  readCounter: () => number = () => 0;
  counterFrequency = 62_500_000;

  constructor(mem: AddressSpaceImpl) {
    this.mem = mem;
  }

  getNZCV(): number {
    return ((this.nf << 31) | (this.zf << 30) | (this.cf << 29) | (this.vf << 28)) >>> 0;
  }
  setNZCV(bits: number): void {
    this.nf = (bits >>> 31) & 1;
    this.zf = (bits >>> 30) & 1;
    this.cf = (bits >>> 29) & 1;
    this.vf = (bits >>> 28) & 1;
  }
}

/** Abandons the current instruction as undefined (PC stays at it, no state changes). */
export function undefinedInsn(): never {
  throw UNDEFINED_SIGNAL;
}

/** Write Xd (64-bit) with XZR semantics: d == 31 discards. */
export function setX(s: CpuState, d: number, lo: number, hi: number): void {
  if (d !== 31) {
    s.x[d << 1] = lo;
    s.x[(d << 1) | 1] = hi;
  }
}
/** Write Wd (zero-extends into Xd) with XZR semantics. */
export function setW(s: CpuState, d: number, lo: number): void {
  if (d !== 31) {
    s.x[d << 1] = lo;
    s.x[(d << 1) | 1] = 0;
  }
}
/** Write Xd where 31 means SP. */
export function setXsp(s: CpuState, d: number, lo: number, hi: number): void {
  const i = d === 31 ? 64 : d << 1;
  s.x[i] = lo;
  s.x[i + 1] = hi;
}
/** Slot index (of the low half) for a register field with SP semantics. */
export function spSlot(n: number): number {
  return n === 31 ? 64 : n << 1;
}
/** X[n] as an unsigned number (exact below 2^53), XZR semantics. */
export function xNum(s: CpuState, n: number): number {
  return s.xu[(n << 1) | 1] * 4294967296 + s.xu[n << 1];
}
/** X[n]|SP as an unsigned number (addresses), SP semantics. */
export function xspNum(s: CpuState, n: number): number {
  const i = n === 31 ? 64 : n << 1;
  return s.xu[i + 1] * 4294967296 + s.xu[i];
}

/** Evaluates an A64 condition code (0..15) against the flags. */
export function condHolds(s: CpuState, cond: number): boolean {
  let r: boolean;
  switch (cond >>> 1) {
    case 0:
      r = s.zf === 1;
      break;
    case 1:
      r = s.cf === 1;
      break;
    case 2:
      r = s.nf === 1;
      break;
    case 3:
      r = s.vf === 1;
      break;
    case 4:
      r = s.cf === 1 && s.zf === 0;
      break;
    case 5:
      r = s.nf === s.vf;
      break;
    case 6:
      r = s.nf === s.vf && s.zf === 0;
      break;
    default:
      return true;
  }
  return (cond & 1) === 1 && cond !== 15 ? !r : r;
}
