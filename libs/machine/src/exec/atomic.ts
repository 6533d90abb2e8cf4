/** Exclusives, load-acquire/store-release, compare-and-swap and LSE atomic memory operations. */
import * as M_memory from '../memory';
import { type CpuState } from '../state';
import * as M_state from '../state';
import * as M_arith from './arith';
import * as M_ldst from './ldst';
// Local bindings: hot code must not go through module-export getters.
const { alignmentFault } = M_memory;
const { setW, setX, undefinedInsn } = M_state;
const { adc32, adc64 } = M_arith;
const { baseAddr } = M_ldst;

/** Loads 1<<size bytes; low half returned, high half (size 3) in s.rhi. */
function ldN(s: CpuState, size: number, addr: number): number {
  const m = s.mem;
  switch (size) {
    case 0:
      s.rhi = 0;
      return m.ld8(addr);
    case 1:
      s.rhi = 0;
      return m.ld16(addr);
    case 2:
      s.rhi = 0;
      return m.ld32(addr);
    default: {
      const lo = m.ld64(addr);
      s.rhi = m.hi;
      return lo;
    }
  }
}
function stN(s: CpuState, size: number, addr: number, lo: number, hi: number): void {
  const m = s.mem;
  switch (size) {
    case 0:
      return m.st8(addr, lo);
    case 1:
      return m.st16(addr, lo);
    case 2:
      return m.st32(addr, lo);
    default:
      return m.st64(addr, lo, hi);
  }
}
function setReg(s: CpuState, size: number, t: number, lo: number, hi: number): void {
  if (size === 3) setX(s, t, lo, hi);
  else setW(s, t, lo);
}
function checkAlign(s: CpuState, addr: number, bytes: number, write: boolean): void {
  if (addr % bytes !== 0) alignmentFault(s.mem, addr, write ? 'write' : 'read');
}

/** LDXR/LDAXR/STXR/STLXR, LDXP/STXP, LDAR/STLR/LDLAR/STLLR, CAS*, CASP*. */
export function exclusive(s: CpuState, insn: number): void {
  const size = insn >>> 30;
  const o2 = (insn >>> 23) & 1;
  const load = (insn >>> 22) & 1;
  const o1 = (insn >>> 21) & 1;
  const rs = (insn >>> 16) & 31;
  const t2 = (insn >>> 10) & 31;
  const t = insn & 31;
  const addr = baseAddr(s, (insn >>> 5) & 31);
  const m = s.mem;
  const x = s.x;
  if (o2 === 0 && o1 === 0) {
    const bytes = 1 << size;
    if (load) {
      checkAlign(s, addr, bytes, false);
      const lo = ldN(s, size, addr);
      setReg(s, size, t, lo, s.rhi);
      m.monitorAddr = addr;
    } else {
      // Like qemu: a store-exclusive without a matching reservation fails without touching
      // memory (so no alignment check); a matching one was aligned by its load-exclusive.
      if (m.monitorAddr === addr) {
        checkAlign(s, addr, bytes, true);
        m.probeWrite(addr, bytes);
        m.monitorAddr = -1;
        stN(s, size, addr, x[t << 1], x[(t << 1) | 1]);
        setW(s, rs, 0);
      } else {
        m.monitorAddr = -1;
        setW(s, rs, 1);
      }
    }
    return;
  }
  if (o2 === 0 && o1 === 1) {
    if (size < 2) return casp(s, insn, addr);
    const esize = size; // 2 -> 32-bit elements, 3 -> 64-bit
    const bytes = 2 << esize;
    if (load) {
      checkAlign(s, addr, bytes, false);
      if (esize === 2) {
        const a = m.ld32(addr);
        const b = m.ld32(addr + 4);
        setW(s, t, a);
        setW(s, t2, b);
      } else {
        m.probeRead(addr, 16);
        const alo = m.ld64(addr);
        const ahi = m.hi;
        const blo = m.ld64(addr + 8);
        const bhi = m.hi;
        setX(s, t, alo, ahi);
        setX(s, t2, blo, bhi);
      }
      m.monitorAddr = addr;
    } else {
      if (m.monitorAddr === addr) {
        checkAlign(s, addr, bytes, true);
        m.probeWrite(addr, bytes);
        m.monitorAddr = -1;
        if (esize === 2) {
          m.st32(addr, x[t << 1]);
          m.st32(addr + 4, x[t2 << 1]);
        } else {
          m.st64(addr, x[t << 1], x[(t << 1) | 1]);
          m.st64(addr + 8, x[t2 << 1], x[(t2 << 1) | 1]);
        }
        setW(s, rs, 0);
      } else {
        m.monitorAddr = -1;
        setW(s, rs, 1);
      }
    }
    return;
  }
  const bytes = 1 << size;
  if (o1 === 0) {
    // LDAR / STLR (and the LORegion forms, treated the same)
    checkAlign(s, addr, bytes, !load);
    if (load) {
      const lo = ldN(s, size, addr);
      setReg(s, size, t, lo, s.rhi);
    } else stN(s, size, addr, x[t << 1], x[(t << 1) | 1]);
    return;
  }
  // CAS{A}{L}{B,H,,}: Rs = compare value (receives old), Rt = new value.
  if (t2 !== 31) undefinedInsn();
  checkAlign(s, addr, bytes, true);
  m.probeWrite(addr, bytes);
  const olo = ldN(s, size, addr);
  const ohi = s.rhi;
  const si = rs << 1;
  const mask = size === 3 ? -1 : size === 2 ? -1 : (1 << (8 << size)) - 1;
  const eq = size === 3 ? olo === x[si] && ohi === x[si + 1] : (olo & mask) === (x[si] & mask);
  if (eq) stN(s, size, addr, x[t << 1], x[(t << 1) | 1]);
  setReg(s, size, rs, olo, ohi);
}

function casp(s: CpuState, insn: number, addr: number): void {
  const sz = (insn >>> 30) & 1; // 0: 32-bit pair, 1: 64-bit pair
  const rs = (insn >>> 16) & 31;
  const t = insn & 31;
  if (rs & 1 || t & 1 || ((insn >>> 10) & 31) !== 31) undefinedInsn();
  const m = s.mem;
  const x = s.x;
  const bytes = sz ? 16 : 8;
  checkAlign(s, addr, bytes, true);
  m.probeWrite(addr, bytes);
  const rsi = rs << 1;
  const ti = t << 1;
  if (sz) {
    const alo = m.ld64(addr);
    const ahi = m.hi;
    const blo = m.ld64(addr + 8);
    const bhi = m.hi;
    const eq = alo === x[rsi] && ahi === x[rsi + 1] && blo === x[rsi + 2] && bhi === x[rsi + 3];
    if (eq) {
      m.st64(addr, x[ti], x[ti + 1]);
      m.st64(addr + 8, x[ti + 2], x[ti + 3]);
    }
    setX(s, rs, alo, ahi);
    setX(s, rs + 1, blo, bhi);
  } else {
    const a = m.ld32(addr);
    const b = m.ld32(addr + 4);
    const eq = a === x[rsi] && b === x[rsi + 2];
    if (eq) {
      m.st32(addr, x[ti]);
      m.st32(addr + 4, x[ti + 2]);
    }
    setW(s, rs, a);
    setW(s, rs + 1, b);
  }
}

/** LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN/SWP in all sizes and orderings. */
export function atomicOp(s: CpuState, insn: number): void {
  const size = insn >>> 30;
  const rs = (insn >>> 16) & 31;
  const o3 = (insn >>> 15) & 1;
  const opc = (insn >>> 12) & 7;
  const t = insn & 31;
  if (o3 && opc !== 0) undefinedInsn();
  const bytes = 1 << size;
  const addr = baseAddr(s, (insn >>> 5) & 31);
  checkAlign(s, addr, bytes, true);
  const m = s.mem;
  m.probeWrite(addr, bytes);
  const olo = ldN(s, size, addr);
  const ohi = s.rhi;
  const x = s.x;
  const blo = x[rs << 1];
  const bhi = size === 3 ? x[(rs << 1) | 1] : 0;
  let nlo: number;
  let nhi = 0;
  if (o3) {
    nlo = blo;
    nhi = bhi;
  } else {
    switch (opc) {
      case 0:
        if (size === 3) {
          adc64(s, olo, ohi, blo, bhi, 0, false);
          nlo = s.rlo;
          nhi = s.rhi;
        } else nlo = adc32(s, olo, blo, 0, false);
        break;
      case 1:
        nlo = olo & ~blo;
        nhi = ohi & ~bhi;
        break;
      case 2:
        nlo = olo ^ blo;
        nhi = ohi ^ bhi;
        break;
      case 3:
        nlo = olo | blo;
        nhi = ohi | bhi;
        break;
      default: {
        const signed = opc === 4 || opc === 5;
        const wantMax = opc === 4 || opc === 6;
        let cmp: number; // sign of (old - b)
        if (size === 3) {
          const ah = signed ? ohi : ohi >>> 0;
          const bh = signed ? bhi : bhi >>> 0;
          cmp = ah !== bh ? (ah < bh ? -1 : 1) : olo >>> 0 === blo >>> 0 ? 0 : olo >>> 0 < blo >>> 0 ? -1 : 1;
        } else {
          const sh = 32 - (8 << size);
          const a = signed ? (olo << sh) >> sh : (olo << sh) >>> sh;
          const bb = signed ? (blo << sh) >> sh : (blo << sh) >>> sh;
          cmp = a === bb ? 0 : a < bb ? -1 : 1;
        }
        const takeOld = wantMax ? cmp >= 0 : cmp <= 0;
        nlo = takeOld ? olo : blo;
        nhi = takeOld ? ohi : bhi;
      }
    }
  }
  stN(s, size, addr, nlo, nhi);
  setReg(s, size, t, olo, ohi);
}
