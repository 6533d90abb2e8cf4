/**
 * IEEE-754 binary16/32/64 arithmetic with AArch64 semantics, without BigInt and without
 * allocation: every FPCR rounding mode (plus ties-away for FRINTA/FCVTA*), the FPSR
 * cumulative flags, default NaN, flush-to-zero, AArch64 NaN propagation, exact fused
 * multiply-add, conversions and round-to-integral.
 *
 * Representation: binary64 values travel as JS numbers (NaN payloads survive because we only
 * move them through Float64Array stores/loads, never through arithmetic); binary32 and
 * binary16 values travel as their raw bit patterns (uint32), because widening a signalling
 * binary32 NaN to a double would quieten it.
 *
 * Exact results are formed as an unevaluated pair hi + lo (lo rounded to odd so it keeps the
 * sticky information) times 2^scale, and `round()` rounds that pair once to the target
 * format. Tininess is detected before rounding, as Arm does.
 */

export interface FpEnv {
  fpcr: number;
  fpsr: number;
}

// FPCR bits
export const FPCR_AHP = 1 << 26;
export const FPCR_DN = 1 << 25;
export const FPCR_FZ = 1 << 24;
export const FPCR_FZ16 = 1 << 19;
// FPSR cumulative flags
export const IOC = 1;
export const DZC = 2;
export const OFC = 4;
export const UFC = 8;
export const IXC = 16;
export const IDC = 128;

/** Rounding modes: the FPCR.RMode encoding plus ties-away (4) and "use FPCR" (-1). */
export const RN = 0;
export const RP = 1;
export const RM = 2;
export const RZ = 3;
export const RNA = 4;
/** Round to odd (FCVTXN). */
export const RO = 5;

export const rmodeOf = (env: FpEnv): number => (env.fpcr >>> 22) & 3;

/** Format descriptors: precision (incl. hidden bit), minimum and maximum normal exponents. */
export const H = 0;
export const S = 1;
export const D = 2;
/** Format 3 is the Arm alternative half precision (FPCR.AHP): no infinities or NaNs, emax 16. */
const AHP_H = 3;
const PREC = [11, 24, 53, 11];
const EMIN = [-14, -126, -1022, -14];
const EMAX = [15, 127, 1023, 16];

const F64 = new Float64Array(1);
const U64 = new Uint32Array(F64.buffer);
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

export function f64Bits(x: number): void {
  F64[0] = x;
}
/** Low/high words of the last f64Bits() call. */
export const bitsLo = (): number => U64[0];
export const bitsHi = (): number => U64[1];
export function f64FromBits(lo: number, hi: number): number {
  U64[0] = lo;
  U64[1] = hi;
  return F64[0];
}
export function f32Value(bits: number): number {
  U32[0] = bits;
  return F32[0];
}
/** Bits of a binary32 value (x must be exactly representable, or is rounded to nearest). */
export function f32BitsOf(x: number): number {
  F32[0] = x;
  return U32[0];
}

/** 2^k for any integer k in [-1074, 1023] (table lookup; built at load by pow2Calc). */
function pow2(k: number): number {
  const i = k + 1074;
  if (i >= 0 && i <= 2097 && (i | 0) === i) return POW2_TAB[i];
  return pow2Calc(k);
}

function pow2Calc(k: number): number {
  if (k >= -1022) {
    U64[0] = 0;
    U64[1] = (k + 1023) << 20;
    return F64[0];
  }
  return pow2Calc(k + 100) * 7.888609052210118e-31; // 2^-100
}

const POW2_TAB = new Float64Array(1074 + 1024);
for (let k = -1074; k <= 1023; k++) POW2_TAB[k + 1074] = pow2Calc(k);

/** x · 2^k without intermediate overflow or underflow (exact when the result is representable). */
export function scale2(x: number, k: number): number {
  let r = x;
  let n = k;
  while (n > 1000) {
    r *= pow2(1000);
    n -= 1000;
  }
  while (n < -1000) {
    r *= pow2(-1000);
    n += 1000;
  }
  return r * pow2(n);
}

/** Unbiased exponent of a finite nonzero double (subnormals handled). */
export function exponentOf(x: number): number {
  F64[0] = x;
  const e = (U64[1] >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  F64[0] = x * 18014398509481984; // 2^54
  return ((U64[1] >>> 20) & 0x7ff) - 1023 - 54;
}

// ---------------------------------------------------------------------------------------
// Error-free transformations.

/** TwoSum error of the last twoSum() call. */
let tsErr = 0;
function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  tsErr = a - (s - bb) + (b - bb);
  return s;
}
/** Veltkamp/Dekker product: returns RN(a·b), error in tpErr (exact when no under/overflow). */
let tpErr = 0;
const SPLIT = 134217729; // 2^27 + 1
function twoProd(a: number, b: number): number {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  tpErr = al * bl - (p - ah * bh - al * bh - ah * bl);
  return p;
}

/** Rounds `v` to odd using the sticky value `st` (non-zero st means v is inexact). */
function toOdd(v: number, st: number): number {
  if (st === 0) return v;
  if (v === 0) return st; // st is far below the pair's last place: it is the sticky itself
  F64[0] = v;
  if ((U64[0] & 1) === 1) return v;
  // move one ulp towards st
  const up = st > 0 === v > 0;
  if (up) {
    U64[0] = (U64[0] + 1) >>> 0;
    if (U64[0] === 0) U64[1] = U64[1] + 1;
  } else {
    if (U64[0] === 0) U64[1] = U64[1] - 1;
    U64[0] = (U64[0] - 1) >>> 0;
  }
  return F64[0];
}

/** Normalised exact pair from hi + lo + st (st only as sticky): sets pairHi/pairLo. */
let pairHi = 0;
let pairLo = 0;
function normalise(hi: number, lo: number, st: number): void {
  const h = twoSum(hi, lo);
  const t = tsErr;
  const u = twoSum(t, st);
  pairHi = h;
  pairLo = toOdd(u, tsErr);
  if (h === 0 && pairLo !== 0) {
    pairHi = pairLo;
    pairLo = 0;
  }
}

// ---------------------------------------------------------------------------------------
// Rounding.

/** Result of the last round(): for binary16 the bit pattern is rebuilt from these. */
let rN = 0;
let rQ = 0;

/**
 * Rounds sign·(a + t)·2^scale to format `fmt` (a > 0 a finite double, |t| ≲ ulp(a)/2, t the
 * odd-rounded tail), with rounding mode `rm` and flush-to-zero `fz`. Raises flags on env and
 * returns the magnitude as a double (Infinity on overflow to infinity); -0/+0 handled by the
 * caller from `sign`.
 */
function roundMag(
  env: FpEnv,
  sign: number,
  a: number,
  t: number,
  scale: number,
  fmt: number,
  rm: number,
  fz: boolean,
): number {
  const p = PREC[fmt];
  const emin = EMIN[fmt];
  const emax = EMAX[fmt];
  let e = exponentOf(a);
  F64[0] = a;
  const pw2 = (U64[1] & 0xfffff) === 0 && U64[0] === 0;
  if (pw2 && t < 0) e -= 1;
  const E = e + scale;
  if (fz && E < emin) {
    env.fpsr |= UFC;
    rN = 0;
    rQ = emin - (p - 1);
    return 0;
  }
  const q = (E < emin ? emin : E) - (p - 1);
  const k = scale - q;
  const y = scale2(a, k);
  const l = t === 0 ? 0 : scale2(t, k);
  let n = Math.floor(y);
  const f = y - n;
  // classify the fraction F = f + l: 0 exact, 1 below half, 2 half, 3 above half
  let cls: number;
  if (f === 0) {
    if (t === 0) cls = 0;
    else if (t > 0) cls = l < 0.5 ? 1 : l === 0.5 ? 2 : 3;
    else {
      n -= 1;
      cls = l > -0.5 ? 3 : l === -0.5 ? 2 : l === -1 ? 0 : 1;
    }
  } else if (f === 0.5) cls = t > 0 ? 3 : t < 0 ? 1 : 2;
  else cls = f < 0.5 ? 1 : 3;
  const inexact = cls !== 0;
  let inc = 0;
  switch (rm) {
    case RN:
      inc = cls === 3 || (cls === 2 && n % 2 === 1) ? 1 : 0;
      break;
    case RNA:
      inc = cls >= 2 ? 1 : 0;
      break;
    case RP:
      inc = inexact && !sign ? 1 : 0;
      break;
    case RM:
      inc = inexact && sign ? 1 : 0;
      break;
    default:
      inc = 0;
  }
  n += inc;
  if (rm === RO && inexact && n % 2 === 0) n += 1;
  const top = 2 ** p;
  const resE = n >= top ? q + p : q + p - 1;
  if (n !== 0 && resE > emax) {
    if (fmt === AHP_H) {
      // saturate with Invalid Operation instead of overflowing (and no Inexact)
      env.fpsr |= IOC;
      rN = top - 1;
      rQ = emax - (p - 1);
      return scale2(top - 1, rQ);
    }
    env.fpsr |= OFC | IXC;
    const toInf = rm === RN || rm === RNA || (rm === RP && !sign) || (rm === RM && sign);
    rN = top - 1;
    rQ = emax - (p - 1);
    return toInf ? Infinity : scale2(top - 1, rQ);
  }
  if (inexact) {
    env.fpsr |= IXC;
    if (E < emin) env.fpsr |= UFC;
  }
  rN = n;
  rQ = q;
  return scale2(n, q);
}

/** Rounds the exact pair to a binary64 value. */
function roundD(env: FpEnv, hi: number, lo: number, scale: number, rm: number): number {
  if (rm === RN && scale > -1000 && scale < 1000) {
    // Fast path: with the odd-rounded tail far below hi (|lo| <= 2^-50 |hi|), hi + lo is never
    // a midpoint unless it is exact, so the JS sum rounds like the exact value; a strictly
    // normal, finite scaled result is then exact (power-of-two scaling), not tiny before
    // rounding and not overflowed; inexact exactly when the sum has an error.
    const ah = hi < 0 ? -hi : hi;
    const al = lo < 0 ? -lo : lo;
    if (ah >= 2 ** -900 && ah <= 2 ** 900 && al <= ah * 2 ** -50) {
      const r = twoSum(hi, lo);
      const x = r * pow2(scale);
      if ((x > TINY64 && x < Infinity) || (x < -TINY64 && x > -Infinity)) {
        if (tsErr !== 0) env.fpsr |= IXC;
        return x;
      }
    }
  }
  const sign = hi < 0 ? 1 : 0;
  const m = roundMag(env, sign, sign ? -hi : hi, sign ? -lo : lo, scale, D, rm, (env.fpcr & FPCR_FZ) !== 0);
  return sign ? -m : m;
}
/** Rounds the exact pair to binary32 bits. */
function roundS(env: FpEnv, hi: number, lo: number, scale: number, rm: number): number {
  const sign = hi < 0 ? 1 : 0;
  const m = roundMag(env, sign, sign ? -hi : hi, sign ? -lo : lo, scale, S, rm, (env.fpcr & FPCR_FZ) !== 0);
  return (f32BitsOf(m) | (sign << 31)) >>> 0;
}
/** Rounds the exact pair to binary16 bits (fz: flush tiny results; ahp: alternative format). */
function roundH(env: FpEnv, hi: number, lo: number, scale: number, rm: number, fz: boolean, ahp: boolean): number {
  const sign = hi < 0 ? 1 : 0;
  if (ahp) {
    roundMag(env, sign, sign ? -hi : hi, sign ? -lo : lo, scale, AHP_H, rm, fz);
    return ((sign << 15) | halfBits()) >>> 0;
  }
  const m = roundMag(env, sign, sign ? -hi : hi, sign ? -lo : lo, scale, H, rm, fz);
  if (m === Infinity) return ((sign << 15) | 0x7c00) >>> 0;
  return ((sign << 15) | halfBits()) >>> 0;
}

function halfBits(): number {
  if (rN === 0) return 0;
  // bits = (q + p - 1 + bias) · 2^(p-1) + n - 2^(p-1), valid for normal and subnormal results
  return (rQ + 10 + 15) * 1024 + rN - 1024;
}

// ---------------------------------------------------------------------------------------
// Classification and NaN handling.

/** binary64 classification helpers (on values). */
const TINY64 = 2.2250738585072014e-308; // 2^-1022

/** Flushes a binary64 input denormal to zero when FPCR.FZ is set (raising IDC). */
export function flushD(env: FpEnv, x: number): number {
  if ((env.fpcr & FPCR_FZ) !== 0 && x !== 0 && x > -TINY64 && x < TINY64) {
    env.fpsr |= IDC;
    return x < 0 || Object.is(x, -0) ? -0 : 0;
  }
  return x;
}
/** Flushes binary32 input bits. */
export function flushS(env: FpEnv, b: number): number {
  if ((env.fpcr & FPCR_FZ) !== 0 && (b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0) {
    env.fpsr |= IDC;
    return (b & 0x80000000) >>> 0;
  }
  return b;
}

export const isNaND = (x: number): boolean => x !== x;
export const isNaNS = (b: number): boolean => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
export const isNaNH = (b: number): boolean => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
/** Signalling NaN tests (the argument must be a NaN). */
export function isSNaND(x: number): boolean {
  F64[0] = x;
  return (U64[1] & 0x80000) === 0;
}
export const isSNaNS = (b: number): boolean => (b & 0x400000) === 0;

export const DEFAULT_NAN_S = 0x7fc00000;
export const DEFAULT_NAN_H = 0x7e00;
export function defaultNaND(): number {
  return f64FromBits(0, 0x7ff80000);
}
export function quietD(x: number): number {
  F64[0] = x;
  U64[1] |= 0x80000;
  return F64[0];
}

/** FPProcessNaN for one binary64 operand (x is a NaN). */
export function processNaND(env: FpEnv, x: number): number {
  if (isSNaND(x)) env.fpsr |= IOC;
  if (env.fpcr & FPCR_DN) return defaultNaND();
  return quietD(x);
}
export function processNaNS(env: FpEnv, b: number): number {
  if (isSNaNS(b)) env.fpsr |= IOC;
  if (env.fpcr & FPCR_DN) return DEFAULT_NAN_S;
  return (b | 0x400000) >>> 0;
}

/** FPProcessNaNs: returns the NaN result when a or b is a NaN, else null-ish (undefined signalled by `false`). */
export function nan2D(env: FpEnv, a: number, b: number): number {
  if (a !== a && isSNaND(a)) return processNaND(env, a);
  if (b !== b && isSNaND(b)) return processNaND(env, b);
  if (a !== a) return processNaND(env, a);
  return processNaND(env, b);
}
export function nan2S(env: FpEnv, a: number, b: number): number {
  if (isNaNS(a) && isSNaNS(a)) return processNaNS(env, a);
  if (isNaNS(b) && isSNaNS(b)) return processNaNS(env, b);
  if (isNaNS(a)) return processNaNS(env, a);
  return processNaNS(env, b);
}
/** FPProcessNaNs3 (order: a, b, c as the pseudocode's op1, op2, op3). */
export function nan3D(env: FpEnv, a: number, b: number, c: number): number {
  if (a !== a && isSNaND(a)) return processNaND(env, a);
  if (b !== b && isSNaND(b)) return processNaND(env, b);
  if (c !== c && isSNaND(c)) return processNaND(env, c);
  if (a !== a) return processNaND(env, a);
  if (b !== b) return processNaND(env, b);
  return processNaND(env, c);
}
export function nan3S(env: FpEnv, a: number, b: number, c: number): number {
  if (isNaNS(a) && isSNaNS(a)) return processNaNS(env, a);
  if (isNaNS(b) && isSNaNS(b)) return processNaNS(env, b);
  if (isNaNS(c) && isSNaNS(c)) return processNaNS(env, c);
  if (isNaNS(a)) return processNaNS(env, a);
  if (isNaNS(b)) return processNaNS(env, b);
  return processNaNS(env, c);
}

function invalidD(env: FpEnv): number {
  env.fpsr |= IOC;
  return defaultNaND();
}

// ---------------------------------------------------------------------------------------
// binary64 arithmetic.

/** Sign of an exact zero sum of operands x and y (IEEE: +0 unless both -0, or RM → -0). */
function zeroSum(_env: FpEnv, xNeg: boolean, yNeg: boolean, rm: number): number {
  if (xNeg && yNeg) return -0;
  if (xNeg !== yNeg) return rm === RM ? -0 : 0;
  return 0;
}
const neg0 = (x: number): boolean => x < 0 || Object.is(x, -0);

/** Exact binary64 sum a + b rounded per `rm` (a, b finite, already flushed). */
function addCore(env: FpEnv, a: number, b: number, rm: number): number {
  if (a === 0 && b === 0) return zeroSum(env, neg0(a), neg0(b), rm);
  let s = twoSum(a, b);
  let e = tsErr;
  let scale = 0;
  if (!Number.isFinite(s)) {
    const a4 = a * 0.25;
    const b4 = b * 0.25;
    s = twoSum(a4, b4);
    e = tsErr;
    scale = 2;
  }
  if (s === 0 && e === 0) return zeroSum(env, neg0(a), neg0(b), rm);
  if (scale === 0 && rm === RN && (s >= TINY64 || s <= -TINY64)) {
    // the JS sum is the round-to-nearest result; sums never underflow inexactly
    if (e !== 0) env.fpsr |= IXC;
    return s;
  }
  return roundD(env, s, e, scale, rm);
}

export function faddD(env: FpEnv, a0: number, b0: number): number {
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  if (a !== a || b !== b) return nan2D(env, a, b);
  const ai = a === Infinity || a === -Infinity;
  const bi = b === Infinity || b === -Infinity;
  if (ai || bi) {
    if (ai && bi && a !== b) return invalidD(env);
    return ai ? a : b;
  }
  return addCore(env, a, b, rmodeOf(env));
}

export function fsubD(env: FpEnv, a0: number, b0: number): number {
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  if (a !== a || b !== b) return nan2D(env, a, b);
  return faddD(env, a, -b);
}

/** Splits a finite nonzero double into mantissa in [1,2) (returned) and exponent (mExp). */
let mExp = 0;
function splitMant(x: number): number {
  const e = exponentOf(x);
  mExp = e;
  return scale2(x, -e);
}

/** |x| range where Dekker products and remainders are exact (no over/underflow inside). */
const SAFE_LO = 2 ** -900;
const SAFE_HI = 2 ** 900;
const safe = (x: number): boolean => (x > SAFE_LO && x < SAFE_HI) || (x < -SAFE_LO && x > -SAFE_HI);

function mulCore(env: FpEnv, a: number, b: number, rm: number): number {
  if (a === 0 || b === 0) return neg0(a) !== neg0(b) ? -0 : 0;
  if (rm === RN && safe(a) && safe(b)) {
    const p = twoProd(a, b);
    if (safe(p)) {
      if (tpErr !== 0) env.fpsr |= IXC;
      return p;
    }
  }
  const ma = splitMant(a);
  const ea = mExp;
  const mb = splitMant(b);
  const eb = mExp;
  const p = twoProd(ma, mb);
  const e = tpErr;
  const sc = ea + eb;
  if (e === 0 && rm === RN && sc > -1000 && sc < 1000) {
    const r = scale2(p, sc);
    if (r >= TINY64 || r <= -TINY64) {
      if (Number.isFinite(r)) return r;
    }
  }
  return roundD(env, p, e, sc, rm);
}

export function fmulD(env: FpEnv, a0: number, b0: number): number {
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  if (a !== a || b !== b) return nan2D(env, a, b);
  const ai = a === Infinity || a === -Infinity;
  const bi = b === Infinity || b === -Infinity;
  if (ai || bi) {
    if (a === 0 || b === 0) return invalidD(env);
    return neg0(a) !== neg0(b) ? -Infinity : Infinity;
  }
  return mulCore(env, a, b, rmodeOf(env));
}

/** FMULX: like FMUL but ∞ × 0 = ±2. */
export function fmulxD(env: FpEnv, a0: number, b0: number): number {
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  if (a !== a || b !== b) return nan2D(env, a, b);
  const ai = a === Infinity || a === -Infinity;
  const bi = b === Infinity || b === -Infinity;
  if ((ai && b === 0) || (bi && a === 0)) return neg0(a) !== neg0(b) ? -2 : 2;
  return fmulD(env, a, b);
}

export function fdivD(env: FpEnv, a0: number, b0: number): number {
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  if (a !== a || b !== b) return nan2D(env, a, b);
  const ai = a === Infinity || a === -Infinity;
  const bi = b === Infinity || b === -Infinity;
  const sgn = neg0(a) !== neg0(b);
  if ((ai && bi) || (a === 0 && b === 0)) return invalidD(env);
  if (ai || b === 0) {
    if (!ai) env.fpsr |= DZC;
    return sgn ? -Infinity : Infinity;
  }
  if (a === 0 || bi) return sgn ? -0 : 0;
  const rm = rmodeOf(env);
  if (rm === RN && safe(a) && safe(b)) {
    const q = a / b;
    if (safe(q)) {
      const p = twoProd(q, b);
      if (a - p - tpErr !== 0) env.fpsr |= IXC;
      return q;
    }
  }
  return divCore(env, a, b, rm, D);
}

/** Exact quotient of finite nonzero a/b rounded to fmt (D → number, S → bits). */
function divCore(env: FpEnv, a: number, b: number, rm: number, fmt: number): number {
  const ma = splitMant(a);
  const ea = mExp;
  const mb = splitMant(b);
  const eb = mExp;
  const q = ma / mb;
  // remainder ma - q·mb, exactly
  const p = twoProd(q, mb);
  const r = ma - p - tpErr;
  let lo = 0;
  if (r !== 0) {
    const ulpq = pow2(exponentOf(q) - 52);
    lo = r > 0 === mb > 0 ? ulpq * 0.25 : -ulpq * 0.25;
  }
  if (fmt === D) return roundD(env, q, lo, ea - eb, rm);
  return roundS(env, q, lo, ea - eb, rm);
}

export function fsqrtD(env: FpEnv, a0: number): number {
  if (a0 !== a0) return processNaND(env, a0);
  const a = flushD(env, a0);
  if (a === 0) return a;
  if (a < 0) return invalidD(env);
  if (a === Infinity) return a;
  const rm = rmodeOf(env);
  if (rm === RN && safe(a)) {
    const r = Math.sqrt(a);
    const p = twoProd(r, r);
    if (a - p - tpErr !== 0) env.fpsr |= IXC;
    return r;
  }
  return sqrtCore(env, a, rm, D);
}

function sqrtCore(env: FpEnv, a: number, rm: number, fmt: number): number {
  let e = exponentOf(a);
  if (e & 1) e -= 1;
  const m = scale2(a, -e); // [1, 4)
  const r = Math.sqrt(m);
  const p = twoProd(r, r);
  const res = m - p - tpErr;
  let lo = 0;
  if (res !== 0) lo = (res > 0 ? 0.25 : -0.25) * pow2(exponentOf(r) - 52);
  if (fmt === D) return roundD(env, r, lo, e / 2, rm);
  return roundS(env, r, lo, e / 2, rm);
}

/** Fused a·b + c for binary64 (the caller's operand order: FMADD d = a*b + c). */
export function fmaD(env: FpEnv, c0: number, a0: number, b0: number): number {
  const rm = rmodeOf(env);
  // FPMulAdd(addend=c, op1=a, op2=b): unpack (flush) all operands first
  const a = flushD(env, a0);
  const b = flushD(env, b0);
  const c = flushD(env, c0);
  if (a !== a || b !== b || c !== c) {
    if (c !== c && !isSNaND(c) && a === a && b === b) {
      const inf0 = ((a === Infinity || a === -Infinity) && b === 0) || ((b === Infinity || b === -Infinity) && a === 0);
      if (inf0) return invalidD(env);
    }
    return nan3D(env, c, a, b);
  }
  const ai = a === Infinity || a === -Infinity;
  const bi = b === Infinity || b === -Infinity;
  const ci = c === Infinity || c === -Infinity;
  const psign = neg0(a) !== neg0(b);
  if ((ai && b === 0) || (bi && a === 0)) return invalidD(env);
  if (ai || bi) {
    if (ci && neg0(c) !== psign) return invalidD(env);
    return psign ? -Infinity : Infinity;
  }
  if (ci) return c;
  if (a === 0 || b === 0) {
    if (c === 0) return zeroSum(env, psign, neg0(c), rm);
    return c;
  }
  const ma = splitMant(a);
  const ea = mExp;
  const mb = splitMant(b);
  const eb = mExp;
  const ph = twoProd(ma, mb);
  const pl = tpErr;
  const ep = ea + eb;
  if (c === 0) return roundD(env, ph, pl, ep, rm);
  // bring c to the product's scale, or reduce it to a sticky when it is far away
  const ec = exponentOf(c);
  let hi: number;
  let lo: number;
  let st: number;
  let sc: number;
  if (ec - ep > 160) {
    // product is pure sticky below c
    sc = ec;
    hi = scale2(c, -ec);
    lo = 0;
    st = (ph > 0 ? 1 : -1) * 1e-60;
    normalise(hi, lo, st);
    return roundD(env, pairHi, pairLo, sc, rm);
  }
  if (ep - ec > 160) {
    sc = ep;
    normalise(ph, pl, (c > 0 ? 1 : -1) * 1e-70);
    return roundD(env, pairHi, pairLo, sc, rm);
  }
  sc = ep;
  const cs = scale2(c, -ep);
  const s1 = twoSum(ph, cs);
  const e1 = tsErr;
  const s2 = twoSum(e1, pl);
  const e2 = tsErr;
  hi = twoSum(s1, s2);
  const e3 = tsErr;
  lo = twoSum(e3, e2);
  st = tsErr;
  if (hi === 0 && lo === 0 && st === 0) return zeroSum(env, psign, neg0(c), rm);
  normalise(hi, lo, st);
  if (pairHi === 0) return zeroSum(env, psign, neg0(c), rm);
  return roundD(env, pairHi, pairLo, sc, rm);
}

// ---------------------------------------------------------------------------------------
// binary32 arithmetic (bits in, bits out).

const MIN_NORMAL_S = 2 ** -126;
const MAX_S = 3.4028234663852886e38;

/** Round-to-nearest of an exact double to binary32 when the result is normal and finite. */
function fastS(env: FpEnv, x: number): number {
  const r = Math.fround(x);
  const m = r < 0 ? -r : r;
  if (m >= MIN_NORMAL_S && m <= MAX_S) {
    if (r !== x) env.fpsr |= IXC;
    return f32BitsOf(r);
  }
  return roundS(env, x, 0, 0, RN);
}

const infS = (b: number): boolean => (b & 0x7fffffff) === 0x7f800000;
const zeroS = (b: number): boolean => (b & 0x7fffffff) === 0;
const signS = (b: number): number => b >>> 31;

function invalidS(env: FpEnv): number {
  env.fpsr |= IOC;
  return DEFAULT_NAN_S;
}
function zeroBitsS(neg: boolean): number {
  return neg ? 0x80000000 : 0;
}

export function faddS(env: FpEnv, a0: number, b0: number): number {
  const a = flushS(env, a0);
  const b = flushS(env, b0);
  if (isNaNS(a) || isNaNS(b)) return nan2S(env, a, b);
  if (infS(a) || infS(b)) {
    if (infS(a) && infS(b) && a !== b) return invalidS(env);
    return infS(a) ? a : b;
  }
  const rm = rmodeOf(env);
  if (zeroS(a) && zeroS(b)) return zeroBitsS(Object.is(zeroSum(env, signS(a) === 1, signS(b) === 1, rm), -0));
  const x = f32Value(a);
  const y = f32Value(b);
  const s = twoSum(x, y);
  const e = tsErr;
  if (s === 0 && e === 0) return zeroBitsS(Object.is(zeroSum(env, signS(a) === 1, signS(b) === 1, rm), -0));
  if (e === 0 && rm === RN) return fastS(env, s);
  return roundS(env, s, e, 0, rm);
}

export function fsubS(env: FpEnv, a0: number, b0: number): number {
  const a = flushS(env, a0);
  const b = flushS(env, b0);
  if (isNaNS(a) || isNaNS(b)) return nan2S(env, a, b);
  return faddS(env, a, (b ^ 0x80000000) >>> 0);
}

export function fmulS(env: FpEnv, a0: number, b0: number, x: boolean = false): number {
  const a = flushS(env, a0);
  const b = flushS(env, b0);
  if (isNaNS(a) || isNaNS(b)) return nan2S(env, a, b);
  const sg = (signS(a) ^ signS(b)) === 1;
  if (infS(a) || infS(b)) {
    if (zeroS(a) || zeroS(b)) {
      if (x) return sg ? 0xc0000000 : 0x40000000;
      return invalidS(env);
    }
    return sg ? 0xff800000 : 0x7f800000;
  }
  if (zeroS(a) || zeroS(b)) return zeroBitsS(sg);
  const p = f32Value(a) * f32Value(b); // exact in binary64
  const rm = rmodeOf(env);
  if (rm === RN) return fastS(env, p);
  return roundS(env, p, 0, 0, rm);
}

export function fdivS(env: FpEnv, a0: number, b0: number): number {
  const a = flushS(env, a0);
  const b = flushS(env, b0);
  if (isNaNS(a) || isNaNS(b)) return nan2S(env, a, b);
  const sg = (signS(a) ^ signS(b)) === 1;
  if ((infS(a) && infS(b)) || (zeroS(a) && zeroS(b))) return invalidS(env);
  if (infS(a) || zeroS(b)) {
    if (!infS(a)) env.fpsr |= DZC;
    return sg ? 0xff800000 : 0x7f800000;
  }
  if (zeroS(a) || infS(b)) return zeroBitsS(sg);
  return divCore(env, f32Value(a), f32Value(b), rmodeOf(env), S);
}

export function fsqrtS(env: FpEnv, a0: number): number {
  if (isNaNS(a0)) return processNaNS(env, a0);
  const a = flushS(env, a0);
  if (zeroS(a)) return a;
  if (signS(a)) return invalidS(env);
  if (infS(a)) return a;
  return sqrtCore(env, f32Value(a), rmodeOf(env), S);
}

export function fmaS(env: FpEnv, c0: number, a0: number, b0: number): number {
  const rm = rmodeOf(env);
  const a = flushS(env, a0);
  const b = flushS(env, b0);
  const c = flushS(env, c0);
  if (isNaNS(a) || isNaNS(b) || isNaNS(c)) {
    if (isNaNS(c) && !isSNaNS(c) && !isNaNS(a) && !isNaNS(b)) {
      if ((infS(a) && zeroS(b)) || (infS(b) && zeroS(a))) return invalidS(env);
    }
    return nan3S(env, c, a, b);
  }
  const psign = (signS(a) ^ signS(b)) === 1;
  if ((infS(a) && zeroS(b)) || (infS(b) && zeroS(a))) return invalidS(env);
  if (infS(a) || infS(b)) {
    if (infS(c) && (signS(c) === 1) !== psign) return invalidS(env);
    return psign ? 0xff800000 : 0x7f800000;
  }
  if (infS(c)) return c;
  if (zeroS(a) || zeroS(b)) {
    if (zeroS(c)) return zeroBitsS(Object.is(zeroSum(env, psign, signS(c) === 1, rm), -0));
    return c;
  }
  const p = f32Value(a) * f32Value(b); // exact
  const s = twoSum(p, f32Value(c));
  const e = tsErr;
  if (s === 0 && e === 0) return zeroBitsS(Object.is(zeroSum(env, psign, signS(c) === 1, rm), -0));
  return roundS(env, s, e, 0, rm);
}

// ---------------------------------------------------------------------------------------
// Min/max and compare (generic over D values and S bits via small adapters).

/** FMAX/FMIN/FMAXNM/FMINNM for binary64. `max`: true for max; `nm`: number-preferring variant. */
export function fminmaxD(env: FpEnv, a0: number, b0: number, max: boolean, nm: boolean): number {
  let a = flushD(env, a0);
  let b = flushD(env, b0);
  if (a !== a || b !== b) {
    if (nm) {
      const aq = a !== a && !isSNaND(a);
      const bq = b !== b && !isSNaND(b);
      if (aq && b === b) a = max ? -Infinity : Infinity;
      else if (bq && a === a) b = max ? -Infinity : Infinity;
      else return nan2D(env, a, b);
    } else return nan2D(env, a, b);
  }
  if (a === 0 && b === 0) {
    const an = neg0(a);
    const bn = neg0(b);
    return max ? (an && bn ? -0 : 0) : an || bn ? -0 : 0;
  }
  return max ? (a > b ? a : b) : a < b ? a : b;
}

export function fminmaxS(env: FpEnv, a0: number, b0: number, max: boolean, nm: boolean): number {
  let a = flushS(env, a0);
  let b = flushS(env, b0);
  if (isNaNS(a) || isNaNS(b)) {
    if (nm) {
      const aq = isNaNS(a) && !isSNaNS(a);
      const bq = isNaNS(b) && !isSNaNS(b);
      if (aq && !isNaNS(b)) a = max ? 0xff800000 : 0x7f800000;
      else if (bq && !isNaNS(a)) b = max ? 0xff800000 : 0x7f800000;
      else return nan2S(env, a, b);
    } else return nan2S(env, a, b);
  }
  if (zeroS(a) && zeroS(b)) {
    const an = signS(a) === 1;
    const bn = signS(b) === 1;
    return zeroBitsS(max ? an && bn : an || bn);
  }
  const x = f32Value(a);
  const y = f32Value(b);
  return max ? (x > y ? a : b) : x < y ? a : b;
}

/** FCMP/FCMPE on binary64: returns NZCV in bits 31..28. `e`: signal on quiet NaNs too. */
export function fcmpD(env: FpEnv, a1: number, b1: number, e: boolean): number {
  const a0 = flushD(env, a1);
  const b0 = flushD(env, b1);
  if (a0 !== a0 || b0 !== b0) {
    if (e || (a0 !== a0 && isSNaND(a0)) || (b0 !== b0 && isSNaND(b0))) env.fpsr |= IOC;
    return 0x30000000;
  }
  const a = a0;
  const b = b0;
  if (a === b) return 0x60000000;
  return a < b ? 0x80000000 : 0x20000000;
}
export function fcmpS(env: FpEnv, a1: number, b1: number, e: boolean): number {
  const a0 = flushS(env, a1);
  const b0 = flushS(env, b1);
  if (isNaNS(a0) || isNaNS(b0)) {
    if (e || (isNaNS(a0) && isSNaNS(a0)) || (isNaNS(b0) && isSNaNS(b0))) env.fpsr |= IOC;
    return 0x30000000;
  }
  const a = f32Value(a0);
  const b = f32Value(b0);
  if (a === b) return 0x60000000;
  return a < b ? 0x80000000 : 0x20000000;
}

// ---------------------------------------------------------------------------------------
// Conversions between formats.

/** binary32 bits → binary64 (exact); NaNs quietened/widened. */
export function cvtSD(env: FpEnv, b0: number): number {
  if (isNaNS(b0)) {
    if (isSNaNS(b0)) env.fpsr |= IOC;
    if (env.fpcr & FPCR_DN) return defaultNaND();
    const frac = b0 & 0x7fffff;
    // widen: the 23-bit fraction goes to the top of the 52-bit fraction
    return f64FromBits((frac << 29) >>> 0, ((b0 & 0x80000000) | 0x7ff80000 | (frac >>> 3)) >>> 0);
  }
  const b = flushS(env, b0);
  return f32Value(b);
}

/** binary64 → binary32 bits, rounded per FPCR (or per `rm` when given, e.g. RO for FCVTXN). */
export function cvtDS(env: FpEnv, x0: number, rm = -1): number {
  if (x0 !== x0) {
    if (isSNaND(x0)) env.fpsr |= IOC;
    if (env.fpcr & FPCR_DN) return DEFAULT_NAN_S;
    F64[0] = x0;
    const hi = U64[1];
    const lo = U64[0];
    return ((hi & 0x80000000) | 0x7fc00000 | ((hi & 0xfffff) << 3) | (lo >>> 29)) >>> 0;
  }
  const x = flushD(env, x0);
  if (x === 0) return zeroBitsS(neg0(x));
  if (x === Infinity) return 0x7f800000;
  if (x === -Infinity) return 0xff800000;
  return roundS(env, x, 0, 0, rm < 0 ? rmodeOf(env) : rm);
}

/** binary16 bits → double value (exact; half inputs are never flushed by conversions). */
function halfValue(h: number, ahp: boolean): number {
  const e = (h >>> 10) & 31;
  const f = h & 0x3ff;
  const sg = h & 0x8000 ? -1 : 1;
  if (e === 0) return sg * f * 2 ** -24;
  if (e === 31 && !ahp) return f === 0 ? sg * Infinity : NaN;
  return sg * (1024 + f) * 2 ** (e - 25);
}

export function cvtHD(env: FpEnv, h: number): number {
  const ahp = (env.fpcr & FPCR_AHP) !== 0;
  if (!ahp && isNaNH(h)) {
    if ((h & 0x200) === 0) env.fpsr |= IOC;
    if (env.fpcr & FPCR_DN) return defaultNaND();
    return f64FromBits(0, ((h & 0x8000) << 16) | 0x7ff80000 | ((h & 0x3ff) << 10));
  }
  return halfValue(h, ahp);
}
export function cvtHS(env: FpEnv, h: number): number {
  const ahp = (env.fpcr & FPCR_AHP) !== 0;
  if (!ahp && isNaNH(h)) {
    if ((h & 0x200) === 0) env.fpsr |= IOC;
    if (env.fpcr & FPCR_DN) return DEFAULT_NAN_S;
    return (((h & 0x8000) << 16) | 0x7fc00000 | ((h & 0x3ff) << 13)) >>> 0;
  }
  return f32BitsOf(halfValue(h, ahp));
}

/** double value (already unpacked, may be NaN with `nanHi` payload) → half bits. */
function toHalf(env: FpEnv, x: number, isSNaN: boolean, nanTop: number, nanSign: number): number {
  const ahp = (env.fpcr & FPCR_AHP) !== 0;
  if (x !== x) {
    if (ahp) {
      env.fpsr |= IOC;
      return nanSign << 15;
    }
    if (isSNaN) env.fpsr |= IOC;
    if (env.fpcr & FPCR_DN) return DEFAULT_NAN_H;
    return ((nanSign << 15) | 0x7e00 | nanTop) >>> 0;
  }
  if (x === 0) return neg0(x) ? 0x8000 : 0;
  if (x === Infinity || x === -Infinity) {
    const sg = x < 0 ? 0x8000 : 0;
    if (ahp) {
      env.fpsr |= IOC;
      return sg | 0x7fff;
    }
    return sg | 0x7c00;
  }
  return roundH(env, x, 0, 0, rmodeOf(env), false, ahp);
}

export function cvtDH(env: FpEnv, x0: number): number {
  if (x0 !== x0) {
    F64[0] = x0;
    const hi = U64[1];
    return toHalf(env, x0, (hi & 0x80000) === 0, (hi >>> 10) & 0x1ff, hi >>> 31);
  }
  return toHalf(env, flushD(env, x0), false, 0, 0);
}
export function cvtSH(env: FpEnv, b0: number): number {
  if (isNaNS(b0)) return toHalf(env, NaN, isSNaNS(b0), (b0 >>> 13) & 0x1ff, b0 >>> 31);
  return toHalf(env, f32Value(flushS(env, b0)), false, 0, 0);
}

// ---------------------------------------------------------------------------------------
// Round to integral (FRINT*) and float → integer.

/** Rounds a finite double to an integer value with mode rm; sets `rintInexact`. */
let rintInexact = false;
export function roundToInt(x: number, rm: number): number {
  if (!(x > -4503599627370496 && x < 4503599627370496)) {
    rintInexact = false;
    return x; // |x| ≥ 2^52: already integral
  }
  const f = Math.floor(x);
  const d = x - f;
  rintInexact = d !== 0;
  if (d === 0) return x;
  let r: number;
  switch (rm) {
    case RN:
      r = d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
      break;
    case RNA:
      r = d > 0.5 || (d === 0.5 && x > 0) ? f + 1 : f;
      break;
    case RP:
      r = f + 1;
      break;
    case RM:
      r = f;
      break;
    default:
      r = x < 0 ? f + 1 : f;
  }
  if (r === 0 && x < 0) return -0;
  return r;
}

/** FRINT* on binary64. rm = -1: use FPCR; exact = true for FRINTX (raises IXC). */
export function frintD(env: FpEnv, x0: number, rm0: number, exact: boolean): number {
  if (x0 !== x0) return processNaND(env, x0);
  const x = flushD(env, x0);
  if (x === 0 || x === Infinity || x === -Infinity) return x;
  const r = roundToInt(x, rm0 < 0 ? rmodeOf(env) : rm0);
  if (exact && rintInexact) env.fpsr |= IXC;
  return r;
}
export function frintS(env: FpEnv, b0: number, rm0: number, exact: boolean): number {
  if (isNaNS(b0)) return processNaNS(env, b0);
  const b = flushS(env, b0);
  if (zeroS(b) || infS(b)) return b;
  const r = roundToInt(f32Value(b), rm0 < 0 ? rmodeOf(env) : rm0);
  if (exact && rintInexact) env.fpsr |= IXC;
  if (r === 0) return (b & 0x80000000) >>> 0;
  return f32BitsOf(r);
}

/** Result of cvtToInt: low and high halves (int32 values). */
export const INT_RESULT = { lo: 0, hi: 0 };

/**
 * Converts a double (already flushed; NaN allowed) times 2^fbits to a 32/64-bit signed or
 * unsigned integer with rounding mode rm, saturating with IOC; IXC when inexact.
 */
export function cvtToInt(env: FpEnv, x: number, fbits: number, rm: number, bits: number, unsigned: boolean): void {
  const R = INT_RESULT;
  if (x !== x) {
    env.fpsr |= IOC;
    R.lo = 0;
    R.hi = 0;
    return;
  }
  const v = fbits === 0 ? x : scale2(x, fbits);
  const r = roundToInt(v, rm);
  const inexact = rintInexact;
  const lim = unsigned ? 2 ** bits : 2 ** (bits - 1);
  if (r >= lim) {
    env.fpsr |= IOC;
    if (bits === 32) {
      R.lo = unsigned ? -1 : 0x7fffffff;
      R.hi = 0;
    } else {
      R.lo = -1;
      R.hi = unsigned ? -1 : 0x7fffffff;
    }
    return;
  }
  if (unsigned ? r < 0 : r < -lim) {
    env.fpsr |= IOC;
    R.lo = unsigned ? 0 : bits === 32 ? 0x80000000 | 0 : 0;
    R.hi = unsigned || bits === 32 ? 0 : 0x80000000 | 0;
    return;
  }
  if (inexact) env.fpsr |= IXC;
  const out = r === 0 ? 0 : r;
  if (bits === 32) {
    R.lo = out | 0;
    R.hi = 0;
    return;
  }
  if (out < 0) {
    const m = -out;
    const hi = Math.floor(m / 4294967296);
    const lo = m - hi * 4294967296;
    // two's complement negate
    const nlo = (~lo + 1) >>> 0;
    R.lo = nlo | 0;
    R.hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
    return;
  }
  const hi = Math.floor(out / 4294967296);
  R.lo = (out - hi * 4294967296) | 0;
  R.hi = hi | 0;
}

/** Integer (64-bit as halves; signed or unsigned) times 2^-fbits → double, rounded to fmt. */
export function intToFloat(env: FpEnv, lo: number, hi: number, unsigned: boolean, fbits: number, fmt: number): number {
  let l = lo >>> 0;
  let h = unsigned ? hi >>> 0 : hi | 0;
  let neg = false;
  if (!unsigned && h < 0) {
    neg = true;
    // negate the 64-bit value
    l = (~l + 1) >>> 0;
    h = (~h + (l === 0 ? 1 : 0)) >>> 0;
  } else h = h >>> 0;
  if (l === 0 && h === 0) return fmt === D ? 0 : 0;
  const hv = h * 4294967296; // exact
  let s = twoSum(hv, l);
  let e = tsErr;
  if (neg) {
    s = -s;
    e = -e;
  }
  const rm = rmodeOf(env);
  if (fmt === D) return roundD(env, s, e, -fbits, rm);
  if (fmt === S) return roundS(env, s, e, -fbits, rm);
  return roundH(env, s, e, -fbits, rm, (env.fpcr & FPCR_FZ16) !== 0, false);
}
