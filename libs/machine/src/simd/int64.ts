/**
 * 64-bit lane arithmetic on 32-bit halves (no BigInt). Results go to `L.lo`/`L.hi`
 * (int32 values). Halves are passed as int32 or uint32; they are normalised here.
 */
export const L = { lo: 0, hi: 0 };

const TWO32 = 4294967296;

export function add64(alo: number, ahi: number, blo: number, bhi: number): void {
  const lo = (alo >>> 0) + (blo >>> 0);
  L.lo = lo | 0;
  L.hi = (ahi + bhi + (lo >= TWO32 ? 1 : 0)) | 0;
}

export function sub64(alo: number, ahi: number, blo: number, bhi: number): void {
  const lo = (alo >>> 0) - (blo >>> 0);
  L.lo = lo | 0;
  L.hi = (ahi - bhi - (lo < 0 ? 1 : 0)) | 0;
}

export function neg64(alo: number, ahi: number): void {
  sub64(0, 0, alo, ahi);
}

/** Unsigned compare: -1, 0, 1. */
export function cmpU64(alo: number, ahi: number, blo: number, bhi: number): number {
  const ah = ahi >>> 0;
  const bh = bhi >>> 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = alo >>> 0;
  const bl = blo >>> 0;
  return al === bl ? 0 : al < bl ? -1 : 1;
}

/** Signed compare: -1, 0, 1. */
export function cmpS64(alo: number, ahi: number, blo: number, bhi: number): number {
  const ah = ahi | 0;
  const bh = bhi | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = alo >>> 0;
  const bl = blo >>> 0;
  return al === bl ? 0 : al < bl ? -1 : 1;
}

/** Logical shift left by 0..63. */
export function shl64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    L.lo = lo | 0;
    L.hi = hi | 0;
  } else if (n < 32) {
    L.hi = (hi << n) | (lo >>> (32 - n));
    L.lo = lo << n;
  } else if (n < 64) {
    L.hi = lo << (n - 32);
    L.lo = 0;
  } else {
    L.lo = 0;
    L.hi = 0;
  }
}

/** Logical shift right by 0..64+. */
export function lsr64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    L.lo = lo | 0;
    L.hi = hi | 0;
  } else if (n < 32) {
    L.lo = (lo >>> n) | (hi << (32 - n));
    L.hi = hi >>> n;
  } else if (n < 64) {
    L.lo = hi >>> (n - 32);
    L.hi = 0;
  } else {
    L.lo = 0;
    L.hi = 0;
  }
}

/** Arithmetic shift right by 0..64+ (n ≥ 64 behaves as 63). */
export function asr64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    L.lo = lo | 0;
    L.hi = hi | 0;
  } else if (n < 32) {
    L.lo = (lo >>> n) | (hi << (32 - n));
    L.hi = hi >> n;
  } else if (n < 64) {
    L.lo = hi >> (n - 32);
    L.hi = hi >> 31;
  } else {
    L.lo = hi >> 31;
    L.hi = hi >> 31;
  }
}

/** Bit (n) of a 64-bit value (n in 0..63). */
export function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

/** 64×64 → low 64 multiply. */
export function mul64(alo: number, ahi: number, blo: number, bhi: number): void {
  const a0 = alo & 0xffff;
  const a1 = alo >>> 16;
  const b0 = blo & 0xffff;
  const b1 = blo >>> 16;
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1; // < 2^33
  const low = p00 + (mid % 65536) * 65536; // < 2^49
  const carry = Math.floor(low / TWO32) + Math.floor(mid / 65536) + a1 * b1;
  L.lo = low | 0;
  L.hi = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

/** Unsigned 32×32 → 64 multiply. */
export function mulU32(a: number, b: number): void {
  mul64(a, 0, b, 0);
}

/** Signed 32×32 → 64 multiply. */
export function mulS32(a: number, b: number): void {
  mul64(a, a >> 31, b, b >> 31);
}
