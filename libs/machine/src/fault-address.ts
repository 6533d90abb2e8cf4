/**
 * The exact 64-bit address of a memory fault (cold path: runs once per fault, never per access).
 *
 * Handlers form data addresses as JS numbers: the base register with its top byte dropped
 * (Linux TBI0) plus the offset. That number is what the MMU sees and all it needs (anything at
 * or above 2^48 faults), but it has lost the tag byte, a carry into it or a borrow below zero,
 * and above 2^53 it is rounded. The architectural address (what FAR_EL1 holds) is
 * base + offset modulo 2^64. A faulting instruction changed no register, so it is rebuilt here
 * from the instruction word and the registers:
 *
 * - the exact 64-bit base B (Xn|SP; for register-offset forms the exact sum Xn + ext(Xm) << s;
 *   for DC ZVA Xt rounded down to the block) and the number the handler derived from it,
 *   A = B with bits 63:56 cleared, as a double;
 * - when A is small enough to be exact, the faulting access lies `va - A` bytes from B
 *   (exact: a later element of a pair, the second page of a straddling access);
 * - otherwise A is far above user space, so the instruction's first access faulted: its
 *   offset from B is decoded from the instruction (immediate forms; post-index and the
 *   rest access B itself).
 */
import type { CpuState } from './state';

const TWO32 = 4294967296;
/** Below this, A and A + any immediate offset are exact doubles. */
const EXACT_LIMIT = 2 ** 53 - 2 ** 26;

/** Halves of a 64-bit address (unsigned 32-bit numbers). */
export interface AddrHalves {
  hi: number;
  lo: number;
}

/** A number taken modulo 2^64 (negative: wrapped below zero) as halves. */
export function splitAddress(v: number): AddrHalves {
  const h = Math.floor(v / TWO32);
  return { hi: h >>> 0, lo: (v - h * TWO32) >>> 0 };
}

/** hi:lo + delta (a small signed integer) modulo 2^64. */
function addOffset(hi: number, lo: number, delta: number): AddrHalves {
  const l = lo + delta;
  const c = Math.floor(l / TWO32);
  return { hi: (hi + c) >>> 0, lo: (l - c * TWO32) >>> 0 };
}

/**
 * Exact address of the data access at `va` (the number the handler passed to the MMU) by the
 * instruction `insn` now at s.pc. Instructions outside the load/store and DC ZVA encodings (and
 * PC-relative literal loads, whose address is exact) report `va` itself.
 */
export function dataFaultAddress(s: CpuState, insn: number, va: number): AddrHalves {
  const xu = s.xu;
  let bhi: number;
  let blo: number;
  let first = 0;
  if ((insn & 0xffffffe0) >>> 0 === 0xd50b7420) {
    // DC ZVA Xt: the 64-byte block holding Xt (slot 31 is XZR and reads 0).
    const t = (insn & 31) << 1;
    bhi = xu[t + 1];
    blo = (xu[t] & ~63) >>> 0;
  } else if ((insn & 0x0a000000) !== 0x08000000 || (insn & 0x3b000000) === 0x18000000) {
    return splitAddress(va); // not a load/store, or a PC-relative literal load
  } else if ((insn & 0x3b200c00) === 0x38200800) {
    // Register offset: Xn|SP + (extend(Xm) << shift), shift = access size when S is set.
    const bi = ((insn >>> 5) & 31) === 31 ? 64 : ((insn >>> 5) & 31) << 1;
    const mi = ((insn >>> 16) & 31) << 1;
    const option = (insn >>> 13) & 7;
    const shift = (insn >>> 12) & 1 ? accessScale(insn) : 0;
    let olo = xu[mi];
    let ohi = option === 2 ? 0 : option === 6 ? s.x[mi] >> 31 : xu[mi + 1];
    if (shift !== 0) {
      ohi = (ohi << shift) | (olo >>> (32 - shift));
      olo = (olo << shift) >>> 0;
    }
    const lo = xu[bi] + olo;
    blo = lo >>> 0;
    bhi = (xu[bi + 1] + ohi + (lo >= TWO32 ? 1 : 0)) >>> 0;
  } else {
    const bi = ((insn >>> 5) & 31) === 31 ? 64 : ((insn >>> 5) & 31) << 1;
    bhi = xu[bi + 1];
    blo = xu[bi];
    first = firstOffset(insn);
  }
  const a = (bhi & 0xffffff) * TWO32 + blo;
  return addOffset(bhi, blo, a < EXACT_LIMIT ? va - a : first);
}

/** log2 of the access size of a load/store register (immediate or register offset) form. */
function accessScale(insn: number): number {
  const size = insn >>> 30;
  const vec = (insn >>> 26) & 1;
  return vec === 1 && size === 0 && ((insn >>> 23) & 1) === 1 ? 4 : size;
}

/** Offset of an instruction's first access from its base register (immediate forms). */
function firstOffset(insn: number): number {
  const cls = (insn >>> 27) & 7; // bits 29:27
  if (cls === 7) {
    // Load/store register: unsigned immediate, or imm9 forms (unscaled, unprivileged, pre-index).
    if (((insn >>> 24) & 3) === 1) return ((insn >>> 10) & 0xfff) * 2 ** accessScale(insn);
    if (((insn >>> 24) & 3) === 0 && ((insn >>> 21) & 1) === 0 && ((insn >>> 10) & 3) !== 1) return (insn << 11) >> 23;
    return 0;
  }
  if (cls === 5) {
    // Load/store pair: no-allocate, signed offset and pre-index add imm7 << scale first.
    if (((insn >>> 23) & 3) === 1) return 0;
    const opc = insn >>> 30;
    const vec = (insn >>> 26) & 1;
    const load = (insn >>> 22) & 1;
    const scale = vec === 1 ? 2 + opc : opc === 1 ? (load === 1 ? 2 : 4) : opc === 0 ? 2 : 3;
    return ((insn << 10) >> 25) * 2 ** scale;
  }
  return 0; // exclusives, ordered, atomics, SIMD structures: the base itself
}
