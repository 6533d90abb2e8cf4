/**
 * Reciprocal and reciprocal-square-root estimates and Newton-Raphson steps, following the
 * Arm ARM pseudocode (RecipEstimate / RecipSqrtEstimate are defined there by integer
 * arithmetic; we tabulate them once at load).
 */
import type { FpEnv } from './core';
import * as M_core from './core';

const {
  DEFAULT_NAN_S,
  defaultNaND,
  DZC,
  f32Value,
  flushD,
  flushS,
  fmaD,
  fmaS,
  FPCR_FZ,
  IOC,
  isNaNS,
  IXC,
  OFC,
  processNaND,
  processNaNS,
  RM,
  rmodeOf,
  RN,
  RP,
  UFC,
} = M_core;

/** RecipEstimate(a) for a in [256, 511] → [256, 511]. */
const RECIP = new Uint16Array(512);
/** RecipSqrtEstimate(a) for a in [128, 511] → [256, 511]. */
const RSQRT = new Uint16Array(512);
for (let a = 256; a < 512; a++) {
  const x = a * 2 + 1;
  const b = Math.floor(2 ** 19 / x);
  RECIP[a] = Math.floor((b + 1) / 2);
}
for (let a = 128; a < 512; a++) {
  // a < 256: 0.25 <= a < 0.5 in units of 1/512; else 0.5 <= a < 1 in units of 1/256
  const x = a < 256 ? a * 2 + 1 : (((a >> 1) << 1) + 1) * 2;
  let b = 512;
  while (x * (b + 1) * (b + 1) < 2 ** 28) b++;
  RSQRT[a] = Math.floor((b + 1) / 2);
}

const F64 = new Float64Array(1);
const U64 = new Uint32Array(F64.buffer);

function overflowResultD(env: FpEnv, neg: boolean): number {
  env.fpsr |= OFC | IXC;
  const rm = rmodeOf(env);
  const toInf = rm === RN || (rm === RP && !neg) || (rm === RM && neg);
  const mag = toInf ? Infinity : 1.7976931348623157e308;
  return neg ? -mag : mag;
}

/** FRECPE on binary64. */
export function recipEstimateD(env: FpEnv, x0: number): number {
  if (x0 !== x0) return processNaND(env, x0);
  const x = flushD(env, x0);
  const neg = x < 0 || Object.is(x, -0);
  if (x === Infinity || x === -Infinity) return neg ? -0 : 0;
  if (x === 0) {
    env.fpsr |= DZC;
    return neg ? -Infinity : Infinity;
  }
  const ax = Math.abs(x);
  if (ax < 2 ** -1024) return overflowResultD(env, neg);
  if ((env.fpcr & FPCR_FZ) !== 0 && ax >= 2 ** 1022) {
    env.fpsr |= UFC;
    return neg ? -0 : 0;
  }
  F64[0] = x;
  let exp = (U64[1] >>> 20) & 0x7ff;
  // top 52 fraction bits as hi20:lo32; we only need the top 10 fraction bits
  let fracTop = ((U64[1] & 0xfffff) << 12) | (U64[0] >>> 20); // fraction<51:20> in 32 bits
  fracTop >>>= 0;
  if (exp === 0) {
    if ((fracTop & 0x80000000) === 0) {
      exp = -1;
      fracTop = (fracTop << 2) >>> 0;
    } else fracTop = (fracTop << 1) >>> 0;
  }
  const scaled = 256 | (fracTop >>> 24);
  let rexp = 2045 - exp;
  const est = RECIP[scaled];
  // fraction = est<7:0> : zeros
  let fhi = (est & 0xff) << 12; // into the 20-bit high fraction field
  let flo = 0;
  if (rexp === 0) {
    // fraction = '1' : fraction<51:1>
    flo = ((fhi & 1) << 31) >>> 0;
    fhi = (fhi >>> 1) | 0x80000;
  } else if (rexp === -1) {
    flo = ((fhi & 3) << 30) >>> 0;
    fhi = (fhi >>> 2) | 0x40000;
    rexp = 0;
  }
  U64[1] = ((neg ? 0x80000000 : 0) | (rexp << 20) | fhi) >>> 0;
  U64[0] = flo;
  return F64[0];
}

/** FRECPE on binary32 bits. */
export function recipEstimateS(env: FpEnv, b0: number): number {
  if (isNaNS(b0)) return processNaNS(env, b0);
  const b = flushS(env, b0);
  const sign = (b & 0x80000000) >>> 0;
  const mag = b & 0x7fffffff;
  if (mag === 0x7f800000) return sign;
  if (mag === 0) {
    env.fpsr |= DZC;
    return (sign | 0x7f800000) >>> 0;
  }
  const v = Math.abs(f32Value(b));
  if (v < 2 ** -128) {
    env.fpsr |= OFC | IXC;
    const rm = rmodeOf(env);
    const neg = sign !== 0;
    const toInf = rm === RN || (rm === RP && !neg) || (rm === RM && neg);
    return (sign | (toInf ? 0x7f800000 : 0x7f7fffff)) >>> 0;
  }
  if ((env.fpcr & FPCR_FZ) !== 0 && v >= 2 ** 126) {
    env.fpsr |= UFC;
    return sign;
  }
  let exp = mag >>> 23;
  let frac = (mag & 0x7fffff) << 9; // fraction<22:0> at the top of 32 bits
  frac >>>= 0;
  if (exp === 0) {
    if ((frac & 0x80000000) === 0) {
      exp = -1;
      frac = (frac << 2) >>> 0;
    } else frac = (frac << 1) >>> 0;
  }
  const scaled = 256 | (frac >>> 24);
  let rexp = 253 - exp;
  const est = RECIP[scaled];
  let f = (est & 0xff) << 15; // 23-bit fraction
  if (rexp === 0) f = (f >>> 1) | 0x400000;
  else if (rexp === -1) {
    f = (f >>> 2) | 0x200000;
    rexp = 0;
  }
  return (sign | (rexp << 23) | f) >>> 0;
}

/** FRSQRTE on binary64. */
export function rsqrtEstimateD(env: FpEnv, x0: number): number {
  if (x0 !== x0) return processNaND(env, x0);
  const x = flushD(env, x0);
  const neg = x < 0 || Object.is(x, -0);
  if (x === 0) {
    env.fpsr |= DZC;
    return neg ? -Infinity : Infinity;
  }
  if (neg) {
    env.fpsr |= IOC;
    return defaultNaND();
  }
  if (x === Infinity) return 0;
  F64[0] = x;
  let exp = (U64[1] >>> 20) & 0x7ff;
  let hi = U64[1] & 0xfffff;
  let lo = U64[0];
  if (exp === 0) {
    // normalise: shift until fraction<51> is 1, then once more
    while ((hi & 0x80000) === 0) {
      hi = ((hi << 1) | (lo >>> 31)) & 0xfffff;
      lo = (lo << 1) >>> 0;
      exp -= 1;
    }
    hi = ((hi << 1) | (lo >>> 31)) & 0xfffff;
    lo = (lo << 1) >>> 0;
  }
  // even exponent: '1':fraction<51:44>; odd: '01':fraction<51:45>
  const scaled = (exp & 1) === 0 ? 256 | (hi >>> 12) : 128 | (hi >>> 13);
  const rexp = Math.floor((3068 - exp) / 2);
  const est = RSQRT[scaled];
  U64[1] = ((rexp << 20) | ((est & 0xff) << 12)) >>> 0;
  U64[0] = 0;
  return F64[0];
}

/** FRSQRTE on binary32 bits. */
export function rsqrtEstimateS(env: FpEnv, b0: number): number {
  if (isNaNS(b0)) return processNaNS(env, b0);
  const b = flushS(env, b0);
  const sign = (b & 0x80000000) >>> 0;
  const mag = b & 0x7fffffff;
  if (mag === 0) {
    env.fpsr |= DZC;
    return (sign | 0x7f800000) >>> 0;
  }
  if (sign) {
    env.fpsr |= IOC;
    return DEFAULT_NAN_S;
  }
  if (mag === 0x7f800000) return 0;
  let exp = mag >>> 23;
  let frac = mag & 0x7fffff;
  if (exp === 0) {
    while ((frac & 0x400000) === 0) {
      frac = (frac << 1) & 0x7fffff;
      exp -= 1;
    }
    frac = (frac << 1) & 0x7fffff;
  }
  const scaled = (exp & 1) === 0 ? 256 | (frac >>> 15) : 128 | (frac >>> 16);
  const rexp = Math.floor((380 - exp) / 2);
  const est = RSQRT[scaled];
  return ((rexp << 23) | ((est & 0xff) << 15)) >>> 0;
}

/** FRECPS (2 - a·b, fused) on binary64. */
export function recipStepD(env: FpEnv, a0: number, b0: number): number {
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  if (a === a && b === b) {
    const ai = a === Infinity || a === -Infinity;
    const bi = b === Infinity || b === -Infinity;
    if ((ai && b === 0) || (bi && a === 0)) return 2;
  }
  return fmaD(env, 2, negD(a), b);
}
/** FRSQRTS ((3 - a·b)/2, fused) on binary64. */
export function rsqrtStepD(env: FpEnv, a0: number, b0: number): number {
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  if (a === a && b === b) {
    const ai = a === Infinity || a === -Infinity;
    const bi = b === Infinity || b === -Infinity;
    if ((ai && b === 0) || (bi && a === 0)) return 1.5;
    if (ai || bi) return fmaD(env, 3, negD(a), b);
    if (a !== 0 && b !== 0) {
      // halve whichever operand halves exactly (both tiny: the product is far below 1.5)
      if (Math.abs(a) >= 2 ** -1021) return fmaD(env, 1.5, negD(a * 0.5), b);
      return fmaD(env, 1.5, negD(a), b * 0.5);
    }
  }
  return fmaD(env, 1.5, negD(a), b);
}

const NF = new Float64Array(1);
const NU = new Uint32Array(NF.buffer);
function negD(x: number): number {
  NF[0] = x;
  NU[1] ^= 0x80000000;
  return NF[0];
}

function halveS(b: number): number {
  // exact halving of a binary32 whose exponent field is at least 2
  return (b - 0x00800000) >>> 0;
}

export function recipStepS(env: FpEnv, a0: number, b0: number): number {
  const a = flushS(env, a0);
  const b = flushS(env, b0);
  if (!isNaNS(a) && !isNaNS(b)) {
    const ai = (a & 0x7fffffff) === 0x7f800000;
    const bi = (b & 0x7fffffff) === 0x7f800000;
    if ((ai && (b & 0x7fffffff) === 0) || (bi && (a & 0x7fffffff) === 0)) return 0x40000000;
  }
  return fmaS(env, 0x40000000, (a ^ 0x80000000) >>> 0, b);
}

export function rsqrtStepS(env: FpEnv, a0: number, b0: number): number {
  const a = flushS(env, a0);
  const b = flushS(env, b0);
  if (!isNaNS(a) && !isNaNS(b)) {
    const am = a & 0x7fffffff;
    const bm = b & 0x7fffffff;
    const ai = am === 0x7f800000;
    const bi = bm === 0x7f800000;
    if ((ai && bm === 0) || (bi && am === 0)) return 0x3fc00000;
    if (ai || bi) return fmaS(env, 0x40400000, (a ^ 0x80000000) >>> 0, b);
    if (am !== 0 && bm !== 0) {
      if (am >>> 23 >= 2) return fmaS(env, 0x3fc00000, (halveS(a) ^ 0x80000000) >>> 0, b);
      if (bm >>> 23 >= 2) return fmaS(env, 0x3fc00000, (a ^ 0x80000000) >>> 0, halveS(b));
      // both tiny: the product only contributes inexactness
      return fmaS(env, 0x3fc00000, (a ^ 0x80000000) >>> 0, b);
    }
  }
  return fmaS(env, 0x3fc00000, (a ^ 0x80000000) >>> 0, b);
}

/** FRECPX on binary64. */
export function frecpxD(env: FpEnv, x0: number): number {
  if (x0 !== x0) return processNaND(env, x0);
  const x = flushD(env, x0);
  F64[0] = x;
  const sign = U64[1] & 0x80000000;
  const exp = (U64[1] >>> 20) & 0x7ff;
  U64[0] = 0;
  U64[1] = (sign | ((exp === 0 ? 0x7fe : ~exp & 0x7ff) << 20)) >>> 0;
  return F64[0];
}
/** FRECPX on binary32 bits. */
export function frecpxS(env: FpEnv, b0: number): number {
  if (isNaNS(b0)) return processNaNS(env, b0);
  const b = flushS(env, b0);
  const exp = (b >>> 23) & 0xff;
  return ((b & 0x80000000) | ((exp === 0 ? 0xfe : ~exp & 0xff) << 23)) >>> 0;
}

/** URECPE lane. */
export function urecpe(a: number): number {
  if ((a & 0x80000000) === 0) return 0xffffffff;
  return (RECIP[(a >>> 23) & 0x1ff] << 23) >>> 0;
}
/** URSQRTE lane. */
export function ursqrte(a: number): number {
  if ((a & 0xc0000000) === 0) return 0xffffffff;
  return (RSQRT[(a >>> 23) & 0x1ff] << 23) >>> 0;
}
