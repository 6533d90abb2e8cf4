/**
 * Scalar floating-point instruction handlers (single and double precision, half-precision
 * conversions). Arithmetic lives in core.ts; these handlers decode fields, read and write
 * registers and apply FPCR/FPSR through the CpuState (which is an FpEnv).
 */
import type { Handler } from '../decode/types';
import type { CpuState } from '../state';
import * as M_state from '../state';
import * as M_core from './core';

const { condHolds, setW, setX, undefinedInsn } = M_state;
const {
  cvtDH,
  cvtDS,
  cvtHD,
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
  fmaD,
  fmaS,
  fminmaxD,
  fminmaxS,
  fmulD,
  fmulS,
  flushD,
  flushS,
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
  RP,
  RZ,
  S,
} = M_core;

/** Writes a binary64 value to D[d] (zeroing the rest of V[d]). */
export function putD(s: CpuState, d: number, x: number): void {
  s.vf64[d << 1] = x;
  s.vw[(d << 2) + 2] = 0;
  s.vw[(d << 2) + 3] = 0;
}
/** Writes binary32 bits to S[d] (zeroing the rest of V[d]). */
export function putS(s: CpuState, d: number, bits: number): void {
  const i = d << 2;
  s.vw[i] = bits;
  s.vw[i + 1] = 0;
  s.vw[i + 2] = 0;
  s.vw[i + 3] = 0;
}
/** Writes binary16 bits to H[d] (zeroing the rest of V[d]). */
export function putH(s: CpuState, d: number, bits: number): void {
  const i = d << 2;
  s.vw[i] = bits & 0xffff;
  s.vw[i + 1] = 0;
  s.vw[i + 2] = 0;
  s.vw[i + 3] = 0;
}
export const getD = (s: CpuState, n: number): number => s.vf64[n << 1];
export const getS = (s: CpuState, n: number): number => s.vw[n << 2];
export const getH = (s: CpuState, n: number): number => s.vh[n << 3];

const ftypeOf = (insn: number): number => (insn >>> 22) & 3;

// ---- data-processing, one source ------------------------------------------------------

/** 00011110 ftype 1 opcode(6) 10000 n d: FMOV/FABS/FNEG/FSQRT/FRINT*. */
export function dp1(opc: number): Handler {
  return (s, insn) => {
    const ft = ftypeOf(insn);
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (ft === 1) {
      const x = getD(s, n);
      let r: number;
      switch (opc) {
        case 0: {
          const lo = s.vw[n << 2];
          const hi = s.vw[(n << 2) + 1];
          s.vw[d << 2] = lo;
          s.vw[(d << 2) + 1] = hi;
          s.vw[(d << 2) + 2] = 0;
          s.vw[(d << 2) + 3] = 0;
          return;
        }
        case 1:
        case 2: {
          const lo = s.vw[n << 2];
          const hi = s.vw[(n << 2) + 1];
          s.vw[d << 2] = lo;
          s.vw[(d << 2) + 1] = opc === 1 ? hi & 0x7fffffff : (hi ^ 0x80000000) >>> 0;
          s.vw[(d << 2) + 2] = 0;
          s.vw[(d << 2) + 3] = 0;
          return;
        }
        case 3:
          r = fsqrtD(s, x);
          break;
        default:
          r = frintD(s, x, frintMode(opc), opc === 14);
      }
      putD(s, d, r);
      return;
    }
    if (ft !== 0) return undefinedInsn();
    const b = getS(s, n);
    let r: number;
    switch (opc) {
      case 0:
        r = b;
        break;
      case 1:
        r = b & 0x7fffffff;
        break;
      case 2:
        r = (b ^ 0x80000000) >>> 0;
        break;
      case 3:
        r = fsqrtS(s, b);
        break;
      default:
        r = frintS(s, b, frintMode(opc), opc === 14);
    }
    putS(s, d, r);
  };
}

/** FRINT opcode → rounding mode (-1 = FPCR). */
function frintMode(opc: number): number {
  switch (opc) {
    case 8:
      return RN;
    case 9:
      return RP;
    case 10:
      return RM;
    case 11:
      return RZ;
    case 12:
      return RNA;
    case 14:
    case 15:
      return -1;
    default:
      return undefinedInsn();
  }
}

/** FCVT between precisions: 00011110 ftype 1 0001 opc 10000 n d (opc: 00 S, 01 D, 11 H). */
export const fcvt: Handler = (s, insn) => {
  const ft = ftypeOf(insn);
  const to = (insn >>> 15) & 3;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  if (ft === to || ft === 2 || to === 2) return undefinedInsn();
  if (ft === 0) {
    const b = getS(s, n);
    if (to === 1) putD(s, d, cvtSD(s, b));
    else putH(s, d, cvtSH(s, b));
  } else if (ft === 1) {
    const x = getD(s, n);
    if (to === 0) putS(s, d, cvtDS(s, x));
    else putH(s, d, cvtDH(s, x));
  } else {
    const h = getH(s, n);
    if (to === 0) putS(s, d, cvtHS(s, h));
    else putD(s, d, cvtHD(s, h));
  }
};

// ---- data-processing, two sources -----------------------------------------------------

/** 00011110 ftype 1 m opcode(4) 10 n d */
export function dp2(opc: number): Handler {
  return (s, insn) => {
    const ft = ftypeOf(insn);
    const m = (insn >>> 16) & 31;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    if (ft === 1) {
      const a = getD(s, n);
      const b = getD(s, m);
      let r: number;
      switch (opc) {
        case 0:
          r = fmulD(s, a, b);
          break;
        case 1:
          r = fdivD(s, a, b);
          break;
        case 2:
          r = faddD(s, a, b);
          break;
        case 3:
          r = fsubD(s, a, b);
          break;
        case 4:
        case 5:
        case 6:
        case 7:
          r = fminmaxD(s, a, b, (opc & 1) === 0, opc >= 6);
          break;
        case 8:
          r = negD(fmulD(s, a, b));
          break;
        default:
          return undefinedInsn();
      }
      putD(s, d, r);
      return;
    }
    if (ft !== 0) return undefinedInsn();
    const a = getS(s, n);
    const b = getS(s, m);
    let r: number;
    switch (opc) {
      case 0:
        r = fmulS(s, a, b);
        break;
      case 1:
        r = fdivS(s, a, b);
        break;
      case 2:
        r = faddS(s, a, b);
        break;
      case 3:
        r = fsubS(s, a, b);
        break;
      case 4:
      case 5:
      case 6:
      case 7:
        r = fminmaxS(s, a, b, (opc & 1) === 0, opc >= 6);
        break;
      case 8:
        r = (fmulS(s, a, b) ^ 0x80000000) >>> 0;
        break;
      default:
        return undefinedInsn();
    }
    putS(s, d, r);
  };
}

// ---- data-processing, three sources ---------------------------------------------------

const negD = (x: number): number => {
  // sign flip that keeps NaN payloads (FPNeg flips the sign bit of NaNs too)
  NEG_F[0] = x;
  NEG_U[1] ^= 0x80000000;
  return NEG_F[0];
};
const NEG_F = new Float64Array(1);
const NEG_U = new Uint32Array(NEG_F.buffer);

/** FMADD/FMSUB/FNMADD/FNMSUB: 00011111 ftype o1 m o0 a n d */
export function dp3(o1: number, o0: number): Handler {
  return (s, insn) => {
    const ft = ftypeOf(insn);
    const m = (insn >>> 16) & 31;
    const a = (insn >>> 10) & 31;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    // FMADD: a + n*m; FMSUB: a + (-n)*m; FNMADD: (-a) + (-n)*m; FNMSUB: (-a) + n*m
    const negN = o0 !== o1;
    const negA = o1 === 1;
    if (ft === 1) {
      let x = getD(s, n);
      let c = getD(s, a);
      if (negN) x = negD(x);
      if (negA) c = negD(c);
      putD(s, d, fmaD(s, c, x, getD(s, m)));
      return;
    }
    if (ft !== 0) return undefinedInsn();
    let x = getS(s, n);
    let c = getS(s, a);
    if (negN) x = (x ^ 0x80000000) >>> 0;
    if (negA) c = (c ^ 0x80000000) >>> 0;
    putS(s, d, fmaS(s, c, x, getS(s, m)));
  };
}

// ---- compare, conditional compare, conditional select ----------------------------------

/** FCMP/FCMPE: 00011110 ftype 1 m 001000 n opc2 (opc2: bit 3 = compare with zero, bit 4 = E). */
export const fcmp: Handler = (s, insn) => {
  const ft = ftypeOf(insn);
  const m = (insn >>> 16) & 31;
  const n = (insn >>> 5) & 31;
  const zero = (insn >>> 3) & 1;
  const e = ((insn >>> 4) & 1) === 1;
  let nzcv: number;
  if (ft === 1) nzcv = fcmpD(s, getD(s, n), zero ? 0 : getD(s, m), e);
  else if (ft === 0) nzcv = fcmpS(s, getS(s, n), zero ? 0 : getS(s, m), e);
  else return undefinedInsn();
  s.setNZCV(nzcv);
};

/** FCCMP/FCCMPE: 00011110 ftype 1 m cond 01 n op nzcv */
export const fccmp: Handler = (s, insn) => {
  const ft = ftypeOf(insn);
  if (ft > 1) return undefinedInsn();
  const m = (insn >>> 16) & 31;
  const cond = (insn >>> 12) & 15;
  const n = (insn >>> 5) & 31;
  const e = ((insn >>> 4) & 1) === 1;
  if (!condHolds(s, cond)) {
    s.setNZCV((insn & 15) << 28);
    return;
  }
  s.setNZCV(ft === 1 ? fcmpD(s, getD(s, n), getD(s, m), e) : fcmpS(s, getS(s, n), getS(s, m), e));
};

/** FCSEL: 00011110 ftype 1 m cond 11 n d */
export const fcsel: Handler = (s, insn) => {
  const ft = ftypeOf(insn);
  if (ft > 1) return undefinedInsn();
  const m = (insn >>> 16) & 31;
  const cond = (insn >>> 12) & 15;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const src = condHolds(s, cond) ? n : m;
  const lo = s.vw[src << 2];
  const hi = ft === 1 ? s.vw[(src << 2) + 1] : 0;
  s.vw[d << 2] = lo;
  s.vw[(d << 2) + 1] = hi;
  s.vw[(d << 2) + 2] = 0;
  s.vw[(d << 2) + 3] = 0;
};

/** FMOV (scalar, immediate): 00011110 ftype 1 imm8 100 00000 d */
export const fmovImm: Handler = (s, insn) => {
  const ft = ftypeOf(insn);
  const imm8 = (insn >>> 13) & 0xff;
  const d = insn & 31;
  const a = (imm8 >>> 7) & 1;
  const b = (imm8 >>> 6) & 1;
  if (ft === 0) putS(s, d, ((a << 31) | ((b ? 0x1f : 0x20) << 25) | ((imm8 & 0x3f) << 19)) >>> 0);
  else if (ft === 1) {
    s.vw[d << 2] = 0;
    s.vw[(d << 2) + 1] = ((a << 31) | ((b ? 0xff : 0x100) << 22) | ((imm8 & 0x3f) << 16)) >>> 0;
    s.vw[(d << 2) + 2] = 0;
    s.vw[(d << 2) + 3] = 0;
  } else undefinedInsn();
};

// ---- conversions between floating point and integer ----------------------------------

function convRmode(rmode: number, opc: number): number {
  // FCVTN* (rmode 00, opc 00x), FCVTA* (rmode 00, opc 10x), FCVTP*, FCVTM*, FCVTZ*
  if (rmode === 0) return opc >= 4 ? RNA : RN;
  return rmode === 1 ? RP : rmode === 2 ? RM : RZ;
}

/** sf 0 0 11110 ftype 1 rmode opcode 000000 n d (and the fixed-point form with scale). */
export function fpInt(fixed: boolean): Handler {
  return (s, insn) => {
    const sf = insn >>> 31;
    const ft = ftypeOf(insn);
    const rmode = (insn >>> 19) & 3;
    const opc = (insn >>> 16) & 7;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    let fbits = 0;
    if (fixed) {
      const scale = (insn >>> 10) & 63;
      if (!sf && scale < 32) return undefinedInsn();
      fbits = 64 - scale;
      if (!((rmode === 0 && (opc === 2 || opc === 3)) || (rmode === 3 && opc < 2))) return undefinedInsn();
    }
    if (opc === 6 || opc === 7) {
      if (fixed) return undefinedInsn();
      fmovGeneral(s, insn, sf, ft, rmode, opc, n, d);
      return;
    }
    if (ft > 1) return undefinedInsn();
    if (opc === 2 || opc === 3) {
      if (rmode !== 0) return undefinedInsn();
      // SCVTF / UCVTF
      const unsigned = opc === 3;
      const lo = n === 31 ? 0 : s.x[n << 1];
      let hi = n === 31 ? 0 : s.x[(n << 1) + 1];
      if (!sf) hi = unsigned ? 0 : lo >> 31;
      if (ft === 1) putD(s, d, intToFloat(s, lo, hi, unsigned, fbits, D));
      else putS(s, d, intToFloat(s, lo, hi, unsigned, fbits, S));
      return;
    }
    if (rmode !== 0 && opc > 1) return undefinedInsn();
    if (rmode === 0 && opc > 5) return undefinedInsn();
    const rm = convRmode(rmode, opc);
    const unsigned = (opc & 1) === 1;
    let x: number;
    if (ft === 1) {
      const v = getD(s, n);
      x = v !== v ? v : flushD(s, v);
    } else {
      const b = getS(s, n);
      x = isNaNS(b) ? NaN : f32Value(flushS(s, b));
    }
    cvtToInt(s, x, fbits, rm, sf ? 64 : 32, unsigned);
    if (sf) setX(s, d, INT_RESULT.lo, INT_RESULT.hi);
    else setW(s, d, INT_RESULT.lo);
  };
}

function fmovGeneral(
  s: CpuState,
  _insn: number,
  sf: number,
  ft: number,
  rmode: number,
  opc: number,
  n: number,
  d: number,
): void {
  const toFp = opc === 7;
  if (rmode === 1) {
    // FMOV Xd, Vn.D[1] / FMOV Vd.D[1], Xn
    if (!sf || ft !== 2) return undefinedInsn();
    if (toFp) {
      s.vw[(d << 2) + 2] = n === 31 ? 0 : s.x[n << 1];
      s.vw[(d << 2) + 3] = n === 31 ? 0 : s.x[(n << 1) + 1];
    } else setX(s, d, s.vw[(n << 2) + 2], s.vw[(n << 2) + 3]);
    return;
  }
  if (rmode !== 0) return undefinedInsn();
  if (sf === 0 && ft === 0) {
    if (toFp) putS(s, d, n === 31 ? 0 : s.x[n << 1] >>> 0);
    else setW(s, d, s.vw[n << 2]);
    return;
  }
  if (sf === 1 && ft === 1) {
    if (toFp) {
      s.vw[d << 2] = n === 31 ? 0 : s.x[n << 1];
      s.vw[(d << 2) + 1] = n === 31 ? 0 : s.x[(n << 1) + 1];
      s.vw[(d << 2) + 2] = 0;
      s.vw[(d << 2) + 3] = 0;
    } else setX(s, d, s.vw[n << 2], s.vw[(n << 2) + 1]);
    return;
  }
  undefinedInsn();
}
