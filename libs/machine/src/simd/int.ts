/**
 * Advanced SIMD integer data processing: three-same, two-register misc, across lanes,
 * three-different, shift by immediate, permutes, EXT, TBL/TBX, copy (DUP/INS/UMOV/SMOV)
 * and modified immediate (MOVI/MVNI/ORR/BIC).
 *
 * Handlers are built per instruction by small factories (`threeSame(u, opcode)` …); the
 * element loops below are shared.
 */
import type { Handler } from '../decode/types';
import type { CpuState } from '../state';
import * as M_state from '../state';
import * as M_int64 from './int64';
import * as M_vec from './vec';

const { setW, setX, undefinedInsn } = M_state;
const { add64, asr64, cmpS64, cmpU64, L, lsr64, shl64, sub64 } = M_int64;
const { commit, commitScalar, eltS, eltU, FPSR_QC, putR, R32, R8, satS, satU } = M_vec;

const TWO32 = 4294967296;

// ---------------------------------------------------------------------------------------
// Shift helpers on ≤32-bit lanes, with values as exact doubles.

/** Shifts x (an exact integer) by sh bits (left if positive), optionally rounding right shifts. */
function shiftVal(x: number, sh: number, round: boolean): number {
  if (sh >= 0) return sh > 80 ? (x === 0 ? 0 : x * 2 ** 80) : x * 2 ** sh;
  const k = -sh;
  if (k > 80) return round ? 0 : x < 0 ? -1 : 0;
  const d = 2 ** k;
  return round ? Math.floor((x + d / 2) / d) : Math.floor(x / d);
}

/** Register-controlled shift of a ≤32-bit lane (SSHL/USHL/SRSHL/URSHL/SQSHL/UQSHL/SQRSHL/UQRSHL). */
function regShift(s: CpuState, x: number, b: number, bits: number, u: number, round: boolean, sat: boolean): number {
  const sh = (b << 24) >> 24;
  const r = shiftVal(x, sh, round);
  if (!sat) return r;
  return u ? satU(s, r, bits) : satS(s, r, bits);
}

// ---------------------------------------------------------------------------------------
// Three registers, same type.

function sameLane(
  s: CpuState,
  u: number,
  opc: number,
  bits: number,
  a: number,
  b: number,
  as: number,
  bs: number,
  d: number,
): number {
  const x = u ? a : as;
  const y = u ? b : bs;
  switch (opc) {
    case 0:
      return Math.floor((x + y) / 2);
    case 1:
      return u ? satU(s, x + y, bits) : satS(s, x + y, bits);
    case 2:
      return Math.floor((x + y + 1) / 2);
    case 4:
      return Math.floor((x - y) / 2);
    case 5:
      return u ? satU(s, x - y, bits) : satS(s, x - y, bits);
    case 6:
      return x > y ? -1 : 0;
    case 7:
      return x >= y ? -1 : 0;
    case 8:
      return regShift(s, x, b, bits, u, false, false);
    case 9:
      return regShift(s, x, b, bits, u, false, true);
    case 10:
      return regShift(s, x, b, bits, u, true, false);
    case 11:
      return regShift(s, x, b, bits, u, true, true);
    case 12:
      return x > y ? x : y;
    case 13:
      return x < y ? x : y;
    case 14:
      return Math.abs(x - y);
    case 15:
      return d + Math.abs(x - y);
    case 16:
      return u ? a - b : a + b;
    case 17:
      return u ? (a === b ? -1 : 0) : (a & b) !== 0 ? -1 : 0;
    case 18:
      return u ? d - Math.imul(a, b) : d + Math.imul(a, b);
    case 19:
      if (u) {
        // PMUL (bytes only): carry-less multiply
        let r = 0;
        for (let i = 0; i < 8; i++) if ((b >>> i) & 1) r ^= a << i;
        return r;
      }
      return Math.imul(a, b);
    case 22: {
      // SQDMULH / SQRDMULH
      const p = mulWide(as, bs) * 2;
      const r = u ? p + 2 ** (bits - 1) : p;
      return satS(s, Math.floor(r / 2 ** bits), bits);
    }
    default:
      return undefinedInsn();
  }
}

/** Exact signed product of two ≤32-bit signed values when it fits in 2^53, else correctly floored high part trick. */
function mulWide(a: number, b: number): number {
  // |a|,|b| ≤ 2^31: the product is ≤ 2^62; doubles keep it exactly only below 2^53, but the
  // callers (SQDMULH on 32-bit lanes) need bits above 2^32 exactly: compute with 16-bit splits.
  const p = a * b;
  if (Math.abs(p) < 2 ** 53) return p;
  const neg = a < 0 !== b < 0;
  const x = Math.abs(a);
  const y = Math.abs(b);
  const xh = Math.floor(x / 65536);
  const xl = x % 65536;
  const hi = xh * y; // exact (< 2^48)
  const lo = xl * y; // exact
  // value = hi * 65536 + lo; returned as a double that floors correctly at 2^32 granularity
  const top = Math.floor(hi / 65536);
  const rest = (hi % 65536) * 65536 + lo; // < 2^49
  const v = top * TWO32 + rest; // top*2^32 is exact; sum may round only below 2^(62-53)
  if (!neg) return v;
  // for negative results make sure flooring at 2^32 granularity stays right: -(top*2^32 + rest)
  return -(top * TWO32) - rest;
}

/** ≤32-bit element loop of three-same. */
function threeSameNarrow(s: CpuState, insn: number, u: number, opc: number): void {
  const q = (insn >>> 30) & 1;
  const es = (insn >>> 22) & 3;
  const m = (insn >>> 16) & 31;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const bits = 8 << es;
  const lanes = (q ? 16 : 8) >> es;
  if (opc >= 20 && opc !== 22) {
    // pairwise: MAXP / MINP / ADDP over the concatenation n:m
    const half = lanes >> 1;
    for (let i = 0; i < lanes; i++) {
      const src = i < half ? n : m;
      const j = (i < half ? i : i - half) * 2;
      const a = u ? eltU(s, src, es, j) : eltS(s, src, es, j);
      const b = u ? eltU(s, src, es, j + 1) : eltS(s, src, es, j + 1);
      putR(es, i, opc === 20 ? (a > b ? a : b) : opc === 21 ? (a < b ? a : b) : a + b);
    }
    commit(s, d, q);
    return;
  }
  for (let i = 0; i < lanes; i++) {
    const a = eltU(s, n, es, i);
    const b = eltU(s, m, es, i);
    const as = eltS(s, n, es, i);
    const bs = eltS(s, m, es, i);
    const dv = eltU(s, d, es, i);
    putR(es, i, sameLane(s, u, opc, bits, a, b, as, bs, dv));
  }
  commit(s, d, q);
}

/** 64-bit lanes of three-same (vector 2D, or scalar D). */
function same64(s: CpuState, u: number, opc: number, alo: number, ahi: number, blo: number, bhi: number): void {
  switch (opc) {
    case 1:
    case 5: {
      // SQADD/UQADD, SQSUB/UQSUB
      if (opc === 1) add64(alo, ahi, blo, bhi);
      else sub64(alo, ahi, blo, bhi);
      if (u) {
        const c = cmpU64(L.lo, L.hi, alo, ahi);
        if (opc === 1 && c < 0) {
          s.fpsr |= FPSR_QC;
          L.lo = -1;
          L.hi = -1;
        } else if (opc === 5 && cmpU64(alo, ahi, blo, bhi) < 0) {
          s.fpsr |= FPSR_QC;
          L.lo = 0;
          L.hi = 0;
        }
      } else {
        const sa = ahi >> 31;
        const sb = bhi >> 31;
        const sr = L.hi >> 31;
        const ovf = opc === 1 ? sa === sb && sr !== sa : sa !== sb && sr !== sa;
        if (ovf) {
          s.fpsr |= FPSR_QC;
          L.lo = sa ? 0 : -1;
          L.hi = sa ? 0x80000000 | 0 : 0x7fffffff;
        }
      }
      return;
    }
    case 6:
    case 7: {
      const c = u ? cmpU64(alo, ahi, blo, bhi) : cmpS64(alo, ahi, blo, bhi);
      const t = opc === 6 ? c > 0 : c >= 0;
      L.lo = t ? -1 : 0;
      L.hi = L.lo;
      return;
    }
    case 8:
    case 9:
    case 10:
    case 11: {
      const sh = (blo << 24) >> 24;
      const round = opc === 10 || opc === 11;
      if (sh >= 0) {
        if (opc === 9 || opc === 11) qshl64(s, u, alo, ahi, sh);
        else shl64(alo, ahi, sh);
      } else {
        const k = -sh;
        const rb = round ? bitAt(alo, ahi, k - 1, u) : 0;
        if (u) lsr64(alo, ahi, k);
        else asr64(alo, ahi, k);
        if (rb) add64(L.lo, L.hi, 1, 0);
      }
      return;
    }
    case 16:
      if (u) sub64(alo, ahi, blo, bhi);
      else add64(alo, ahi, blo, bhi);
      return;
    case 17: {
      const t = u ? alo === blo && ahi === bhi : (alo & blo) !== 0 || (ahi & bhi) !== 0;
      L.lo = t ? -1 : 0;
      L.hi = L.lo;
      return;
    }
    default:
      undefinedInsn();
  }
}

/** Saturating left shift of a 64-bit lane by 0..127 (signed when u == 0); sets QC on saturation. */
function qshl64(s: CpuState, u: number, lo: number, hi: number, sh: number): void {
  const neg = !u && (hi | 0) < 0;
  const zero = lo === 0 && hi === 0;
  let lost: boolean;
  if (sh >= 64) {
    lost = !zero;
    L.lo = L.hi = 0;
  } else {
    shl64(lo, hi, sh);
    const rlo = L.lo;
    const rhi = L.hi;
    if (u) lsr64(rlo, rhi, sh);
    else asr64(rlo, rhi, sh);
    lost = L.lo !== (lo | 0) || L.hi !== (hi | 0);
    L.lo = rlo;
    L.hi = rhi;
  }
  if (!lost) return;
  s.fpsr |= FPSR_QC;
  if (u) L.lo = L.hi = -1;
  else if (neg) {
    L.lo = 0;
    L.hi = 0x80000000 | 0;
  } else {
    L.lo = -1;
    L.hi = 0x7fffffff;
  }
}

function bitAt(lo: number, hi: number, n: number, u: number): number {
  if (n >= 64) return u ? 0 : (hi >>> 31) & 1;
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

/*
 * Byte-lane (size 00) forms of the three-same ops string routines use. Each is its own
 * function (decode rows with size fixed to 00 win over the generic rows) so that V8 keeps
 * separate, monomorphic feedback and the block compiler can inline it. Every source word is
 * read before V[d] is written (d may equal n or m).
 */
const LO7 = 0x7f7f7f7f;
const HI1 = 0x80808080;

/** Writes four result words (or two and zeroes, Q=0) to V[d]. */
function put4(s: CpuState, insn: number, r0: number, r1: number, r2: number, r3: number): void {
  const w = s.vw;
  const d = (insn & 31) << 2;
  w[d] = r0;
  w[d + 1] = r1;
  if ((insn >>> 30) & 1) {
    w[d + 2] = r2;
    w[d + 3] = r3;
  } else {
    w[d + 2] = 0;
    w[d + 3] = 0;
  }
}

/** 0xff in each byte where a and b are equal (carry-free zero-byte test of a ^ b). */
function eqBytes(a: number, b: number): number {
  const x = a ^ b;
  const nz = (((x & LO7) + LO7) | x) & HI1;
  return ((~nz & HI1) >>> 7) * 0xff;
}

/** Byte-wise a + b modulo 256 in each lane. */
function addBytes(a: number, b: number): number {
  return ((a & LO7) + (b & LO7)) ^ ((a ^ b) & HI1);
}

/** Byte-wise a - b modulo 256 in each lane. */
function subBytes(a: number, b: number): number {
  return (((a | HI1) >>> 0) - (b & LO7)) ^ ((a ^ ~b) & HI1);
}

/** CMEQ (register), 8B/16B. */
export const cmeqB: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(
    s,
    insn,
    eqBytes(w[n], w[m]),
    eqBytes(w[n + 1], w[m + 1]),
    eqBytes(w[n + 2], w[m + 2]),
    eqBytes(w[n + 3], w[m + 3]),
  );
};

/** ADD (vector), 8B/16B. */
export const addB: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(
    s,
    insn,
    addBytes(w[n], w[m]),
    addBytes(w[n + 1], w[m + 1]),
    addBytes(w[n + 2], w[m + 2]),
    addBytes(w[n + 3], w[m + 3]),
  );
};

/** SUB (vector), 8B/16B. */
export const subB: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(
    s,
    insn,
    subBytes(w[n], w[m]),
    subBytes(w[n + 1], w[m + 1]),
    subBytes(w[n + 2], w[m + 2]),
    subBytes(w[n + 3], w[m + 3]),
  );
};

/** CMHS (register), 8B/16B. */
export const cmhsB: Handler = (s, insn) => {
  const vb = s.vb;
  const n = ((insn >>> 5) & 31) << 4;
  const m = ((insn >>> 16) & 31) << 4;
  const bytes = (insn >>> 30) & 1 ? 16 : 8;
  for (let i = 0; i < bytes; i++) R8[i] = vb[n + i] >= vb[m + i] ? 0xff : 0;
  commit(s, insn & 31, (insn >>> 30) & 1);
};

/** CMHI (register), 8B/16B. */
export const cmhiB: Handler = (s, insn) => {
  const vb = s.vb;
  const n = ((insn >>> 5) & 31) << 4;
  const m = ((insn >>> 16) & 31) << 4;
  const bytes = (insn >>> 30) & 1 ? 16 : 8;
  for (let i = 0; i < bytes; i++) R8[i] = vb[n + i] > vb[m + i] ? 0xff : 0;
  commit(s, insn & 31, (insn >>> 30) & 1);
};

/** UMAX, 8B/16B. */
export const umaxB: Handler = (s, insn) => {
  const vb = s.vb;
  const n = ((insn >>> 5) & 31) << 4;
  const m = ((insn >>> 16) & 31) << 4;
  const bytes = (insn >>> 30) & 1 ? 16 : 8;
  for (let i = 0; i < bytes; i++) {
    const a = vb[n + i];
    const b = vb[m + i];
    R8[i] = a > b ? a : b;
  }
  commit(s, insn & 31, (insn >>> 30) & 1);
};

/** UMIN, 8B/16B. */
export const uminB: Handler = (s, insn) => {
  const vb = s.vb;
  const n = ((insn >>> 5) & 31) << 4;
  const m = ((insn >>> 16) & 31) << 4;
  const bytes = (insn >>> 30) & 1 ? 16 : 8;
  for (let i = 0; i < bytes; i++) {
    const a = vb[n + i];
    const b = vb[m + i];
    R8[i] = a < b ? a : b;
  }
  commit(s, insn & 31, (insn >>> 30) & 1);
};

/** UMAXP, 8B/16B: pairs of n then pairs of m. */
export const umaxpB: Handler = (s, insn) => {
  const vb = s.vb;
  const n = ((insn >>> 5) & 31) << 4;
  const m = ((insn >>> 16) & 31) << 4;
  const half = (insn >>> 30) & 1 ? 8 : 4;
  for (let i = 0; i < half; i++) {
    const a = vb[n + 2 * i];
    const b = vb[n + 2 * i + 1];
    R8[i] = a > b ? a : b;
    const c = vb[m + 2 * i];
    const e = vb[m + 2 * i + 1];
    R8[half + i] = c > e ? c : e;
  }
  commit(s, insn & 31, (insn >>> 30) & 1);
};

/** UMINP, 8B/16B: pairs of n then pairs of m. */
export const uminpB: Handler = (s, insn) => {
  const vb = s.vb;
  const n = ((insn >>> 5) & 31) << 4;
  const m = ((insn >>> 16) & 31) << 4;
  const half = (insn >>> 30) & 1 ? 8 : 4;
  for (let i = 0; i < half; i++) {
    const a = vb[n + 2 * i];
    const b = vb[n + 2 * i + 1];
    R8[i] = a < b ? a : b;
    const c = vb[m + 2 * i];
    const e = vb[m + 2 * i + 1];
    R8[half + i] = c < e ? c : e;
  }
  commit(s, insn & 31, (insn >>> 30) & 1);
};

/** ADDP (vector), 8B/16B: pairs of n then pairs of m. */
export const addpB: Handler = (s, insn) => {
  const vb = s.vb;
  const n = ((insn >>> 5) & 31) << 4;
  const m = ((insn >>> 16) & 31) << 4;
  const half = (insn >>> 30) & 1 ? 8 : 4;
  for (let i = 0; i < half; i++) {
    R8[i] = vb[n + 2 * i] + vb[n + 2 * i + 1];
    R8[half + i] = vb[m + 2 * i] + vb[m + 2 * i + 1];
  }
  commit(s, insn & 31, (insn >>> 30) & 1);
};

/** AND, BIC, ORR, ORN, EOR (vector): one word-wise handler each (BSL/BIT/BIF stay in `logical`). */
export const andV: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(s, insn, w[n] & w[m], w[n + 1] & w[m + 1], w[n + 2] & w[m + 2], w[n + 3] & w[m + 3]);
};
export const bicV: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(s, insn, w[n] & ~w[m], w[n + 1] & ~w[m + 1], w[n + 2] & ~w[m + 2], w[n + 3] & ~w[m + 3]);
};
export const orrV: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(s, insn, w[n] | w[m], w[n + 1] | w[m + 1], w[n + 2] | w[m + 2], w[n + 3] | w[m + 3]);
};
export const ornV: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(s, insn, w[n] | ~w[m], w[n + 1] | ~w[m + 1], w[n + 2] | ~w[m + 2], w[n + 3] | ~w[m + 3]);
};
export const eorV: Handler = (s, insn) => {
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 2;
  const m = ((insn >>> 16) & 31) << 2;
  put4(s, insn, w[n] ^ w[m], w[n + 1] ^ w[m + 1], w[n + 2] ^ w[m + 2], w[n + 3] ^ w[m + 3]);
};

/**
 * SHRN/SHRN2 8H → 8B/16B (immh = 0001; strlen/memchr build a nibble mask with it).
 * SHRN writes the low half and zeroes the high half; SHRN2 writes the high half only.
 */
export const shrnB: Handler = (s, insn) => {
  const sh = 16 - ((insn >>> 16) & 127);
  const vh = s.vh;
  const w = s.vw;
  const n = ((insn >>> 5) & 31) << 3;
  const d = (insn & 31) << 2;
  const lo =
    ((vh[n] >>> sh) & 0xff) |
    (((vh[n + 1] >>> sh) & 0xff) << 8) |
    (((vh[n + 2] >>> sh) & 0xff) << 16) |
    ((vh[n + 3] >>> sh) << 24);
  const hi =
    ((vh[n + 4] >>> sh) & 0xff) |
    (((vh[n + 5] >>> sh) & 0xff) << 8) |
    (((vh[n + 6] >>> sh) & 0xff) << 16) |
    ((vh[n + 7] >>> sh) << 24);
  if ((insn >>> 30) & 1) {
    w[d + 2] = lo;
    w[d + 3] = hi;
  } else {
    w[d] = lo;
    w[d + 1] = hi;
    w[d + 2] = 0;
    w[d + 3] = 0;
  }
};

/** 0 Q U 01110 size 1 m opcode 1 n d */
export function threeSame(u: number, opc: number): Handler {
  return (s, insn) => {
    const es = (insn >>> 22) & 3;
    const q = (insn >>> 30) & 1;
    if (es === 3) {
      if (!q) undefinedInsn();
      const m = (insn >>> 16) & 31;
      const n = (insn >>> 5) & 31;
      const d = insn & 31;
      const w = s.vi;
      if (opc === 23 && u === 0) {
        add64(w[n * 4], w[n * 4 + 1], w[n * 4 + 2], w[n * 4 + 3]);
        const l0 = L.lo;
        const h0 = L.hi;
        add64(w[m * 4], w[m * 4 + 1], w[m * 4 + 2], w[m * 4 + 3]);
        R32[2] = L.lo;
        R32[3] = L.hi;
        R32[0] = l0;
        R32[1] = h0;
        commit(s, d, 1);
        return;
      }
      for (let i = 0; i < 2; i++) {
        same64(s, u, opc, w[n * 4 + 2 * i], w[n * 4 + 2 * i + 1], w[m * 4 + 2 * i], w[m * 4 + 2 * i + 1]);
        R32[2 * i] = L.lo;
        R32[2 * i + 1] = L.hi;
      }
      commit(s, d, 1);
      return;
    }
    if (opc === 19 && u === 1 && es !== 0) undefinedInsn();
    if ((opc === 18 || opc === 19) && es === 3) undefinedInsn();
    if (opc === 22 && (es === 0 || es === 3)) undefinedInsn();
    threeSameNarrow(s, insn, u, opc);
  };
}

/** Scalar three-same on D registers (01 U 11110 11 1 m opcode 1 n d): ADD/SUB/CMxx/SSHL/USHL/SQADD… */
export function threeSameScalar(u: number, opc: number): Handler {
  return (s, insn) => {
    const es = (insn >>> 22) & 3;
    const m = (insn >>> 16) & 31;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (es === 3) {
      const w = s.vi;
      same64(s, u, opc, w[n * 4], w[n * 4 + 1], w[m * 4], w[m * 4 + 1]);
      R32[0] = L.lo;
      R32[1] = L.hi;
      commitScalar(s, d, 8);
      return;
    }
    // only the saturating and shift forms exist for B/H/S scalars
    if (!(opc === 1 || opc === 5 || opc === 9 || opc === 11 || (opc === 22 && (es === 1 || es === 2)))) undefinedInsn();
    const bits = 8 << es;
    const v = sameLane(s, u, opc, bits, eltU(s, n, es, 0), eltU(s, m, es, 0), eltS(s, n, es, 0), eltS(s, m, es, 0), 0);
    R32[0] = 0;
    putR(es, 0, v);
    commitScalar(s, d, 1 << es);
  };
}

/** Logical three-same: AND, BIC, ORR, ORN, EOR, BSL, BIT, BIF (size field selects). */
export function logical(u: number, op: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const m = ((insn >>> 16) & 31) << 2;
    const n = ((insn >>> 5) & 31) << 2;
    const dr = insn & 31;
    const d = dr << 2;
    const w = s.vw;
    const lanes = q ? 4 : 2;
    for (let i = 0; i < lanes; i++) {
      const a = w[n + i];
      const b = w[m + i];
      const c = w[d + i];
      let r: number;
      if (!u) r = op === 0 ? a & b : op === 1 ? a & ~b : op === 2 ? a | b : a | ~b;
      else if (op === 0) r = a ^ b;
      else if (op === 1)
        r = (c & a) | (~c & b); // BSL
      else if (op === 2)
        r = (b & a) | (~b & c); // BIT
      else r = (~b & a) | (b & c); // BIF
      R32[i] = r;
    }
    commit(s, dr, q);
  };
}

// ---------------------------------------------------------------------------------------
// Two-register misc.

function clz(v: number, bits: number): number {
  return Math.clz32(v) - (32 - bits);
}

/** 0 Q U 01110 size 10000 opcode 10 n d */
export function twoMisc(u: number, opc: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const es = (insn >>> 22) & 3;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const bits = 8 << es;
    switch (opc) {
      case 0:
      case 1: {
        // REV64 (u0 op0), REV32 (u1 op0), REV16 (u0 op1): reverse es-elements within containers
        const cont = opc === 1 ? 1 : u ? 2 : 3; // container log2 bytes
        if (es >= cont || (opc === 1 && u)) undefinedInsn();
        const bytes = q ? 16 : 8;
        const eb = 1 << es;
        const cb = 1 << cont;
        const base = n << 4;
        for (let i = 0; i < bytes; i += eb) {
          const c0 = i - (i % cb);
          const j = c0 + (cb - eb - (i - c0));
          for (let k = 0; k < eb; k++) R8[j + k] = s.vb[base + i + k];
        }
        commit(s, d, q);
        return;
      }
      case 2:
      case 6: {
        // SADDLP/UADDLP, SADALP/UADALP
        if (es === 3) undefinedInsn();
        const lanes = (q ? 8 : 4) >> es;
        if (es === 2) {
          for (let i = 0; i < lanes; i++) {
            const a = u ? eltU(s, n, 2, 2 * i) : eltS(s, n, 2, 2 * i);
            const b = u ? eltU(s, n, 2, 2 * i + 1) : eltS(s, n, 2, 2 * i + 1);
            const sum = a + b;
            let lo = sum % TWO32;
            if (lo < 0) lo += TWO32;
            const hi = Math.floor(sum / TWO32);
            if (opc === 6) add64(lo, hi, s.vw[(d << 2) + 2 * i], s.vw[(d << 2) + 2 * i + 1]);
            else {
              L.lo = lo | 0;
              L.hi = hi | 0;
            }
            R32[2 * i] = L.lo;
            R32[2 * i + 1] = L.hi;
          }
        } else {
          for (let i = 0; i < lanes; i++) {
            const a = u ? eltU(s, n, es, 2 * i) : eltS(s, n, es, 2 * i);
            const b = u ? eltU(s, n, es, 2 * i + 1) : eltS(s, n, es, 2 * i + 1);
            putR(es + 1, i, a + b + (opc === 6 ? eltU(s, d, es + 1, i) : 0));
          }
        }
        commit(s, d, q);
        return;
      }
      case 4: {
        // CLS / CLZ
        if (es === 3) undefinedInsn();
        const lanes = (q ? 16 : 8) >> es;
        for (let i = 0; i < lanes; i++) {
          const v = eltU(s, n, es, i);
          if (u) putR(es, i, clz(v, bits));
          else {
            const sv = eltS(s, n, es, i);
            putR(es, i, clz(sv < 0 ? ~sv & (2 ** bits - 1) : sv, bits) - 1);
          }
        }
        commit(s, d, q);
        return;
      }
      case 5: {
        // CNT (u0 size0), NOT (u1 size0), RBIT (u1 size1)
        if (u === 0 && es !== 0) undefinedInsn();
        if (u === 1 && es > 1) undefinedInsn();
        const bytes = q ? 16 : 8;
        const base = n << 4;
        for (let i = 0; i < bytes; i++) {
          const v = s.vb[base + i];
          if (u === 0) {
            let c = v - ((v >>> 1) & 0x55);
            c = (c & 0x33) + ((c >>> 2) & 0x33);
            R8[i] = (c + (c >>> 4)) & 0x0f;
          } else if (es === 0) R8[i] = ~v;
          else {
            let r = 0;
            for (let k = 0; k < 8; k++) r |= ((v >>> k) & 1) << (7 - k);
            R8[i] = r;
          }
        }
        commit(s, d, q);
        return;
      }
      case 3:
      case 7:
      case 8:
      case 9:
      case 10:
      case 11: {
        if (es === 3 && !q) undefinedInsn();
        if (opc === 9 && u === 0 && es === 0) {
          // CMEQ #0 on bytes (string routines)
          const base = n << 4;
          const bytes = q ? 16 : 8;
          for (let i = 0; i < bytes; i++) R8[i] = s.vb[base + i] === 0 ? 0xff : 0;
          commit(s, d, q);
          return;
        }
        if (opc === 10 && u) undefinedInsn();
        if (es === 3) {
          const w = s.vi;
          for (let i = 0; i < 2; i++) {
            misc64(s, u, opc, w[n * 4 + 2 * i], w[n * 4 + 2 * i + 1], w[d * 4 + 2 * i], w[d * 4 + 2 * i + 1]);
            R32[2 * i] = L.lo;
            R32[2 * i + 1] = L.hi;
          }
          commit(s, d, 1);
          return;
        }
        const lanes = (q ? 16 : 8) >> es;
        for (let i = 0; i < lanes; i++)
          putR(es, i, miscLane(s, u, opc, bits, eltS(s, n, es, i), eltU(s, d, es, i), eltS(s, d, es, i)));
        commit(s, d, q);
        return;
      }
      case 18:
      case 20: {
        // XTN / SQXTUN (18), SQXTN / UQXTN (20); Q selects the upper half (…2 forms)
        if (es === 3) undefinedInsn();
        const lanes = 8 >> es;
        const nb = bits;
        // keep the lower half of Vd when writing the upper half
        R32[0] = s.vw[d << 2];
        R32[1] = s.vw[(d << 2) + 1];
        const off = q ? lanes : 0;
        for (let i = 0; i < lanes; i++) {
          let v: number;
          if (es === 2) {
            // 64-bit source lanes
            const lo = s.vw[(n << 2) + 2 * i];
            const hi = s.vw[(n << 2) + 2 * i + 1];
            if (opc === 18 && !u) v = lo;
            else v = narrowSat64(s, lo, hi, opc === 18 ? 2 : u ? 1 : 0);
          } else {
            const x =
              opc === 18 && !u
                ? eltU(s, n, es + 1, i)
                : u && opc === 20
                  ? eltU(s, n, es + 1, i)
                  : eltS(s, n, es + 1, i);
            if (opc === 18 && !u) v = x;
            else if (opc === 18) v = satU(s, x, nb);
            else v = u ? satU(s, x, nb) : satS(s, x, nb);
          }
          putR(es, off + i, v);
        }
        if (q) {
          s.vw[d << 2] = R32[0];
          s.vw[(d << 2) + 1] = R32[1];
          s.vw[(d << 2) + 2] = R32[2];
          s.vw[(d << 2) + 3] = R32[3];
        } else commit(s, d, 0);
        return;
      }
      case 19: {
        // SHLL/SHLL2 (u1): widen and shift left by the element size
        if (!u || es === 3) undefinedInsn();
        const lanes = 8 >> es;
        const off = q ? lanes : 0;
        widen(s, n, es, off, lanes, 1, bits);
        commit(s, d, 1);
        return;
      }
      default:
        undefinedInsn();
    }
  };
}

/** Narrowing saturation of a 64-bit lane to 32 bits. mode 0: signed→signed, 1: unsigned→unsigned, 2: signed→unsigned. */
function narrowSat64(s: CpuState, lo: number, hi: number, mode: number): number {
  const h = hi | 0;
  if (mode === 1) {
    if (hi >>> 0 !== 0) {
      s.fpsr |= FPSR_QC;
      return 0xffffffff;
    }
    return lo;
  }
  const v = h * TWO32 + (lo >>> 0); // approximate beyond 2^53, fine for range checks
  if (mode === 2) {
    if (h < 0) {
      s.fpsr |= FPSR_QC;
      return 0;
    }
    if (h > 0) {
      s.fpsr |= FPSR_QC;
      return 0xffffffff;
    }
    return lo;
  }
  if (v > 0x7fffffff) {
    s.fpsr |= FPSR_QC;
    return 0x7fffffff;
  }
  if (v < -0x80000000) {
    s.fpsr |= FPSR_QC;
    return 0x80000000;
  }
  return lo;
}

/** Writes `lanes` widened elements from V[n] lanes [off, off+lanes) into R (esize es+1), times 2^shift-by-bits when shl. */
function widen(s: CpuState, n: number, es: number, off: number, lanes: number, shl: number, bits: number): void {
  for (let i = 0; i < lanes; i++) {
    const v = eltU(s, n, es, off + i);
    if (es === 2) {
      // 32 → 64, shifted left by 32
      R32[2 * i] = shl ? 0 : v;
      R32[2 * i + 1] = shl ? v : 0;
    } else putR(es + 1, i, v * (shl ? 2 ** bits : 1));
  }
}

function miscLane(s: CpuState, u: number, opc: number, bits: number, x: number, dU: number, dS: number): number {
  switch (opc) {
    case 3: {
      // SUQADD (u0): signed d + unsigned n, signed saturation; USQADD (u1): unsigned d + signed n
      const xu = x < 0 ? x + 2 ** bits : x;
      return u ? satU(s, dU + x, bits) : satS(s, dS + xu, bits);
    }
    case 7:
      // SQABS / SQNEG
      return satS(s, u ? -x : Math.abs(x), bits);
    case 8:
      return u ? (x >= 0 ? -1 : 0) : x > 0 ? -1 : 0;
    case 9:
      return u ? (x <= 0 ? -1 : 0) : x === 0 ? -1 : 0;
    case 10:
      return x < 0 ? -1 : 0;
    case 11:
      return u ? -x : Math.abs(x);
    default:
      return undefinedInsn();
  }
}

function misc64(s: CpuState, u: number, opc: number, lo: number, hi: number, dlo: number, dhi: number): void {
  const neg = (hi | 0) < 0;
  const zero = lo === 0 && hi === 0;
  switch (opc) {
    case 8: {
      const t = u ? !neg : !neg && !zero;
      L.lo = L.hi = t ? -1 : 0;
      return;
    }
    case 9: {
      const t = u ? neg || zero : zero;
      L.lo = L.hi = t ? -1 : 0;
      return;
    }
    case 10:
      L.lo = L.hi = neg ? -1 : 0;
      return;
    case 11:
      if (u || neg) sub64(0, 0, lo, hi);
      else {
        L.lo = lo;
        L.hi = hi;
      }
      return;
    case 7: {
      const min = lo === 0 && hi >>> 0 === 0x80000000;
      if (min) {
        s.fpsr |= FPSR_QC;
        L.lo = -1;
        L.hi = 0x7fffffff;
        return;
      }
      if (u || neg) {
        if (u && zero) {
          L.lo = 0;
          L.hi = 0;
          return;
        }
        if (u && neg) {
          sub64(0, 0, lo, hi);
          return;
        }
        sub64(0, 0, lo, hi);
      } else {
        L.lo = lo;
        L.hi = hi;
      }
      return;
    }
    case 3: {
      // SUQADD / USQADD on 64-bit lanes
      add64(dlo, dhi, lo, hi);
      if (u) {
        // unsigned d + signed n
        if (!neg && cmpU64(L.lo, L.hi, dlo, dhi) < 0) {
          s.fpsr |= FPSR_QC;
          L.lo = L.hi = -1;
        } else if (neg && cmpU64(L.lo, L.hi, dlo, dhi) > 0) {
          s.fpsr |= FPSR_QC;
          L.lo = L.hi = 0;
        }
      } else {
        // signed d + unsigned n: saturates only upwards
        const dneg = (dhi | 0) < 0;
        const rneg = (L.hi | 0) < 0;
        const carry = cmpU64(L.lo, L.hi, dlo, dhi) < 0;
        if (dneg ? carry && rneg : carry || rneg) {
          s.fpsr |= FPSR_QC;
          L.lo = -1;
          L.hi = 0x7fffffff;
        }
      }
      return;
    }
    default:
      undefinedInsn();
  }
}

/** Scalar two-register misc on D: CMGT/CMGE/CMEQ/CMLE/CMLT #0, ABS, NEG (01 U 11110 size 10000 opcode 10 n d). */
export function twoMiscScalar(u: number, opc: number): Handler {
  return (s, insn) => {
    const es = (insn >>> 22) & 3;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (es === 3) {
      const w = s.vi;
      misc64(s, u, opc, w[n * 4], w[n * 4 + 1], w[d * 4], w[d * 4 + 1]);
      R32[0] = L.lo;
      R32[1] = L.hi;
      commitScalar(s, d, 8);
      return;
    }
    if (!(opc === 3 || opc === 7)) undefinedInsn();
    const bits = 8 << es;
    R32[0] = 0;
    putR(es, 0, miscLane(s, u, opc, bits, eltS(s, n, es, 0), eltU(s, d, es, 0), eltS(s, d, es, 0)));
    commitScalar(s, d, 1 << es);
  };
}

// ---------------------------------------------------------------------------------------
// Across lanes: ADDV, SADDLV/UADDLV, SMAXV/UMAXV, SMINV/UMINV.

export function acrossLanes(u: number, opc: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const es = (insn >>> 22) & 3;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (es === 3 || (es === 2 && !q)) undefinedInsn();
    if (opc === 27 && u) undefinedInsn();
    const lanes = (q ? 16 : 8) >> es;
    let acc = u || opc === 27 ? eltU(s, n, es, 0) : eltS(s, n, es, 0);
    for (let i = 1; i < lanes; i++) {
      const v = u || opc === 27 ? eltU(s, n, es, i) : eltS(s, n, es, i);
      if (opc === 3 || opc === 27) acc += v;
      else if (opc === 10) acc = v > acc ? v : acc;
      else acc = v < acc ? v : acc;
    }
    R32[0] = 0;
    R32[1] = 0;
    if (opc === 3) {
      // long sum: result is twice as wide
      if (es === 2) {
        let lo = acc % TWO32;
        if (lo < 0) lo += TWO32;
        R32[0] = lo;
        R32[1] = Math.floor(acc / TWO32);
        commitScalar(s, d, 8);
      } else {
        putR(es + 1, 0, acc);
        commitScalar(s, d, 2 << es);
      }
      return;
    }
    putR(es, 0, acc);
    commitScalar(s, d, 1 << es);
  };
}

/** ADDP (scalar): D[d] = V[n].d[0] + V[n].d[1]. */
export const addpScalar: Handler = (s, insn) => {
  if (((insn >>> 22) & 3) !== 3) undefinedInsn();
  const n = (insn >>> 5) & 31;
  const w = s.vi;
  add64(w[n * 4], w[n * 4 + 1], w[n * 4 + 2], w[n * 4 + 3]);
  R32[0] = L.lo;
  R32[1] = L.hi;
  commitScalar(s, insn & 31, 8);
};

// ---------------------------------------------------------------------------------------
// Three different: long, wide and narrow forms.

/** 0 Q U 01110 size 1 m opcode(4) 00 n d */
export function threeDiff(u: number, opc: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const es = (insn >>> 22) & 3;
    const m = (insn >>> 16) & 31;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (es === 3) {
      if (opc !== 14 || u) return undefinedInsn();
      pmull64(s, n, m, d, q);
      return;
    }
    const lanes = 8 >> es;
    const off = q ? lanes : 0;
    const wes = es + 1;
    if (opc === 4 || opc === 6) {
      // ADDHN/RADDHN, SUBHN/RSUBHN: narrow high half of (n ± m) of wide lanes
      R32[0] = s.vw[d << 2];
      R32[1] = s.vw[(d << 2) + 1];
      const bits = 8 << es;
      for (let i = 0; i < lanes; i++) {
        let hiPart: number;
        if (es === 2) {
          const w = s.vi;
          if (opc === 4) add64(w[n * 4 + 2 * i], w[n * 4 + 2 * i + 1], w[m * 4 + 2 * i], w[m * 4 + 2 * i + 1]);
          else sub64(w[n * 4 + 2 * i], w[n * 4 + 2 * i + 1], w[m * 4 + 2 * i], w[m * 4 + 2 * i + 1]);
          if (u) add64(L.lo, L.hi, 0x80000000, 0);
          hiPart = L.hi;
        } else {
          const a = eltU(s, n, wes, i);
          const b = eltU(s, m, wes, i);
          let r = opc === 4 ? a + b : a - b;
          if (u) r += 2 ** (bits - 1);
          hiPart = Math.floor(r / 2 ** bits);
        }
        putR(es, off + i, hiPart);
      }
      if (q) {
        const w = s.vw;
        for (let i = 0; i < 4; i++) w[(d << 2) + i] = R32[i];
      } else commit(s, d, 0);
      return;
    }
    const wide = opc === 1 || opc === 3;
    for (let i = 0; i < lanes; i++) {
      let a: number;
      if (wide) a = es === 2 ? 0 : u ? eltU(s, n, wes, i) : eltS(s, n, wes, i);
      else a = u ? eltU(s, n, es, off + i) : eltS(s, n, es, off + i);
      const b = u ? eltU(s, m, es, off + i) : eltS(s, m, es, off + i);
      if (es === 2) {
        // 64-bit destination lanes: compute exactly with halves
        longLane64(s, u, opc, n, m, d, i, off, wide);
        continue;
      }
      const dv = u ? eltU(s, d, wes, i) : eltS(s, d, wes, i);
      let r: number;
      switch (opc) {
        case 0:
        case 1:
          r = a + b;
          break;
        case 2:
        case 3:
          r = a - b;
          break;
        case 5:
          r = dv + Math.abs(a - b);
          break;
        case 7:
          r = Math.abs(a - b);
          break;
        case 8:
          r = dv + a * b;
          break;
        case 10:
          r = dv - a * b;
          break;
        case 12:
          r = a * b;
          break;
        case 9:
        case 11:
        case 13: {
          if (u || es === 0) undefinedInsn();
          const p = satS(s, 2 * a * b, 16 << es);
          r = opc === 13 ? p : satS(s, opc === 9 ? dv + p : dv - p, 16 << es);
          break;
        }
        case 14: {
          if (u || (es !== 0 && es !== 3)) undefinedInsn();
          let x = 0;
          for (let k = 0; k < 8; k++) if ((b >>> k) & 1) x ^= (a & 0xff) << k;
          r = x;
          break;
        }
        default:
          r = undefinedInsn();
      }
      putR(wes, i, r);
    }
    commit(s, d, 1);
  };
}

/** PMULL{2} Vd.1Q, Vn.1D/2D, Vm: 64×64 carry-less multiply. */
function pmull64(s: CpuState, n: number, m: number, d: number, q: number): void {
  const w = s.vw;
  const a0 = w[(n << 2) + 2 * q];
  const a1 = w[(n << 2) + 2 * q + 1];
  const b0 = w[(m << 2) + 2 * q];
  const b1 = w[(m << 2) + 2 * q + 1];
  let r0 = 0;
  let r1 = 0;
  let r2 = 0;
  let r3 = 0;
  for (let i = 0; i < 64; i++) {
    const bit = i < 32 ? (b0 >>> i) & 1 : (b1 >>> (i - 32)) & 1;
    if (!bit) continue;
    // (a1:a0) << i into the 128-bit accumulator
    const wsh = i >>> 5;
    const bsh = i & 31;
    const p0 = a0 << bsh;
    const p1 = bsh ? (a1 << bsh) | (a0 >>> (32 - bsh)) : a1;
    const p2 = bsh ? a1 >>> (32 - bsh) : 0;
    if (wsh === 0) {
      r0 ^= p0;
      r1 ^= p1;
      r2 ^= p2;
    } else {
      r1 ^= p0;
      r2 ^= p1;
      r3 ^= p2;
    }
  }
  w[d << 2] = r0;
  w[(d << 2) + 1] = r1;
  w[(d << 2) + 2] = r2;
  w[(d << 2) + 3] = r3;
}

function longLane64(
  s: CpuState,
  u: number,
  opc: number,
  n: number,
  m: number,
  d: number,
  i: number,
  off: number,
  wide: boolean,
): void {
  const a32 = wide ? 0 : u ? eltU(s, n, 2, off + i) : eltS(s, n, 2, off + i);
  const b = u ? eltU(s, m, 2, off + i) : eltS(s, m, 2, off + i);
  const w = s.vi;
  let alo: number;
  let ahi: number;
  if (wide) {
    alo = w[n * 4 + 2 * i];
    ahi = w[n * 4 + 2 * i + 1];
  } else {
    alo = a32 | 0;
    ahi = u ? 0 : a32 < 0 ? -1 : 0;
  }
  const blo = b | 0;
  const bhi = u ? 0 : b < 0 ? -1 : 0;
  const dlo = w[d * 4 + 2 * i];
  const dhi = w[d * 4 + 2 * i + 1];
  switch (opc) {
    case 0:
    case 1:
      add64(alo, ahi, blo, bhi);
      break;
    case 2:
    case 3:
      sub64(alo, ahi, blo, bhi);
      break;
    case 5:
    case 7: {
      const diff = a32 - b; // exact in double
      const ad = Math.abs(diff);
      const lo = ad % TWO32;
      const hi = Math.floor(ad / TWO32);
      if (opc === 5) add64(dlo, dhi, lo, hi);
      else {
        L.lo = lo | 0;
        L.hi = hi;
      }
      break;
    }
    case 8:
    case 10:
    case 12: {
      mulLong32(a32, b, u);
      if (opc === 8) add64(dlo, dhi, L.lo, L.hi);
      else if (opc === 10) sub64(dlo, dhi, L.lo, L.hi);
      break;
    }
    case 9:
    case 11:
    case 13: {
      if (u) undefinedInsn();
      mulLong32(a32, b, 0);
      // doubling: saturates only for INT32_MIN * INT32_MIN
      let plo: number;
      let phi: number;
      if (a32 === -0x80000000 && b === -0x80000000) {
        s.fpsr |= FPSR_QC;
        plo = -1;
        phi = 0x7fffffff;
      } else {
        add64(L.lo, L.hi, L.lo, L.hi);
        plo = L.lo;
        phi = L.hi;
      }
      if (opc === 13) {
        L.lo = plo;
        L.hi = phi;
      } else {
        if (opc === 9) add64(dlo, dhi, plo, phi);
        else sub64(dlo, dhi, plo, phi);
        const sd = dhi >> 31;
        const sp = phi >> 31;
        const sr = L.hi >> 31;
        const ovf = opc === 9 ? sd === sp && sr !== sd : sd !== sp && sr !== sd;
        if (ovf) {
          s.fpsr |= FPSR_QC;
          L.lo = sd ? 0 : -1;
          L.hi = sd ? 0x80000000 | 0 : 0x7fffffff;
        }
      }
      break;
    }
    default:
      undefinedInsn();
  }
  R32[2 * i] = L.lo;
  R32[2 * i + 1] = L.hi;
}

/** 32×32 → 64 product (signed or unsigned) into L. */
function mulLong32(a: number, b: number, u: number): void {
  const neg = !u && a < 0 !== b < 0;
  const x = Math.abs(a);
  const y = Math.abs(b);
  const xl = x % 65536;
  const xh = Math.floor(x / 65536);
  const lo = xl * y; // < 2^48
  const hi = xh * y; // < 2^48
  const l1 = lo % TWO32;
  const carry = Math.floor(lo / TWO32);
  const t = (hi % 65536) * 65536 + l1; // < 2^49
  const rlo = t % TWO32;
  const rhi = Math.floor(hi / 65536) + carry + Math.floor(t / TWO32);
  if (neg) sub64(0, 0, rlo, rhi);
  else {
    L.lo = rlo | 0;
    L.hi = rhi | 0;
  }
}

// ---------------------------------------------------------------------------------------
// Shift by immediate (vector and scalar D).

function immShiftParams(insn: number): { es: number; sh: number } | null {
  const immh = (insn >>> 19) & 15;
  if (immh === 0) return null;
  const es = 31 - Math.clz32(immh);
  const immhb = (insn >>> 16) & 127;
  return { es, sh: immhb };
}

/** 0 Q U 011110 immh immb opcode 1 n d */
export function shiftImm(u: number, opc: number, scalar = false): Handler {
  return (s, insn) => {
    const q = scalar ? 1 : (insn >>> 30) & 1;
    const p = immShiftParams(insn);
    // immh == 0 is the modified-immediate group (MOVI/MVNI/ORR/BIC), which shares these bits
    if (p === null) return scalar ? undefinedInsn() : modImm(s, insn);
    const es = p.es;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const bits = 8 << es;
    const rshift = 2 * bits - p.sh; // for right shifts
    const lshift = p.sh - bits; // for left shifts
    if (opc === 20) {
      // SSHLL/USHLL (widening)
      if (es === 3 || scalar) undefinedInsn();
      const lanes = 8 >> es;
      const off = q ? lanes : 0;
      for (let i = 0; i < lanes; i++) {
        const v = u ? eltU(s, n, es, off + i) : eltS(s, n, es, off + i);
        if (es === 2) {
          const lo = v | 0;
          const hi = u ? 0 : v < 0 ? -1 : 0;
          shl64(lo, hi, lshift);
          R32[2 * i] = L.lo;
          R32[2 * i + 1] = L.hi;
        } else putR(es + 1, i, v * 2 ** lshift);
      }
      commit(s, d, 1);
      return;
    }
    if (opc >= 16 && opc <= 19) {
      // narrowing right shifts: SHRN/RSHRN (u0 16/17), SQSHRUN/SQRSHRUN (u1 16/17), [SU]Q[R]SHRN (18/19)
      if (es === 3) undefinedInsn();
      if (opc === 16 && u === 0 && es === 0 && !scalar) {
        // SHRN 8H → 8B (strlen/memchr build a nibble mask with it)
        const sh = 16 - p.sh;
        const vh = s.vh;
        const w = s.vw;
        R32[0] = w[d << 2];
        R32[1] = w[(d << 2) + 1];
        const off = q ? 8 : 0;
        for (let i = 0; i < 8; i++) R8[off + i] = vh[(n << 3) + i] >>> sh;
        if (q) {
          w[(d << 2) + 2] = R32[2];
          w[(d << 2) + 3] = R32[3];
        } else commit(s, d, 0);
        return;
      }
      const round = (opc & 1) === 1;
      const lanes = scalar ? 1 : 8 >> es;
      const off = !scalar && q ? lanes : 0;
      const wes = es + 1;
      const nbits = bits;
      const sh = 2 * nbits - p.sh; // shift amount: 1..nbits
      if (scalar) R32[0] = R32[1] = 0;
      else {
        R32[0] = s.vw[d << 2];
        R32[1] = s.vw[(d << 2) + 1];
      }
      for (let i = 0; i < lanes; i++) {
        let v: number;
        if (wes === 3) {
          const w = s.vw;
          const lo = w[n * 4 + 2 * i];
          const hi = w[n * 4 + 2 * i + 1];
          const signed = !(opc === 16 || opc === 17) || u === 1 ? !(u === 1 && opc >= 18) : false;
          // exact double for the shifted value: shift ≥ 1 on a 64-bit value keeps 63 bits; use halves
          if (signed) asr64(lo, hi, sh);
          else lsr64(lo, hi, sh);
          let rlo = L.lo;
          let rhi = L.hi;
          if (round) {
            const rb = bitAt(lo, hi, sh - 1, signed ? 0 : 1);
            if (rb) {
              add64(rlo, rhi, 1, 0);
              rlo = L.lo;
              rhi = L.hi;
              // unsigned carry-out beyond 64 bits cannot happen after a shift ≥ 1
            }
          }
          if (opc === 16 || opc === 17) {
            if (u === 0) v = rlo;
            else v = narrowSat64(s, rlo, rhi, 2);
          } else v = narrowSat64(s, rlo, rhi, u ? 1 : 0);
        } else {
          const signedSrc = !(u === 1 && opc >= 18) && !(u === 0 && opc <= 17);
          const x = signedSrc ? eltS(s, n, wes, i) : eltU(s, n, wes, i);
          const r = shiftVal(x, -sh, round);
          if (opc === 16 || opc === 17) v = u === 0 ? r : satU(s, r, nbits);
          else v = u ? satU(s, r, nbits) : satS(s, r, nbits);
        }
        putR(es, off + i, v);
      }
      if (scalar) commitScalar(s, d, 1 << es);
      else if (q) {
        const w = s.vw;
        for (let i = 0; i < 4; i++) w[(d << 2) + i] = R32[i];
      } else commit(s, d, 0);
      return;
    }
    if (es === 3 && !q) undefinedInsn();
    if (scalar && es !== 3 && !(opc === 12 || opc === 14)) undefinedInsn();
    const lanes = scalar ? 1 : (q ? 16 : 8) >> es;
    if (es === 3) {
      const w = s.vi;
      for (let i = 0; i < lanes; i++) {
        shiftImm64(
          s,
          u,
          opc,
          w[n * 4 + 2 * i],
          w[n * 4 + 2 * i + 1],
          w[d * 4 + 2 * i],
          w[d * 4 + 2 * i + 1],
          rshift,
          lshift,
        );
        R32[2 * i] = L.lo;
        R32[2 * i + 1] = L.hi;
      }
      if (scalar) commitScalar(s, d, 8);
      else commit(s, d, 1);
      return;
    }
    const mask = 2 ** bits - 1;
    for (let i = 0; i < lanes; i++) {
      const x = u ? eltU(s, n, es, i) : eltS(s, n, es, i);
      const dv = eltU(s, d, es, i);
      let r: number;
      switch (opc) {
        case 0: // SSHR/USHR
          r = shiftVal(x, -rshift, false);
          break;
        case 2: // SSRA/USRA
          r = dv + shiftVal(x, -rshift, false);
          break;
        case 4: // SRSHR/URSHR
          r = shiftVal(x, -rshift, true);
          break;
        case 6: // SRSRA/URSRA
          r = dv + shiftVal(x, -rshift, true);
          break;
        case 8: {
          // SRI
          if (!u) return undefinedInsn();
          const keep = rshift >= bits ? mask : mask - (2 ** (bits - rshift) - 1);
          const xu = eltU(s, n, es, i);
          r =
            (rshift >= bits ? 0 : Math.floor(xu / 2 ** rshift)) +
            (dv - (dv % 2 ** (bits - Math.min(rshift, bits)))) * 0;
          r = (dv & keep) | r;
          if (bits === 32) r = ((dv & keep) | (rshift >= bits ? 0 : xu >>> rshift)) >>> 0;
          break;
        }
        case 10: {
          // SHL (u0) / SLI (u1)
          const xu = eltU(s, n, es, i);
          const sh = xu * 2 ** lshift;
          if (!u) r = sh;
          else {
            const low = 2 ** lshift - 1;
            r = ((dv & low) | 0) + (sh % 2 ** bits);
            if (bits === 32) r = ((dv & low) | (xu << lshift)) >>> 0;
          }
          break;
        }
        case 12: // SQSHLU
          if (!u) return undefinedInsn();
          r = satU(s, eltS(s, n, es, i) * 2 ** lshift, bits);
          break;
        case 14: // SQSHL/UQSHL (immediate)
          r = u ? satU(s, x * 2 ** lshift, bits) : satS(s, x * 2 ** lshift, bits);
          break;
        default:
          return undefinedInsn();
      }
      putR(es, i, r);
    }
    if (scalar) {
      R32[1] = 0;
      commitScalar(s, d, 1 << es);
    } else commit(s, d, q);
  };
}

function shiftImm64(
  s: CpuState,
  u: number,
  opc: number,
  lo: number,
  hi: number,
  dlo: number,
  dhi: number,
  rsh: number,
  lsh: number,
): void {
  switch (opc) {
    case 0:
    case 2:
    case 4:
    case 6: {
      const round = opc === 4 || opc === 6;
      const rb = round ? bitAt(lo, hi, rsh - 1, u) : 0;
      if (u) lsr64(lo, hi, rsh);
      else asr64(lo, hi, rsh);
      if (rb) add64(L.lo, L.hi, 1, 0);
      if (opc === 2 || opc === 6) add64(L.lo, L.hi, dlo, dhi);
      return;
    }
    case 8: {
      if (!u) undefinedInsn();
      // SRI: keep the top rsh bits of d
      lsr64(lo, hi, rsh);
      const xlo = L.lo;
      const xhi = L.hi;
      if (rsh >= 64) {
        L.lo = dlo;
        L.hi = dhi;
        return;
      }
      shl64(-1, -1, 64 - rsh);
      L.lo = (dlo & L.lo) | xlo;
      L.hi = (dhi & L.hi) | xhi;
      return;
    }
    case 10: {
      shl64(lo, hi, lsh);
      if (!u) return;
      const xlo = L.lo;
      const xhi = L.hi;
      lsr64(-1, -1, 64 - lsh);
      const mlo = lsh === 0 ? 0 : L.lo;
      const mhi = lsh === 0 ? 0 : L.hi;
      L.lo = (dlo & mlo) | xlo;
      L.hi = (dhi & mhi) | xhi;
      return;
    }
    case 12:
    case 14: {
      // SQSHLU / SQSHL / UQSHL by immediate on 64-bit lanes
      const srcSigned = !(opc === 14 && u);
      const neg = srcSigned && (hi | 0) < 0;
      shl64(lo, hi, lsh);
      const rlo = L.lo;
      const rhi = L.hi;
      // check that shifting back gives the original value
      if (srcSigned) asr64(rlo, rhi, lsh);
      else lsr64(rlo, rhi, lsh);
      const lost = L.lo !== (lo | 0) || L.hi !== (hi | 0);
      if (opc === 12) {
        if (neg) {
          s.fpsr |= FPSR_QC;
          L.lo = L.hi = 0;
          return;
        }
        // unsigned result: overflow when bits were lost (arith shift check on a non-negative is logical)
        lsr64(rlo, rhi, lsh);
        if (L.lo !== (lo | 0) || L.hi !== (hi | 0)) {
          s.fpsr |= FPSR_QC;
          L.lo = L.hi = -1;
          return;
        }
        L.lo = rlo;
        L.hi = rhi;
        return;
      }
      if (lost) {
        s.fpsr |= FPSR_QC;
        if (!srcSigned) L.lo = L.hi = -1;
        else if (neg) {
          L.lo = 0;
          L.hi = 0x80000000 | 0;
        } else {
          L.lo = -1;
          L.hi = 0x7fffffff;
        }
        return;
      }
      L.lo = rlo;
      L.hi = rhi;
      return;
    }
    default:
      undefinedInsn();
  }
}

// ---------------------------------------------------------------------------------------
// Permutes, EXT, TBL/TBX.

/** UZP1/UZP2/TRN1/TRN2/ZIP1/ZIP2: 0 Q 001110 size 0 m 0 opcode 10 n d */
export function permute(opc: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const es = (insn >>> 22) & 3;
    if (es === 3 && !q) undefinedInsn();
    const m = (insn >>> 16) & 31;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const eb = 1 << es;
    const bytes = q ? 16 : 8;
    const lanes = bytes / eb;
    const half = lanes >> 1;
    const part = (opc & 4) >> 2; // 1 for the "2" forms
    const vb = s.vb;
    for (let i = 0; i < lanes; i++) {
      let src: number;
      let j: number;
      switch (opc & 3) {
        case 1: {
          // UZP: concatenation m:n, even (uzp1) or odd (uzp2) elements
          const k = 2 * i + part;
          src = k < lanes ? n : m;
          j = k < lanes ? k : k - lanes;
          break;
        }
        case 2: // TRN
          src = i & 1 ? m : n;
          j = (i & ~1) + part;
          break;
        default: {
          // ZIP
          const base = part * half;
          src = i & 1 ? m : n;
          j = base + (i >> 1);
        }
      }
      for (let k = 0; k < eb; k++) R8[i * eb + k] = vb[(src << 4) + j * eb + k];
    }
    commit(s, d, q);
  };
}

/** EXT: 0 Q 101110 00 0 m 0 imm4 0 n d */
export const ext: Handler = (s, insn) => {
  const q = (insn >>> 30) & 1;
  const imm = (insn >>> 11) & 15;
  if (!q && imm >= 8) undefinedInsn();
  const m = (insn >>> 16) & 31;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const bytes = q ? 16 : 8;
  const vb = s.vb;
  for (let i = 0; i < bytes; i++) {
    const k = i + imm;
    R8[i] = k < bytes ? vb[(n << 4) + k] : vb[(m << 4) + k - bytes];
  }
  commit(s, d, q);
};

/** TBL/TBX: 0 Q 001110 00 0 m 0 len op 00 n d */
export function tbl(tbx: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const m = (insn >>> 16) & 31;
    const len = ((insn >>> 13) & 3) + 1;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const bytes = q ? 16 : 8;
    const vb = s.vb;
    for (let i = 0; i < bytes; i++) {
      const idx = vb[(m << 4) + i];
      if (idx < 16 * len) {
        const r = (n + (idx >> 4)) & 31;
        R8[i] = vb[(r << 4) + (idx & 15)];
      } else R8[i] = tbx ? vb[(d << 4) + i] : 0;
    }
    commit(s, d, q);
  };
}

// ---------------------------------------------------------------------------------------
// Copy: DUP (element / general), INS (element / general), SMOV, UMOV.

function imm5Size(imm5: number): number {
  if (imm5 & 1) return 0;
  if (imm5 & 2) return 1;
  if (imm5 & 4) return 2;
  if (imm5 & 8) return 3;
  return -1;
}

/** 0 Q op 01110000 imm5 0 imm4 1 n d */
export function copy(op: number, imm4: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const imm5 = (insn >>> 16) & 31;
    const es = imm5Size(imm5);
    if (es < 0) return undefinedInsn();
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const idx = imm5 >>> (es + 1);
    const w = s.vw;
    if (op === 1) {
      // INS (element): Vd.T[idx] = Vn.T[imm4 >> es]
      if (!q) return undefinedInsn();
      const src = ((insn >>> 11) & 15) >>> es;
      const eb = 1 << es;
      for (let k = 0; k < eb; k++) s.vb[(d << 4) + idx * eb + k] = s.vb[(n << 4) + src * eb + k];
      return;
    }
    switch (imm4) {
      case 0:
      case 1: {
        // DUP element (0) / general (1)
        if (es === 3 && !q) return undefinedInsn();
        let lo: number;
        let hi = 0;
        if (imm4 === 0) {
          if (es === 3) {
            lo = w[(n << 2) + 2 * idx];
            hi = w[(n << 2) + 2 * idx + 1];
          } else lo = eltU(s, n, es, idx);
        } else {
          lo = s.x[n << 1];
          hi = s.x[(n << 1) + 1];
          if (n === 31) lo = hi = 0;
        }
        if (es === 3) {
          R32[0] = R32[2] = lo;
          R32[1] = R32[3] = hi;
        } else {
          const lanes = 16 >> es;
          for (let i = 0; i < lanes; i++) putR(es, i, lo);
        }
        commit(s, d, q);
        return;
      }
      case 3: {
        // INS (general)
        if (!q) return undefinedInsn();
        const lo = n === 31 ? 0 : s.x[n << 1];
        const hi = n === 31 ? 0 : s.x[(n << 1) + 1];
        if (es === 3) {
          w[(d << 2) + 2 * idx] = lo;
          w[(d << 2) + 2 * idx + 1] = hi;
        } else if (es === 2) w[(d << 2) + idx] = lo;
        else if (es === 1) s.vh[(d << 3) + idx] = lo;
        else s.vb[(d << 4) + idx] = lo;
        return;
      }
      case 5: {
        // SMOV
        if (es >= 2 + q || (es === 2 && !q)) return undefinedInsn();
        const v = eltS(s, n, es, idx);
        if (q) setX(s, d, v, v >> 31);
        else setW(s, d, v);
        return;
      }
      case 7: {
        // UMOV
        if (q ? es !== 3 : es === 3) return undefinedInsn();
        if (es === 3) setX(s, d, w[(n << 2) + 2 * idx], w[(n << 2) + 2 * idx + 1]);
        else setW(s, d, eltU(s, n, es, idx));
        return;
      }
      default:
        undefinedInsn();
    }
  };
}

// ---------------------------------------------------------------------------------------
// Modified immediate: MOVI, MVNI, ORR, BIC (vector, immediate), and FMOV (vector, immediate).

/** Expands the 8-bit immediate per cmode/op into a 64-bit pattern; returns false when reserved. */
function expandImm(op: number, cmode: number, imm8: number): boolean {
  let lo = 0;
  let hi = 0;
  switch (cmode >> 1) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const v = (imm8 << (8 * (cmode >> 1))) >>> 0;
      lo = hi = v;
      break;
    }
    case 4:
    case 5: {
      const v = imm8 << (8 * ((cmode >> 1) & 1));
      lo = hi = (v | (v << 16)) >>> 0;
      break;
    }
    case 6: {
      const v = (cmode & 1 ? (imm8 << 16) | 0xffff : (imm8 << 8) | 0xff) >>> 0;
      lo = hi = v;
      break;
    }
    default:
      if ((cmode & 1) === 0) {
        if (!op) {
          const b = imm8 * 0x01010101;
          lo = hi = b >>> 0;
        } else {
          for (let i = 0; i < 8; i++) {
            const byte = (imm8 >>> i) & 1 ? 0xff : 0;
            if (i < 4) lo |= byte << (8 * i);
            else hi |= byte << (8 * (i - 4));
          }
          lo >>>= 0;
          hi >>>= 0;
        }
      } else if (!op) {
        // FMOV (vector, single): imm8 → binary32
        const a = (imm8 >>> 7) & 1;
        const b = (imm8 >>> 6) & 1;
        const v = ((a << 31) | ((b ? 0x1f : 0x20) << 25) | ((imm8 & 0x3f) << 19)) >>> 0;
        lo = hi = v;
      } else {
        // FMOV (vector, double): imm8 → binary64 (hi word only; low word zero)
        const a = (imm8 >>> 7) & 1;
        const b = (imm8 >>> 6) & 1;
        hi = ((a << 31) | ((b ? 0xff : 0x100) << 22) | ((imm8 & 0x3f) << 16)) >>> 0;
        lo = 0;
      }
  }
  R32[0] = R32[2] = lo;
  R32[1] = R32[3] = hi;
  return true;
}

/** 0 Q op 0111100000 abc cmode o2 1 defgh d */
export const modImm: Handler = (s, insn) => {
  const q = (insn >>> 30) & 1;
  const op = (insn >>> 29) & 1;
  const cmode = (insn >>> 12) & 15;
  const o2 = (insn >>> 11) & 1;
  if (o2) return undefinedInsn();
  if (cmode === 15 && op && !q) return undefinedInsn();
  const imm8 = (((insn >>> 16) & 7) << 5) | ((insn >>> 5) & 31);
  const d = insn & 31;
  expandImm(op, cmode, imm8);
  const isLogic = (cmode < 12 && (cmode & 1) === 1) || false;
  if (isLogic) {
    // ORR (op0) / BIC (op1) immediate
    const w = s.vw;
    const lanes = q ? 4 : 2;
    for (let i = 0; i < lanes; i++) {
      const x = w[(d << 2) + i];
      R32[i] = op ? x & ~R32[i] : x | R32[i];
    }
    commit(s, d, q);
    return;
  }
  // MOVI (op0, and op1 cmode 1110) / MVNI (op1 other cmodes) / FMOV
  if (op && cmode !== 14 && cmode !== 15) {
    for (let i = 0; i < 4; i++) R32[i] = ~R32[i];
  }
  commit(s, d, q);
};

/** DUP (element, scalar) = MOV Vd, Vn.T[i]: 01 0 11110000 imm5 0 0000 1 n d */
export const dupScalar: Handler = (s, insn) => {
  const imm5 = (insn >>> 16) & 31;
  const es = imm5Size(imm5);
  if (es < 0) return undefinedInsn();
  const idx = imm5 >>> (es + 1);
  const n = (insn >>> 5) & 31;
  R32[0] = R32[1] = 0;
  if (es === 3) {
    R32[0] = s.vw[(n << 2) + 2 * idx];
    R32[1] = s.vw[(n << 2) + 2 * idx + 1];
  } else putR(es, 0, eltU(s, n, es, idx));
  commitScalar(s, insn & 31, 1 << es);
};
