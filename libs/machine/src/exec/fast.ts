/**
 * Specialised handlers for the most frequent encodings. Each row in the table has more fixed
 * bits than its generic row, so it wins the decode; each is small so the block compiler's
 * call sites get inlined. Rows marked ROW_PURE never fault, never raise Undefined and never
 * read s.pc (the block compiler skips the s.pc update before them).
 */
import { type CpuState } from '../state';
import * as M_state from '../state';
import * as M_ldst from './ldst';
// Local bindings: hot code must not go through module-export getters.
const { condHolds } = M_state;
const { regOffsetAddr } = M_ldst;

const TWO32 = 4294967296;

/** ADD Xd|SP, Xn|SP, #imm{, LSL #12} */
export function addXImm(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const ni = n === 31 ? 64 : n << 1;
  const di = d === 31 ? 64 : d << 1;
  const imm = (insn >>> 22) & 1 ? ((insn >>> 10) & 0xfff) << 12 : (insn >>> 10) & 0xfff;
  const l = (x[ni] >>> 0) + imm;
  x[di + 1] = x[ni + 1] + (l >= TWO32 ? 1 : 0);
  x[di] = l | 0;
}
/** SUB Xd|SP, Xn|SP, #imm{, LSL #12} */
export function subXImm(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const ni = n === 31 ? 64 : n << 1;
  const di = d === 31 ? 64 : d << 1;
  const imm = (insn >>> 22) & 1 ? ((insn >>> 10) & 0xfff) << 12 : (insn >>> 10) & 0xfff;
  const l = (x[ni] >>> 0) - imm;
  x[di + 1] = x[ni + 1] - (l < 0 ? 1 : 0);
  x[di] = l | 0;
}
/** SUBS Xd, Xn|SP, #imm (CMP) */
export function subsXImm(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const ni = n === 31 ? 64 : n << 1;
  const imm = (insn >>> 22) & 1 ? ((insn >>> 10) & 0xfff) << 12 : (insn >>> 10) & 0xfff;
  const alo = x[ni] >>> 0;
  const ahi = x[ni + 1];
  const l = alo - imm;
  const borrow = l < 0 ? 1 : 0;
  const rhi = (ahi - borrow) | 0;
  const rlo = l | 0;
  s.nf = rhi >>> 31;
  s.zf = (rlo | rhi) === 0 ? 1 : 0;
  s.cf = ahi !== 0 || borrow === 0 ? 1 : 0;
  s.vf = (ahi & ~rhi) >>> 31;
  if (d !== 31) {
    x[d << 1] = rlo;
    x[(d << 1) | 1] = rhi;
  }
}
/** SUBS Wd, Wn|WSP, #imm (CMP W) */
export function subsWImm(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const a = x[n === 31 ? 64 : n << 1];
  const imm = (insn >>> 22) & 1 ? ((insn >>> 10) & 0xfff) << 12 : (insn >>> 10) & 0xfff;
  const l = (a >>> 0) - imm;
  const r = l | 0;
  s.nf = r >>> 31;
  s.zf = r === 0 ? 1 : 0;
  s.cf = l >= 0 ? 1 : 0;
  s.vf = (a & ~r) >>> 31;
  if (d !== 31) {
    x[d << 1] = r;
    x[(d << 1) | 1] = 0;
  }
}
/** ADD Wd|WSP, Wn|WSP, #imm */
export function addWImm(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const d = insn & 31;
  const imm = (insn >>> 22) & 1 ? ((insn >>> 10) & 0xfff) << 12 : (insn >>> 10) & 0xfff;
  const di = d === 31 ? 64 : d << 1;
  x[di] = (x[n === 31 ? 64 : n << 1] + imm) | 0;
  x[di + 1] = 0;
}
/** ORR Xd, XZR, Xm (MOV) */
export function movX(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d !== 31) {
    const x = s.x;
    const m = ((insn >>> 16) & 31) << 1;
    x[d << 1] = x[m];
    x[(d << 1) | 1] = x[m + 1];
  }
}
/** ORR Wd, WZR, Wm (MOV W) */
export function movW(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d !== 31) {
    const x = s.x;
    x[d << 1] = x[((insn >>> 16) & 31) << 1];
    x[(d << 1) | 1] = 0;
  }
}
/** ADD Xd, Xn, Xm, LSL #amt (amt < 32) */
export function addXLsl(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d === 31) return;
  const x = s.x;
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const amt = (insn >>> 10) & 31;
  const blo = x[m] << amt;
  const bhi = amt === 0 ? x[m + 1] : (x[m + 1] << amt) | (x[m] >>> (32 - amt));
  const l = (x[n] >>> 0) + (blo >>> 0);
  x[(d << 1) | 1] = x[n + 1] + bhi + (l >= TWO32 ? 1 : 0);
  x[d << 1] = l | 0;
}
/** SUBS Xd, Xn, Xm (CMP X, no shift) */
export function subsXReg(s: CpuState, insn: number): void {
  const x = s.x;
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const alo = x[n] >>> 0;
  const ahi = x[n + 1];
  const blo = x[m] >>> 0;
  const bhi = x[m + 1];
  const l = alo - blo;
  const borrow = l < 0 ? 1 : 0;
  const h = (ahi >>> 0) - (bhi >>> 0) - borrow;
  const rhi = h | 0;
  const rlo = l | 0;
  s.nf = rhi >>> 31;
  s.zf = (rlo | rhi) === 0 ? 1 : 0;
  s.cf = h >= 0 ? 1 : 0;
  s.vf = ((ahi ^ bhi) & (ahi ^ rhi)) >>> 31;
  if (d !== 31) {
    x[d << 1] = rlo;
    x[(d << 1) | 1] = rhi;
  }
}
/** SUBS Wd, Wn, Wm (CMP W, no shift) */
export function subsWReg(s: CpuState, insn: number): void {
  const x = s.x;
  const a = x[((insn >>> 5) & 31) << 1];
  const b = x[((insn >>> 16) & 31) << 1];
  const d = insn & 31;
  const l = (a >>> 0) - (b >>> 0);
  const r = l | 0;
  s.nf = r >>> 31;
  s.zf = r === 0 ? 1 : 0;
  s.cf = l >= 0 ? 1 : 0;
  s.vf = ((a ^ b) & (a ^ r)) >>> 31;
  if (d !== 31) {
    x[d << 1] = r;
    x[(d << 1) | 1] = 0;
  }
}
/** MOVZ Xd, #imm, LSL #hw*16 */
export function movzX(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d === 31) return;
  const imm = (insn >>> 5) & 0xffff;
  const hw = (insn >>> 21) & 3;
  s.x[d << 1] = hw === 0 ? imm : hw === 1 ? imm << 16 : 0;
  s.x[(d << 1) | 1] = hw === 2 ? imm : hw === 3 ? imm << 16 : 0;
}
/** MOVZ Wd, #imm, LSL #hw*16 (hw < 2) */
export function movzW(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d === 31) return;
  const imm = (insn >>> 5) & 0xffff;
  s.x[d << 1] = (insn >>> 21) & 1 ? imm << 16 : imm;
  s.x[(d << 1) | 1] = 0;
}
/** CSEL Xd, Xn, Xm, cond */
export function cselX(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d === 31) return;
  const x = s.x;
  const src = condHolds(s, (insn >>> 12) & 15) ? ((insn >>> 5) & 31) << 1 : ((insn >>> 16) & 31) << 1;
  x[d << 1] = x[src];
  x[(d << 1) | 1] = x[src + 1];
}
/** UBFM Xd, Xn, #immr, #imms (LSL/LSR/UBFX 64) */
export function ubfmX(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d === 31) return;
  const x = s.x;
  const n = ((insn >>> 5) & 31) << 1;
  const immr = (insn >>> 16) & 63;
  const imms = (insn >>> 10) & 63;
  let lo = x[n];
  let hi = x[n + 1];
  if (imms >= immr) {
    // UBFX/LSR: (src >> immr) & ones(imms - immr + 1)
    if (immr >= 32) {
      lo = hi >>> (immr - 32);
      hi = 0;
    } else if (immr > 0) {
      lo = (lo >>> immr) | (hi << (32 - immr));
      hi = hi >>> immr;
    }
    const w = imms - immr + 1;
    if (w < 32) {
      lo &= (1 << w) - 1;
      hi = 0;
    } else if (w < 64) hi &= w === 32 ? 0 : (1 << (w - 32)) - 1;
  } else {
    // UBFIZ/LSL: (src & ones(imms+1)) << (64 - immr)
    const w = imms + 1;
    if (w < 32) {
      lo &= (1 << w) - 1;
      hi = 0;
    } else hi &= w === 32 ? 0 : (1 << (w - 32)) - 1;
    const sh = 64 - immr;
    if (sh >= 32) {
      hi = lo << (sh - 32);
      lo = 0;
    } else {
      hi = (hi << sh) | (lo >>> (32 - sh));
      lo = lo << sh;
    }
  }
  x[d << 1] = lo | 0;
  x[(d << 1) | 1] = hi | 0;
}
/** LDP Xt1, Xt2, [Xn|SP{, #imm}] and its pre/post-index forms */
export function ldpX(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const ni = n === 31 ? 64 : n << 1;
  const base = (s.xu[ni + 1] & 0xffffff) * TWO32 + s.xu[ni];
  const imm = ((insn << 10) >> 25) * 8;
  const type = (insn >>> 23) & 3;
  const addr = type === 1 ? base : base + imm;
  const m = s.mem;
  m.probeRead(addr, 16);
  const alo = m.ld64(addr);
  const ahi = m.hi;
  const blo = m.ld64(addr + 8);
  const bhi = m.hi;
  const t = insn & 31;
  const t2 = (insn >>> 10) & 31;
  if (t !== 31) {
    x[t << 1] = alo;
    x[(t << 1) | 1] = ahi;
  }
  if (t2 !== 31) {
    x[t2 << 1] = blo;
    x[(t2 << 1) | 1] = bhi;
  }
  if (type === 1 || type === 3) {
    const nb = base + imm;
    const top = x[ni + 1] & 0xff000000;
    x[ni] = nb | 0;
    x[ni + 1] = (Math.floor(nb / TWO32) & 0xffffff) | top;
  }
}
/** STP Xt1, Xt2, [Xn|SP{, #imm}] and its pre/post-index forms */
export function stpX(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const ni = n === 31 ? 64 : n << 1;
  const base = (s.xu[ni + 1] & 0xffffff) * TWO32 + s.xu[ni];
  const imm = ((insn << 10) >> 25) * 8;
  const type = (insn >>> 23) & 3;
  const addr = type === 1 ? base : base + imm;
  const m = s.mem;
  const t = (insn & 31) << 1;
  const t2 = ((insn >>> 10) & 31) << 1;
  m.probeWrite(addr, 16);
  m.st64(addr, x[t], x[t + 1]);
  m.st64(addr + 8, x[t2], x[t2 + 1]);
  if (type === 1 || type === 3) {
    const nb = base + imm;
    const top = x[ni + 1] & 0xff000000;
    x[ni] = nb | 0;
    x[ni + 1] = (Math.floor(nb / TWO32) & 0xffffff) | top;
  }
}
/** LDR Xt/Wt/Ht/Bt, [Xn|SP, (W|X)m{, extend #size}] (zero-extending) */
export function ldrReg(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const size = insn >>> 30;
  const addr = regOffsetAddr(s, n, insn, (insn >>> 12) & 1 ? size : 0);
  const m = s.mem;
  const t = insn & 31;
  if (size === 3) {
    const lo = m.ld64(addr);
    if (t !== 31) {
      x[t << 1] = lo;
      x[(t << 1) | 1] = m.hi;
    }
  } else {
    const v = size === 2 ? m.ld32(addr) : size === 1 ? m.ld16(addr) : m.ld8(addr);
    if (t !== 31) {
      x[t << 1] = v;
      x[(t << 1) | 1] = 0;
    }
  }
}
/** STR Xt/Wt/Ht/Bt, [Xn|SP, (W|X)m{, extend #size}] */
export function strReg(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const size = insn >>> 30;
  const addr = regOffsetAddr(s, n, insn, (insn >>> 12) & 1 ? size : 0);
  const t = (insn & 31) << 1;
  const m = s.mem;
  if (size === 3) m.st64(addr, x[t], x[t + 1]);
  else if (size === 2) m.st32(addr, x[t]);
  else if (size === 1) m.st16(addr, x[t]);
  else m.st8(addr, x[t]);
}
/** STRB Wt, [Xn|SP, #uimm] */
export function strB(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const addr = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff);
  s.mem.st8(addr, s.x[(insn & 31) << 1]);
}

/** AND/ORR/EOR Xd, Xn, Xm{, shift #amt} (no invert, no flags) */
export function logicX(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d === 31) return;
  const x = s.x;
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const amt = (insn >>> 10) & 63;
  const type = (insn >>> 22) & 3;
  let lo = x[m];
  let hi = x[m + 1];
  if (amt !== 0) {
    if (amt < 32) {
      const r = 32 - amt;
      if (type === 0) {
        hi = (hi << amt) | (lo >>> r);
        lo = lo << amt;
      } else if (type === 1) {
        lo = (lo >>> amt) | (hi << r);
        hi = hi >>> amt;
      } else if (type === 2) {
        lo = (lo >>> amt) | (hi << r);
        hi = hi >> amt;
      } else {
        const l = (lo >>> amt) | (hi << r);
        hi = (hi >>> amt) | (lo << r);
        lo = l;
      }
    } else {
      const a = amt - 32;
      if (type === 0) {
        hi = lo << a;
        lo = 0;
      } else if (type === 1) {
        lo = hi >>> a;
        hi = 0;
      } else if (type === 2) {
        lo = hi >> a;
        hi = hi >> 31;
      } else if (a === 0) {
        const l = hi;
        hi = lo;
        lo = l;
      } else {
        const r = 32 - a;
        const l = (hi >>> a) | (lo << r);
        hi = (lo >>> a) | (hi << r);
        lo = l;
      }
    }
  }
  const opc = (insn >>> 29) & 3;
  if (opc === 0) {
    lo &= x[n];
    hi &= x[n + 1];
  } else if (opc === 1) {
    lo |= x[n];
    hi |= x[n + 1];
  } else {
    lo ^= x[n];
    hi ^= x[n + 1];
  }
  x[d << 1] = lo | 0;
  x[(d << 1) | 1] = hi | 0;
}

/** AND/ORR/EOR Wd, Wn, Wm{, shift #amt} (amt < 32, no invert, no flags) */
export function logicW(s: CpuState, insn: number): void {
  const d = insn & 31;
  if (d === 31) return;
  const x = s.x;
  const amt = (insn >>> 10) & 31;
  const type = (insn >>> 22) & 3;
  let b = x[((insn >>> 16) & 31) << 1];
  if (amt !== 0) {
    if (type === 0) b <<= amt;
    else if (type === 1) b >>>= amt;
    else if (type === 2) b >>= amt;
    else b = (b >>> amt) | (b << (32 - amt));
  }
  const a = x[((insn >>> 5) & 31) << 1];
  const opc = (insn >>> 29) & 3;
  x[d << 1] = opc === 0 ? a & b : opc === 1 ? a | b : a ^ b;
  x[(d << 1) | 1] = 0;
}

/** STR/LDR (zero-extending) Bt/Ht/Wt/Xt with imm9: unscaled, post-index, unprivileged, pre-index */
export function ldstImm9Int(s: CpuState, insn: number): void {
  const x = s.x;
  const n = (insn >>> 5) & 31;
  const ni = n === 31 ? 64 : n << 1;
  const base = (s.xu[ni + 1] & 0xffffff) * TWO32 + s.xu[ni];
  const imm = (insn << 11) >> 23;
  const type = (insn >>> 10) & 3;
  const addr = type === 1 ? base : base + imm;
  const size = insn >>> 30;
  const t = insn & 31;
  const m = s.mem;
  if ((insn >>> 22) & 1) {
    let lo: number;
    let hi = 0;
    if (size === 3) {
      lo = m.ld64(addr);
      hi = m.hi;
    } else lo = size === 2 ? m.ld32(addr) : size === 1 ? m.ld16(addr) : m.ld8(addr);
    if (t !== 31) {
      x[t << 1] = lo;
      x[(t << 1) | 1] = hi;
    }
  } else {
    const v = x[t << 1];
    if (size === 3) m.st64(addr, v, x[(t << 1) | 1]);
    else if (size === 2) m.st32(addr, v);
    else if (size === 1) m.st16(addr, v);
    else m.st8(addr, v);
  }
  if (type === 1 || type === 3) {
    const nb = base + imm;
    const top = x[ni + 1] & 0xff000000;
    x[ni] = nb | 0;
    x[ni + 1] = (Math.floor(nb / TWO32) & 0xffffff) | top;
  }
}
