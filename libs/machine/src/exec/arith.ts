/**
 * 64-bit integer arithmetic on 32-bit halves. Results of two-half helpers go to s.rlo/s.rhi
 * (signed int32 halves). No BigInt, no allocation.
 */
import type { CpuState } from '../state';

const TWO32 = 4294967296;

/** a + b + cin (64-bit); sets NZCV when setf. */
export function adc64(
  s: CpuState,
  alo: number,
  ahi: number,
  blo: number,
  bhi: number,
  cin: number,
  setf: boolean,
): void {
  const l = (alo >>> 0) + (blo >>> 0) + cin;
  const h = (ahi >>> 0) + (bhi >>> 0) + (l >= TWO32 ? 1 : 0);
  const rlo = l | 0;
  const rhi = h | 0;
  s.rlo = rlo;
  s.rhi = rhi;
  if (setf) {
    s.nf = rhi >>> 31;
    s.zf = (rlo | rhi) === 0 ? 1 : 0;
    s.cf = h >= TWO32 ? 1 : 0;
    s.vf = ((ahi ^ rhi) & (bhi ^ rhi)) >>> 31;
  }
}

/** a + b + cin (32-bit), returns the result; sets NZCV when setf. */
export function adc32(s: CpuState, a: number, b: number, cin: number, setf: boolean): number {
  const l = (a >>> 0) + (b >>> 0) + cin;
  const r = l | 0;
  if (setf) {
    s.nf = r >>> 31;
    s.zf = r === 0 ? 1 : 0;
    s.cf = l >= TWO32 ? 1 : 0;
    s.vf = ((a ^ r) & (b ^ r)) >>> 31;
  }
  return r;
}

/** Shift a 64-bit value: type 0 LSL, 1 LSR, 2 ASR, 3 ROR; amt taken mod 64. */
export function shift64(s: CpuState, lo: number, hi: number, type: number, amt: number): void {
  amt &= 63;
  if (amt === 0) {
    s.rlo = lo;
    s.rhi = hi;
    return;
  }
  switch (type) {
    case 0:
      if (amt < 32) {
        s.rhi = (hi << amt) | (lo >>> (32 - amt));
        s.rlo = lo << amt;
      } else {
        s.rhi = lo << (amt - 32);
        s.rlo = 0;
      }
      return;
    case 1:
      if (amt < 32) {
        s.rlo = (lo >>> amt) | (hi << (32 - amt));
        s.rhi = (hi >>> amt) | 0;
      } else {
        s.rlo = (hi >>> (amt - 32)) | 0;
        s.rhi = 0;
      }
      return;
    case 2:
      if (amt < 32) {
        s.rlo = (lo >>> amt) | (hi << (32 - amt));
        s.rhi = hi >> amt;
      } else {
        s.rlo = hi >> (amt - 32);
        s.rhi = hi >> 31;
      }
      return;
    default: {
      if (amt < 32) {
        s.rlo = (lo >>> amt) | (hi << (32 - amt));
        s.rhi = (hi >>> amt) | (lo << (32 - amt));
      } else if (amt === 32) {
        s.rlo = hi;
        s.rhi = lo;
      } else {
        const a = amt - 32;
        s.rlo = (hi >>> a) | (lo << (32 - a));
        s.rhi = (lo >>> a) | (hi << (32 - a));
      }
    }
  }
}

/** Shift a 32-bit value (amt mod 32); returns int32. */
export function shift32(v: number, type: number, amt: number): number {
  amt &= 31;
  if (amt === 0) return v | 0;
  switch (type) {
    case 0:
      return v << amt;
    case 1:
      return (v >>> amt) | 0;
    case 2:
      return v >> amt;
    default:
      return (v >>> amt) | (v << (32 - amt));
  }
}

/** High 32 bits of the unsigned product of two uint32. */
export function umulhi32(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const mid = ah * bl + al * bh + ((al * bl) >>> 16);
  return (ah * bh + Math.floor(mid / 65536)) | 0;
}

/** Low 64 bits of a 64x64 product. */
export function mul64(s: CpuState, alo: number, ahi: number, blo: number, bhi: number): void {
  s.rlo = Math.imul(alo, blo);
  s.rhi = (umulhi32(alo, blo) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

/** High 64 bits of the unsigned 128-bit product. */
export function umulh64(s: CpuState, alo: number, ahi: number, blo: number, bhi: number): void {
  const p00h = umulhi32(alo, blo) >>> 0;
  const p01l = Math.imul(alo, bhi) >>> 0;
  const p01h = umulhi32(alo, bhi) >>> 0;
  const p10l = Math.imul(ahi, blo) >>> 0;
  const p10h = umulhi32(ahi, blo) >>> 0;
  const p11l = Math.imul(ahi, bhi) >>> 0;
  const p11h = umulhi32(ahi, bhi) >>> 0;
  const r1 = p00h + p01l + p10l;
  const r2 = p01h + p10h + p11l + Math.floor(r1 / TWO32);
  const r3 = p11h + Math.floor(r2 / TWO32);
  s.rlo = r2 | 0;
  s.rhi = r3 | 0;
}

/** High 64 bits of the signed 128-bit product. */
export function smulh64(s: CpuState, alo: number, ahi: number, blo: number, bhi: number): void {
  umulh64(s, alo, ahi, blo, bhi);
  let lo = s.rlo;
  let hi = s.rhi;
  if (ahi < 0) {
    const l = (lo >>> 0) - (blo >>> 0);
    hi = (hi - bhi - (l < 0 ? 1 : 0)) | 0;
    lo = l | 0;
  }
  if (bhi < 0) {
    const l = (lo >>> 0) - (alo >>> 0);
    hi = (hi - ahi - (l < 0 ? 1 : 0)) | 0;
    lo = l | 0;
  }
  s.rlo = lo;
  s.rhi = hi;
}

/** Unsigned 64-bit division (quotient in rlo/rhi); divisor zero gives zero. */
export function udiv64(s: CpuState, alo: number, ahi: number, blo: number, bhi: number): void {
  const a1 = ahi >>> 0;
  const b1 = bhi >>> 0;
  const a0 = alo >>> 0;
  const b0 = blo >>> 0;
  if (b1 === 0 && b0 === 0) {
    s.rlo = 0;
    s.rhi = 0;
    return;
  }
  if (a1 < 0x200000 && b1 < 0x200000) {
    const q = Math.floor((a1 * TWO32 + a0) / (b1 * TWO32 + b0));
    s.rlo = q | 0;
    s.rhi = Math.floor(q / TWO32) | 0;
    return;
  }
  // Shift-subtract long division on halves.
  let qlo = 0;
  let qhi = 0;
  let rlo = 0;
  let rhi = 0;
  for (let i = 63; i >= 0; i--) {
    rhi = ((rhi << 1) | (rlo >>> 31)) >>> 0;
    const bit = i >= 32 ? (a1 >>> (i - 32)) & 1 : (a0 >>> i) & 1;
    rlo = ((rlo << 1) | bit) >>> 0;
    if (rhi > b1 || (rhi === b1 && rlo >= b0)) {
      const l = rlo - b0;
      rhi = rhi - b1 - (l < 0 ? 1 : 0);
      rlo = l < 0 ? l + TWO32 : l;
      if (i >= 32) qhi |= 1 << (i - 32);
      else qlo |= 1 << i;
    }
  }
  s.rlo = qlo | 0;
  s.rhi = qhi | 0;
}

/** Signed 64-bit division (truncating); INT64_MIN / -1 gives INT64_MIN, /0 gives 0. */
export function sdiv64(s: CpuState, alo: number, ahi: number, blo: number, bhi: number): void {
  const neg = (ahi ^ bhi) < 0;
  let al = alo;
  let ah = ahi;
  let bl = blo;
  let bh = bhi;
  if (ah < 0) {
    al = -alo | 0;
    ah = (~ahi + (al === 0 ? 1 : 0)) | 0;
  }
  if (bh < 0) {
    bl = -blo | 0;
    bh = (~bhi + (bl === 0 ? 1 : 0)) | 0;
  }
  udiv64(s, al, ah, bl, bh);
  if (neg) {
    const l = -s.rlo | 0;
    s.rhi = (~s.rhi + (l === 0 ? 1 : 0)) | 0;
    s.rlo = l;
  }
}

export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

export function rbit32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return (v >>> 16) | (v << 16);
}

export function bswap32(v: number): number {
  return (v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24) | 0;
}

export function rev16(v: number): number {
  return ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8) | 0;
}

// DecodeBitMasks cache for logical immediates: index N:immr:imms (13 bits).
const BM_LO = new Int32Array(8192);
const BM_HI = new Int32Array(8192);
const BM_STATE = new Uint8Array(8192); // 0 unknown, 1 valid, 2 reserved

function computeBitMask(key: number): void {
  const n = (key >>> 12) & 1;
  const immr = (key >>> 6) & 63;
  const imms = key & 63;
  const combined = (n << 6) | (~imms & 63);
  if (combined === 0) {
    BM_STATE[key] = 2;
    return;
  }
  const len = 31 - Math.clz32(combined);
  if (len < 1) {
    BM_STATE[key] = 2;
    return;
  }
  const esize = 1 << len;
  const levels = esize - 1;
  const S = imms & levels;
  const R = immr & levels;
  if (S === levels) {
    BM_STATE[key] = 2;
    return;
  }
  let lo: number;
  let hi: number;
  if (esize === 64) {
    // ones(S+1) rotated right by R within 64 bits
    const wlo = S + 1 >= 32 ? -1 : (1 << (S + 1)) - 1;
    const whi = S + 1 > 32 ? (S + 1 === 64 ? -1 : (1 << (S + 1 - 32)) - 1) : 0;
    const t = { rlo: 0, rhi: 0 } as CpuState;
    shift64(t, wlo, whi, 3, R);
    lo = t.rlo;
    hi = t.rhi;
  } else {
    const emask = esize === 32 ? -1 : (1 << esize) - 1;
    const ones = (1 << (S + 1)) - 1; // S+1 < esize <= 32
    let e = R === 0 ? ones : ((ones >>> R) | (ones << (esize - R))) & emask;
    for (let w = esize; w < 32; w *= 2) e |= e << w;
    lo = e | 0;
    hi = lo;
  }
  BM_LO[key] = lo;
  BM_HI[key] = hi;
  BM_STATE[key] = 1;
}

/** Logical-immediate mask for N:immr:imms into s.rlo/s.rhi; returns false when reserved. */
export function bitMask(s: CpuState, key: number): boolean {
  let st = BM_STATE[key];
  if (st === 0) {
    computeBitMask(key);
    st = BM_STATE[key];
  }
  s.rlo = BM_LO[key];
  s.rhi = BM_HI[key];
  return st === 1;
}

// CRC32 tables (reflected polynomials).
function crcTable(poly: number): Int32Array {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  return t;
}
export const CRC32_TABLE = crcTable(0xedb88320);
export const CRC32C_TABLE = crcTable(0x82f63b78);

export function crcBytes(table: Int32Array, crc: number, v: number, nbytes: number): number {
  for (let i = 0; i < nbytes; i++) {
    crc = table[(crc ^ v) & 0xff] ^ (crc >>> 8);
    v >>>= 8;
  }
  return crc | 0;
}
