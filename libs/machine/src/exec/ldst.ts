/** Integer and SIMD&FP register loads and stores (single, pair, literal, register offset). */
import { type CpuState } from '../state';
import * as M_state from '../state';
import * as M_memory from '../memory';
// Local bindings: hot code must not go through module-export getters.
const { setW, setX, undefinedInsn } = M_state;
const { alignmentFault } = M_memory;

const TWO32 = 4294967296;

/** Base register (SP semantics) as an address; the top byte is ignored (Linux TBI0). */
export function baseAddr(s: CpuState, n: number): number {
  const i = n === 31 ? 64 : n << 1;
  return (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i];
}
/** Writes a new base address back to Xn/SP. */
export function writeBack(s: CpuState, n: number, addr: number): void {
  const i = n === 31 ? 64 : n << 1;
  // Re-insert the ignored top byte of the old base.
  const top = s.x[i + 1] & 0xff000000;
  let a = addr;
  if (a < 0) a += 2 ** 56;
  s.x[i] = a | 0;
  s.x[i + 1] = (Math.floor(a / TWO32) & 0xffffff) | top;
}

/** Loads one 8/16/32/64/128-bit SIMD&FP register from memory (zeroing the rest of V[t]). */
export function loadV(s: CpuState, t: number, addr: number, size: number): void {
  const m = s.mem;
  const w = s.vw;
  const i = t << 2;
  switch (size) {
    case 0: {
      const v = m.ld8(addr);
      w[i] = v;
      break;
    }
    case 1: {
      const v = m.ld16(addr);
      w[i] = v;
      break;
    }
    case 2: {
      const v = m.ld32(addr);
      w[i] = v;
      break;
    }
    case 3: {
      const lo = m.ld64(addr);
      w[i] = lo;
      w[i + 1] = m.hi;
      w[i + 2] = 0;
      w[i + 3] = 0;
      return;
    }
    default: {
      m.probeRead(addr, 16);
      const a = m.ld64(addr);
      const b = m.hi;
      const c = m.ld64(addr + 8);
      w[i] = a;
      w[i + 1] = b;
      w[i + 2] = c;
      w[i + 3] = m.hi;
      return;
    }
  }
  w[i + 1] = 0;
  w[i + 2] = 0;
  w[i + 3] = 0;
}

export function storeV(s: CpuState, t: number, addr: number, size: number): void {
  const m = s.mem;
  const w = s.vi;
  const i = t << 2;
  switch (size) {
    case 0:
      return m.st8(addr, w[i]);
    case 1:
      return m.st16(addr, w[i]);
    case 2:
      return m.st32(addr, w[i]);
    case 3:
      return m.st64(addr, w[i], w[i + 1]);
    default:
      m.probeWrite(addr, 16);
      m.st64(addr, w[i], w[i + 1]);
      m.st64(addr + 8, w[i + 2], w[i + 3]);
  }
}

/**
 * The memory part of a single-register load/store: `size` (0..3), `opc` and `vec` as in the
 * encoding. For vector registers, size 4 means Q. Returns nothing; faults throw.
 */
function access(s: CpuState, vec: number, size: number, opc: number, t: number, addr: number): void {
  const m = s.mem;
  if (vec) {
    let sz = size;
    if (opc & 2) {
      if (size !== 0) undefinedInsn();
      sz = 4;
    }
    if (opc & 1) loadV(s, t, addr, sz);
    else storeV(s, t, addr, sz);
    return;
  }
  const x = s.x;
  const ti = t << 1;
  switch (opc) {
    case 0:
      switch (size) {
        case 0:
          return m.st8(addr, x[ti]);
        case 1:
          return m.st16(addr, x[ti]);
        case 2:
          return m.st32(addr, x[ti]);
        default:
          return m.st64(addr, x[ti], x[ti + 1]);
      }
    case 1:
      switch (size) {
        case 0:
          return setW(s, t, m.ld8(addr));
        case 1:
          return setW(s, t, m.ld16(addr));
        case 2:
          return setW(s, t, m.ld32(addr));
        default: {
          const lo = m.ld64(addr);
          return setX(s, t, lo, m.hi);
        }
      }
    case 2: {
      let v: number;
      if (size === 0) v = (m.ld8(addr) << 24) >> 24;
      else if (size === 1) v = (m.ld16(addr) << 16) >> 16;
      else if (size === 2) v = m.ld32(addr);
      else return; // PRFM
      return setX(s, t, v, v >> 31);
    }
    default: {
      if (size === 0) return setW(s, t, (m.ld8(addr) << 24) >> 24);
      if (size === 1) return setW(s, t, (m.ld16(addr) << 16) >> 16);
      undefinedInsn();
    }
  }
}

function accessSize(vec: number, size: number, opc: number): number {
  return vec && opc & 2 ? 4 : size;
}

/** LDR/STR (immediate, unsigned offset), all sizes, integer and SIMD&FP. */
export function ldstUimm(s: CpuState, insn: number): void {
  const size = insn >>> 30;
  const vec = (insn >>> 26) & 1;
  const opc = (insn >>> 22) & 3;
  const scale = accessSize(vec, size, opc);
  const addr = baseAddr(s, (insn >>> 5) & 31) + ((insn >>> 10) & 0xfff) * (1 << scale);
  access(s, vec, size, opc, insn & 31, addr);
}

/** LDUR/STUR, LDTR/STTR, and pre/post-indexed LDR/STR (imm9). */
export function ldstImm9(s: CpuState, insn: number): void {
  const size = insn >>> 30;
  const vec = (insn >>> 26) & 1;
  const opc = (insn >>> 22) & 3;
  const type = (insn >>> 10) & 3;
  const n = (insn >>> 5) & 31;
  const t = insn & 31;
  const imm = (insn << 11) >> 23;
  const base = baseAddr(s, n);
  if (type === 0 || type === 2) {
    if (type === 2 && (vec || (size === 3 && opc === 2))) undefinedInsn(); // no LDTR SIMD, no PRFM form
    access(s, vec, size, opc, t, base + imm);
    return;
  }
  if (!vec && size === 3 && opc === 2) undefinedInsn(); // no writeback PRFM
  const addr = type === 3 ? base + imm : base;
  access(s, vec, size, opc, t, addr);
  writeBack(s, n, base + imm);
}

/**
 * Xn|SP + (extended Xm/Wm << shift) as a data address: the sum is taken modulo 2^64 on
 * 32-bit halves (a large register offset must wrap, not overflow a double), then the top
 * byte is ignored (Linux TBI0). `option` is the extend field (2 UXTW, 3 LSL, 6 SXTW, 7 SXTX).
 */
export function regOffsetAddr(s: CpuState, n: number, insn: number, shift: number): number {
  const bi = n === 31 ? 64 : n << 1;
  const mi = ((insn >>> 16) & 31) << 1;
  const option = (insn >>> 13) & 7;
  let olo = s.xu[mi];
  let ohi = option === 2 ? 0 : option === 6 ? s.x[mi] >> 31 : s.x[mi + 1];
  if (shift !== 0) {
    ohi = (ohi << shift) | (olo >>> (32 - shift));
    olo = (olo << shift) >>> 0;
  }
  const lo = s.xu[bi] + olo;
  const hi = (s.x[bi + 1] + ohi + (lo >= TWO32 ? 1 : 0)) & 0xffffff;
  return hi * TWO32 + (lo >>> 0);
}

/** LDR/STR (register offset) with extend/shift. */
export function ldstReg(s: CpuState, insn: number): void {
  const size = insn >>> 30;
  const vec = (insn >>> 26) & 1;
  const opc = (insn >>> 22) & 3;
  const option = (insn >>> 13) & 7;
  if ((option & 2) === 0) undefinedInsn();
  const shift = (insn >>> 12) & 1 ? accessSize(vec, size, opc) : 0;
  const addr = regOffsetAddr(s, (insn >>> 5) & 31, insn, shift);
  access(s, vec, size, opc, insn & 31, addr);
}

/** LDR (literal), LDRSW (literal), PRFM (literal), and SIMD&FP LDR (literal). */
export function ldrLiteral(s: CpuState, insn: number): void {
  const opc = insn >>> 30;
  const vec = (insn >>> 26) & 1;
  const addr = s.pc + ((insn << 8) >> 13) * 4;
  const t = insn & 31;
  if (vec) {
    if (opc === 3) undefinedInsn();
    loadV(s, t, addr, opc + 2);
    return;
  }
  switch (opc) {
    case 0:
      return setW(s, t, s.mem.ld32(addr));
    case 1: {
      const lo = s.mem.ld64(addr);
      return setX(s, t, lo, s.mem.hi);
    }
    case 2: {
      const v = s.mem.ld32(addr);
      return setX(s, t, v, v >> 31);
    }
  }
}

/** LDP/STP/LDNP/STNP/LDPSW, integer and SIMD&FP, offset/pre/post-index. */
export function ldstPair(s: CpuState, insn: number): void {
  const opc = insn >>> 30;
  const vec = (insn >>> 26) & 1;
  const type = (insn >>> 23) & 3;
  const load = (insn >>> 22) & 1;
  const n = (insn >>> 5) & 31;
  const t = insn & 31;
  const t2 = (insn >>> 10) & 31;
  if (opc === 3) undefinedInsn();
  let scale: number;
  if (vec) scale = 2 + opc;
  else {
    if (opc === 1 && !load && type !== 0) return stgp(s, insn, type, n, t, t2);
    if (opc === 1 && (!load || type === 0)) undefinedInsn();
    scale = opc === 2 ? 3 : 2;
  }
  const imm = ((insn << 10) >> 25) * (1 << scale);
  const base = baseAddr(s, n);
  const addr = type === 1 ? base : base + imm;
  const bytes = 1 << scale;
  const m = s.mem;
  if (vec) {
    if (load) {
      m.probeRead(addr, bytes * 2);
      loadV(s, t, addr, scale);
      loadV(s, t2, addr + bytes, scale);
    } else {
      m.probeWrite(addr, bytes * 2);
      storeV(s, t, addr, scale);
      storeV(s, t2, addr + bytes, scale);
    }
  } else {
    const x = s.x;
    if (load) {
      if (scale === 3) {
        m.probeRead(addr, 16);
        const alo = m.ld64(addr);
        const ahi = m.hi;
        const blo = m.ld64(addr + 8);
        const bhi = m.hi;
        setX(s, t, alo, ahi);
        setX(s, t2, blo, bhi);
      } else {
        m.probeRead(addr, 8);
        const a = m.ld32(addr);
        const b2 = m.ld32(addr + 4);
        if (opc === 1) {
          setX(s, t, a, a >> 31);
          setX(s, t2, b2, b2 >> 31);
        } else {
          setW(s, t, a);
          setW(s, t2, b2);
        }
      }
    } else {
      const ti = t << 1;
      const t2i = t2 << 1;
      if (scale === 3) {
        m.probeWrite(addr, 16);
        m.st64(addr, x[ti], x[ti + 1]);
        m.st64(addr + 8, x[t2i], x[t2i + 1]);
      } else {
        m.probeWrite(addr, 8);
        m.st32(addr, x[ti]);
        m.st32(addr + 4, x[t2i]);
      }
    }
  }
  if (type === 1 || type === 3) writeBack(s, n, base + imm);
}

// ---- specialised hot forms (more fixed bits than the generic rows, so they win) --------------

/** LDR Xt, [Xn|SP, #uimm] */
export function ldrX(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const addr = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff) * 8;
  const m = s.mem;
  const lo = m.ld64(addr);
  const t = insn & 31;
  if (t !== 31) {
    s.x[t << 1] = lo;
    s.x[(t << 1) | 1] = m.hi;
  }
}
/** STR Xt, [Xn|SP, #uimm] */
export function strX(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const addr = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff) * 8;
  const t = (insn & 31) << 1;
  s.mem.st64(addr, s.x[t], s.x[t + 1]);
}
/** LDR Wt, [Xn|SP, #uimm] */
export function ldrW(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const addr = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff) * 4;
  const v = s.mem.ld32(addr);
  const t = insn & 31;
  if (t !== 31) {
    s.x[t << 1] = v;
    s.x[(t << 1) | 1] = 0;
  }
}
/** STR Wt, [Xn|SP, #uimm] */
export function strW(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const addr = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff) * 4;
  s.mem.st32(addr, s.x[(insn & 31) << 1]);
}
/** LDRB Wt, [Xn|SP, #uimm] */
export function ldrB(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const addr = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff);
  const v = s.mem.ld8(addr);
  const t = insn & 31;
  if (t !== 31) {
    s.x[t << 1] = v;
    s.x[(t << 1) | 1] = 0;
  }
}

/**
 * STGP (MTE): stores the pair like STP with a 16-byte-scaled offset; allocation tags are not
 * modelled (MTE is not advertised; qemu, the reference, executes it this way with tag checks off).
 */
function stgp(s: CpuState, insn: number, type: number, n: number, t: number, t2: number): void {
  const base = baseAddr(s, n);
  const imm = ((insn << 10) >> 25) * 16;
  const addr = type === 1 ? base : base + imm;
  const m = s.mem;
  if (addr % 16 !== 0) alignmentFault(m, addr, 'write');
  m.probeWrite(addr, 16);
  m.st64(addr, s.x[t << 1], s.x[(t << 1) | 1]);
  m.st64(addr + 8, s.x[t2 << 1], s.x[(t2 << 1) | 1]);
  if (type !== 2) writeBack(s, n, base + imm);
}
