/**
 * Advanced SIMD floating point (single and double lanes): three-same vector and scalar,
 * two-register misc (compares with zero, FRINT*, conversions, FCVTL/FCVTN/FCVTXN, FABS/FNEG,
 * FSQRT, FRECPE/FRSQRTE), across-lanes and pairwise reductions, and the fixed-point
 * conversions of the shift-by-immediate group.
 */
import type { Handler } from '../decode/types';
import type { CpuState } from '../state';
import * as M_state from '../state';
import type { FpEnv } from '../fp/core';
import * as M_fp_core from '../fp/core';
import * as M_fp_estimate from '../fp/estimate';
import * as M_vec from './vec';

const { undefinedInsn } = M_state;
const {
  cvtDS,
  cvtHS,
  cvtSD,
  cvtSH,
  cvtToInt,
  D,
  f32Value,
  faddD,
  faddS,
  fcmpD,
  fcmpS,
  fdivD,
  fdivS,
  flushD,
  flushS,
  fmaD,
  fmaS,
  fminmaxD,
  fminmaxS,
  fmulD,
  fmulS,
  fmulxD,
  frintD,
  frintS,
  fsqrtD,
  fsqrtS,
  fsubD,
  fsubS,
  INT_RESULT,
  intToFloat,
  isNaNS,
  RM,
  RN,
  RNA,
  RO,
  RP,
  RZ,
  S,
} = M_fp_core;
const {
  frecpxD,
  frecpxS,
  recipEstimateD,
  recipEstimateS,
  recipStepD,
  recipStepS,
  rsqrtEstimateD,
  rsqrtEstimateS,
  rsqrtStepD,
  rsqrtStepS,
  urecpe,
  ursqrte,
} = M_fp_estimate;
const { R32 } = M_vec;

const RD = new Float64Array(R32.buffer, 0, 4);

const roundToOddS = (env: FpEnv, x: number): number => cvtDS(env, x, RO);

function commitQ(s: CpuState, d: number, q: number): void {
  const w = s.vw;
  const i = d << 2;
  w[i] = R32[0];
  w[i + 1] = R32[1];
  w[i + 2] = q ? R32[2] : 0;
  w[i + 3] = q ? R32[3] : 0;
}

// ---- lane operations ----------------------------------------------------------------

/** Binary op on binary32 bits. `op` numbering: see threeSameFp. */
function binS(s: CpuState, op: number, a: number, b: number, d: number): number {
  switch (op) {
    case 0:
      return fminmaxS(s, a, b, true, true);
    case 1:
      return fminmaxS(s, a, b, false, true);
    case 2:
      return fmaS(s, d, a, b); // FMLA
    case 3:
      return fmaS(s, d, (a ^ 0x80000000) >>> 0, b); // FMLS
    case 4:
      return faddS(s, a, b);
    case 5:
      return fsubS(s, a, b);
    case 6: {
      const r = fsubS(s, a, b);
      return r & 0x7fffffff; // FABD
    }
    case 7:
      return fmulS(s, a, b, true); // FMULX
    case 8:
      return fmulS(s, a, b);
    case 9:
      return cmpMask(fcmpS(s, a, b, false), 0); // FCMEQ
    case 10:
      return cmpMask(fcmpS(s, a, b, true), 1); // FCMGE
    case 11:
      return cmpMask(fcmpS(s, a, b, true), 2); // FCMGT
    case 12:
      return cmpMask(fcmpS(s, a & 0x7fffffff, b & 0x7fffffff, true), 1); // FACGE
    case 13:
      return cmpMask(fcmpS(s, a & 0x7fffffff, b & 0x7fffffff, true), 2); // FACGT
    case 14:
      return fminmaxS(s, a, b, true, false);
    case 15:
      return fminmaxS(s, a, b, false, false);
    case 16:
      return recipStepS(s, a, b);
    case 17:
      return rsqrtStepS(s, a, b);
    case 18:
      return fdivS(s, a, b);
    default:
      return undefinedInsn();
  }
}

const NEGF = new Float64Array(1);
const NEGU = new Uint32Array(NEGF.buffer);
function flipD(x: number): number {
  NEGF[0] = x;
  NEGU[1] ^= 0x80000000;
  return NEGF[0];
}
function absD(x: number): number {
  NEGF[0] = x;
  NEGU[1] &= 0x7fffffff;
  return NEGF[0];
}

/** Binary op on binary64 values; compares return a mask via RD lanes, see caller. */
function binD(s: CpuState, op: number, a: number, b: number, d: number): number {
  switch (op) {
    case 0:
      return fminmaxD(s, a, b, true, true);
    case 1:
      return fminmaxD(s, a, b, false, true);
    case 2:
      return fmaD(s, d, a, b);
    case 3:
      return fmaD(s, d, flipD(a), b);
    case 4:
      return faddD(s, a, b);
    case 5:
      return fsubD(s, a, b);
    case 6:
      return absD(fsubD(s, a, b));
    case 7:
      return fmulxD(s, a, b);
    case 8:
      return fmulD(s, a, b);
    case 14:
      return fminmaxD(s, a, b, true, false);
    case 15:
      return fminmaxD(s, a, b, false, false);
    case 16:
      return recipStepD(s, a, b);
    case 17:
      return rsqrtStepD(s, a, b);
    case 18:
      return fdivD(s, a, b);
    default:
      return undefinedInsn();
  }
}

/** Compare of binary64 lanes: returns true/false for the mask. */
function cmpD(s: CpuState, op: number, a: number, b: number): boolean {
  switch (op) {
    case 9:
      return cmpMask(fcmpD(s, a, b, false), 0) !== 0;
    case 10:
      return cmpMask(fcmpD(s, a, b, true), 1) !== 0;
    case 11:
      return cmpMask(fcmpD(s, a, b, true), 2) !== 0;
    case 12:
      return cmpMask(fcmpD(s, absD(a), absD(b), true), 1) !== 0;
    default:
      return cmpMask(fcmpD(s, absD(a), absD(b), true), 2) !== 0;
  }
}

/** NZCV from fcmp → mask: kind 0 EQ, 1 GE, 2 GT (unordered is false). */
function cmpMask(nzcv: number, kind: number): number {
  if (nzcv === 0x30000000) return 0;
  if (kind === 0) return nzcv === 0x60000000 ? 0xffffffff : 0;
  if (kind === 1) return nzcv !== 0x80000000 ? 0xffffffff : 0;
  return nzcv === 0x20000000 ? 0xffffffff : 0;
}

// ---- three same ---------------------------------------------------------------------

/** 0 Q U 01110 a sz 1 m opcode 1 n d — `op` is the lane operation number; pairwise for the P forms. */
export function threeSameFp(op: number, pairwise: boolean): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const sz = (insn >>> 22) & 1;
    const m = (insn >>> 16) & 31;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (sz && !q) return undefinedInsn();
    const w = s.vw;
    if (!sz) {
      const lanes = q ? 4 : 2;
      for (let i = 0; i < lanes; i++) {
        let a: number;
        let b: number;
        if (pairwise) {
          const half = lanes >> 1;
          const src = i < half ? n : m;
          const j = (i < half ? i : i - half) * 2;
          a = w[(src << 2) + j];
          b = w[(src << 2) + j + 1];
        } else {
          a = w[(n << 2) + i];
          b = w[(m << 2) + i];
        }
        R32[i] = binS(s, op, a, b, w[(d << 2) + i]);
      }
    } else {
      const f = s.vf64;
      for (let i = 0; i < 2; i++) {
        let a: number;
        let b: number;
        if (pairwise) {
          const src = i === 0 ? n : m;
          a = f[src << 1];
          b = f[(src << 1) + 1];
        } else {
          a = f[(n << 1) + i];
          b = f[(m << 1) + i];
        }
        if (op >= 9 && op <= 13) {
          const t = cmpD(s, op, a, b) ? -1 : 0;
          R32[2 * i] = t;
          R32[2 * i + 1] = t;
        } else RD[i] = binD(s, op, a, b, f[(d << 1) + i]);
      }
    }
    commitQ(s, d, q);
  };
}

/** Scalar three-same FP: 01 U 11110 a sz 1 m opcode 1 n d */
export function threeSameFpScalar(op: number): Handler {
  return (s, insn) => {
    const sz = (insn >>> 22) & 1;
    const m = (insn >>> 16) & 31;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const w = s.vw;
    R32[1] = R32[2] = R32[3] = 0;
    if (!sz) R32[0] = binS(s, op, w[n << 2], w[m << 2], w[d << 2]);
    else {
      const f = s.vf64;
      if (op >= 9 && op <= 13) R32[0] = R32[1] = cmpD(s, op, f[n << 1], f[m << 1]) ? -1 : 0;
      else RD[0] = binD(s, op, f[n << 1], f[m << 1], f[d << 1]);
    }
    commitQ(s, d, 0);
  };
}

// ---- two-register misc --------------------------------------------------------------

/**
 * Unary lane ops (`op`): 0 FABS, 1 FNEG, 2 FSQRT, 3..9 FRINT N/M/P/Z/A/X/I, 10..14 FCM GT/GE/EQ/LE/LT #0,
 * 15 FCVTNS … (conversions carry rm/unsigned in `cv`), 16 SCVTF, 17 UCVTF, 18 FRECPE, 19 FRSQRTE, 20 FRECPX.
 */
function unS(s: CpuState, op: number, a: number, rm: number, uns: boolean): number {
  switch (op) {
    case 0:
      return a & 0x7fffffff;
    case 1:
      return (a ^ 0x80000000) >>> 0;
    case 2:
      return fsqrtS(s, a);
    case 3:
      return frintS(s, a, RN, false);
    case 4:
      return frintS(s, a, RM, false);
    case 5:
      return frintS(s, a, RP, false);
    case 6:
      return frintS(s, a, RZ, false);
    case 7:
      return frintS(s, a, RNA, false);
    case 8:
      return frintS(s, a, -1, true);
    case 9:
      return frintS(s, a, -1, false);
    case 10:
      return cmpMask(fcmpS(s, a, 0, true), 2);
    case 11:
      return cmpMask(fcmpS(s, a, 0, true), 1);
    case 12:
      return cmpMask(fcmpS(s, a, 0, false), 0);
    case 13:
      return cmpMask(fcmpS(s, 0, a, true), 1); // a <= 0  ⇔  0 >= a
    case 14:
      return cmpMask(fcmpS(s, 0, a, true), 2); // a < 0  ⇔  0 > a
    case 15: {
      const x = isNaNS(a) ? NaN : f32Value(flushS(s, a));
      cvtToInt(s, x, 0, rm, 32, uns);
      return INT_RESULT.lo >>> 0;
    }
    case 16:
    case 17:
      return intToFloat(s, a, op === 16 ? a >> 31 : 0, op === 17, 0, S);
    case 18:
      return recipEstimateS(s, a);
    case 19:
      return rsqrtEstimateS(s, a);
    case 20:
      return frecpxS(s, a);
    case 21:
      return urecpe(a);
    case 22:
      return ursqrte(a);
    default:
      return undefinedInsn();
  }
}

/** Same for binary64 lanes; writes the 64-bit result into RD[i] (or R32 halves for masks/ints). */
function unD(s: CpuState, op: number, a: number, rm: number, uns: boolean, i: number, alo: number, ahi: number): void {
  let r: number;
  switch (op) {
    case 0:
      r = absD(a);
      break;
    case 1:
      r = flipD(a);
      break;
    case 2:
      r = fsqrtD(s, a);
      break;
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
      r = frintD(s, a, [RN, RM, RP, RZ, RNA][op - 3], false);
      break;
    case 8:
      r = frintD(s, a, -1, true);
      break;
    case 9:
      r = frintD(s, a, -1, false);
      break;
    case 10:
    case 11:
    case 12:
    case 13:
    case 14: {
      const nz = op <= 12 ? fcmpD(s, a, 0, op !== 12) : fcmpD(s, 0, a, true);
      const t = cmpMask(nz, op === 10 || op === 14 ? 2 : op === 12 ? 0 : 1) ? -1 : 0;
      R32[2 * i] = t;
      R32[2 * i + 1] = t;
      return;
    }
    case 15: {
      cvtToInt(s, a !== a ? a : flushD(s, a), 0, rm, 64, uns);
      R32[2 * i] = INT_RESULT.lo;
      R32[2 * i + 1] = INT_RESULT.hi;
      return;
    }
    case 16:
    case 17:
      r = intToFloat(s, alo, ahi, op === 17, 0, D);
      break;
    case 18:
      r = recipEstimateD(s, a);
      break;
    case 19:
      r = rsqrtEstimateD(s, a);
      break;
    case 20:
      r = frecpxD(s, a);
      break;
    default:
      undefinedInsn();
      return;
  }
  RD[i] = r;
}

/** Vector two-register misc FP: 0 Q U 01110 a sz 10000 opcode 10 n d */
export function twoMiscFp(op: number, rm = RN, uns = false): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const sz = (insn >>> 22) & 1;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (sz && !q) return undefinedInsn();
    if ((op === 21 || op === 22) && sz) return undefinedInsn();
    const w = s.vw;
    if (!sz) {
      const lanes = q ? 4 : 2;
      for (let i = 0; i < lanes; i++) R32[i] = unS(s, op, w[(n << 2) + i], rm, uns);
    } else {
      const f = s.vf64;
      for (let i = 0; i < 2; i++) unD(s, op, f[(n << 1) + i], rm, uns, i, w[(n << 2) + 2 * i], w[(n << 2) + 2 * i + 1]);
    }
    commitQ(s, d, q);
  };
}

/** Scalar two-register misc FP: 01 U 11110 a sz 10000 opcode 10 n d */
export function twoMiscFpScalar(op: number, rm = RN, uns = false): Handler {
  return (s, insn) => {
    const sz = (insn >>> 22) & 1;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const w = s.vw;
    R32[1] = R32[2] = R32[3] = 0;
    if (!sz) R32[0] = unS(s, op, w[n << 2], rm, uns);
    else unD(s, op, s.vf64[n << 1], rm, uns, 0, w[n << 2], w[(n << 2) + 1]);
    commitQ(s, d, 0);
  };
}

/** FCVTL/FCVTL2 (sz=1: 2S→2D; sz=0: 4H→4S) */
export const fcvtl: Handler = (s, insn) => {
  const q = (insn >>> 30) & 1;
  const sz = (insn >>> 22) & 1;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const w = s.vw;
  if (!sz) {
    // 4H (lower or upper half) → 4S
    for (let i = 0; i < 4; i++) R32[i] = cvtHS(s, s.vh[(n << 3) + 4 * q + i]);
    commitQ(s, d, 1);
    return;
  }
  const a0 = w[(n << 2) + 2 * q];
  const a1 = w[(n << 2) + 2 * q + 1];
  RD[0] = cvtSD(s, a0);
  RD[1] = cvtSD(s, a1);
  commitQ(s, d, 1);
};

/** FCVTN/FCVTN2 (2D→2S) and FCVTXN/FCVTXN2 (round to odd). */
export function fcvtn(xn: boolean): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const sz = (insn >>> 22) & 1;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (!sz) {
      if (xn) return undefinedInsn();
      // 4S → 4H into the lower or upper half
      const w = s.vw;
      for (let i = 0; i < 4; i++) R32[i] = cvtSH(s, w[(n << 2) + i]);
      const h = s.vh;
      if (!q) {
        w[(d << 2) + 2] = 0;
        w[(d << 2) + 3] = 0;
      }
      for (let i = 0; i < 4; i++) h[(d << 3) + 4 * q + i] = R32[i];
      if (!q) {
        w[(d << 2) + 2] = 0;
        w[(d << 2) + 3] = 0;
      }
      return;
    }
    const f = s.vf64;
    const r0 = xn ? roundToOddS(s, f[n << 1]) : cvtDS(s, f[n << 1]);
    const r1 = xn ? roundToOddS(s, f[(n << 1) + 1]) : cvtDS(s, f[(n << 1) + 1]);
    const w = s.vw;
    if (q) {
      w[(d << 2) + 2] = r0;
      w[(d << 2) + 3] = r1;
    } else {
      w[d << 2] = r0;
      w[(d << 2) + 1] = r1;
      w[(d << 2) + 2] = 0;
      w[(d << 2) + 3] = 0;
    }
  };
}

/** Scalar FCVTXN Sd, Dn. */
export const fcvtxnScalar: Handler = (s, insn) => {
  if (!((insn >>> 22) & 1)) return undefinedInsn();
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const r = roundToOddS(s, s.vf64[n << 1]);
  const w = s.vw;
  w[d << 2] = r;
  w[(d << 2) + 1] = 0;
  w[(d << 2) + 2] = 0;
  w[(d << 2) + 3] = 0;
};

// ---- across lanes and pairwise scalar -----------------------------------------------

/** FMAXNMV/FMINNMV/FMAXV/FMINV (4S only): 0 Q 1 01110 a 0 11000 opcode 10 n d */
export function acrossFp(max: boolean, nm: boolean): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const sz = (insn >>> 22) & 1;
    if (!q || sz) return undefinedInsn();
    const n = (insn >>> 5) & 31;
    const w = s.vw;
    const a = fminmaxS(s, w[n << 2], w[(n << 2) + 1], max, nm);
    const b = fminmaxS(s, w[(n << 2) + 2], w[(n << 2) + 3], max, nm);
    R32[0] = fminmaxS(s, a, b, max, nm);
    R32[1] = R32[2] = R32[3] = 0;
    commitQ(s, insn & 31, 0);
  };
}

/** Scalar pairwise FADDP/FMAXP/FMINP/FMAXNMP/FMINNMP: 01 1 11110 a sz 11000 opcode 10 n d */
export function pairFpScalar(op: number): Handler {
  return (s, insn) => {
    const sz = (insn >>> 22) & 1;
    const n = (insn >>> 5) & 31;
    R32[1] = R32[2] = R32[3] = 0;
    if (!sz) R32[0] = binS(s, op, s.vw[n << 2], s.vw[(n << 2) + 1], 0);
    else RD[0] = binD(s, op, s.vf64[n << 1], s.vf64[(n << 1) + 1], 0);
    commitQ(s, insn & 31, 0);
  };
}

// ---- fixed-point conversions (shift by immediate group) ------------------------------

/** SCVTF/UCVTF/FCVTZS/FCVTZU (vector or scalar, fixed-point): immh:immb gives the fraction bits. */
export function fixedFp(toFloat: boolean, uns: boolean, scalar: boolean): Handler {
  return (s, insn) => {
    const q = scalar ? 0 : (insn >>> 30) & 1;
    const immh = (insn >>> 19) & 15;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    const dbl = (immh & 8) !== 0;
    if (!dbl && (immh & 4) === 0) return undefinedInsn();
    if (dbl && !q && !scalar) return undefinedInsn();
    const esize = dbl ? 64 : 32;
    const fbits = 2 * esize - ((insn >>> 16) & 127);
    const w = s.vw;
    const lanes = scalar ? 1 : dbl ? 2 : q ? 4 : 2;
    for (let i = 0; i < lanes; i++) {
      if (!dbl) {
        const a = w[(n << 2) + i];
        if (toFloat) R32[i] = intToFloat(s, a, uns ? 0 : a >> 31, uns, fbits, S);
        else {
          const x = isNaNS(a) ? NaN : f32Value(flushS(s, a));
          cvtToInt(s, x, fbits, RZ, 32, uns);
          R32[i] = INT_RESULT.lo;
        }
      } else {
        const lo = w[(n << 2) + 2 * i];
        const hi = w[(n << 2) + 2 * i + 1];
        if (toFloat) RD[i] = intToFloat(s, lo, hi, uns, fbits, D);
        else {
          const x = s.vf64[(n << 1) + i];
          cvtToInt(s, x !== x ? x : flushD(s, x), fbits, RZ, 64, uns);
          R32[2 * i] = INT_RESULT.lo;
          R32[2 * i + 1] = INT_RESULT.hi;
        }
      }
    }
    if (scalar && !dbl) R32[1] = 0;
    if (scalar) R32[2] = R32[3] = 0;
    commitQ(s, d, q);
  };
}
