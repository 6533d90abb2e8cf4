/**
 * Shared helpers for Advanced SIMD handlers: element access on the register file and a
 * 16-byte result scratch (handlers build the result there, then commit it, so that a
 * destination that is also a source reads the old value).
 */
import type { CpuState } from '../state';

/** Result scratch: one 128-bit register (plus a second one for pair/2-register results). */
export const RB = new ArrayBuffer(64);
export const R8 = new Uint8Array(RB);
export const R16 = new Uint16Array(RB);
export const R32 = new Uint32Array(RB);
export const RI32 = new Int32Array(RB);

/** Copies the scratch result into V[d]; a 64-bit (Q=0) result zeroes the upper half. */
export function commit(s: CpuState, d: number, q: number): void {
  const w = s.vw;
  const i = d << 2;
  w[i] = R32[0];
  w[i + 1] = R32[1];
  if (q) {
    w[i + 2] = R32[2];
    w[i + 3] = R32[3];
  } else {
    w[i + 2] = 0;
    w[i + 3] = 0;
  }
}

/** Writes the low `bytes` of the scratch to V[d] and zeroes the rest (scalar results). */
export function commitScalar(s: CpuState, d: number, bytes: number): void {
  const w = s.vw;
  const i = d << 2;
  if (bytes === 8) {
    w[i] = R32[0];
    w[i + 1] = R32[1];
  } else if (bytes === 4) {
    w[i] = R32[0];
    w[i + 1] = 0;
  } else {
    w[i] = bytes === 2 ? R16[0] : R8[0];
    w[i + 1] = 0;
  }
  w[i + 2] = 0;
  w[i + 3] = 0;
}

/** Unsigned element of V[reg] (esize 0=8, 1=16, 2=32 bits). */
export function eltU(s: CpuState, reg: number, es: number, i: number): number {
  if (es === 0) return s.vb[(reg << 4) + i];
  if (es === 1) return s.vh[(reg << 3) + i];
  return s.vw[(reg << 2) + i];
}

/** Signed element of V[reg] (esize 0=8, 1=16, 2=32 bits). */
export function eltS(s: CpuState, reg: number, es: number, i: number): number {
  if (es === 0) return (s.vb[(reg << 4) + i] << 24) >> 24;
  if (es === 1) return (s.vh[(reg << 3) + i] << 16) >> 16;
  return s.vi[(reg << 2) + i];
}

/** Stores the low `8 << es` bits of v into result element i. */
export function putR(es: number, i: number, v: number): void {
  if (es === 0) R8[i] = v;
  else if (es === 1) R16[i] = v;
  else R32[i] = v;
}

/** Reads result element i (unsigned). */
export function getR(es: number, i: number): number {
  if (es === 0) return R8[i];
  if (es === 1) return R16[i];
  return R32[i];
}

/** Saturation helpers: clamp to the signed/unsigned range of `bits`, setting FPSR.QC on clamp. */
export const FPSR_QC = 1 << 27;
export function satS(s: CpuState, v: number, bits: number): number {
  const max = 2 ** (bits - 1) - 1;
  const min = -(2 ** (bits - 1));
  if (v > max) {
    s.fpsr |= FPSR_QC;
    return max;
  }
  if (v < min) {
    s.fpsr |= FPSR_QC;
    return min;
  }
  return v;
}
export function satU(s: CpuState, v: number, bits: number): number {
  const max = 2 ** bits - 1;
  if (v > max) {
    s.fpsr |= FPSR_QC;
    return max;
  }
  if (v < 0) {
    s.fpsr |= FPSR_QC;
    return 0;
  }
  return v;
}
