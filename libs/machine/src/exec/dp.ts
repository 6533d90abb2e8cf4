/** Integer data-processing handlers (immediate and register forms). */
import { type CpuState } from '../state';
import * as M_state from '../state';
import * as M_arith from './arith';
// Local bindings: hot code must not go through module-export getters.
const { condHolds, setW, setX, setXsp, spSlot, undefinedInsn } = M_state;
const {
  CRC32C_TABLE,
  CRC32_TABLE,
  adc32,
  adc64,
  bitMask,
  bswap32,
  clz64,
  crcBytes,
  mul64,
  rbit32,
  rev16,
  sdiv64,
  shift32,
  shift64,
  smulh64,
  udiv64,
  umulh64,
  umulhi32,
} = M_arith;

const TWO32 = 4294967296;

// ---- PC-relative ------------------------------------------------------------------------

export function adr(s: CpuState, insn: number): void {
  const imm = (((insn << 8) >> 13) << 2) | ((insn >>> 29) & 3); // signed immhi:immlo
  const t = s.pc + imm;
  setX(s, insn & 31, t | 0, Math.floor(t / TWO32) | 0);
}

export function adrp(s: CpuState, insn: number): void {
  const imm = (((insn << 8) >> 13) << 2) | ((insn >>> 29) & 3);
  const t = (Math.floor(s.pc / 4096) + imm) * 4096;
  const tt = t < 0 ? t + 2 ** 64 : t;
  setX(s, insn & 31, tt | 0, Math.floor(tt / TWO32) | 0);
}

// ---- add/sub immediate ---------------------------------------------------------------------

export function addSubImm(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const sub = (insn >>> 30) & 1;
  const setf = ((insn >>> 29) & 1) === 1;
  let imm = (insn >>> 10) & 0xfff;
  if ((insn >>> 22) & 1) imm *= 4096;
  const ni = spSlot((insn >>> 5) & 31);
  const d = insn & 31;
  const x = s.x;
  if (sf) {
    if (sub) adc64(s, x[ni], x[ni + 1], ~imm, -1, 1, setf);
    else adc64(s, x[ni], x[ni + 1], imm, 0, 0, setf);
    if (setf) setX(s, d, s.rlo, s.rhi);
    else setXsp(s, d, s.rlo, s.rhi);
  } else {
    const r = sub ? adc32(s, x[ni], ~imm, 1, setf) : adc32(s, x[ni], imm, 0, setf);
    if (setf) setW(s, d, r);
    else setXsp(s, d, r, 0);
  }
}

// ---- logical immediate -------------------------------------------------------------------

export function logicalImm(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const opc = (insn >>> 29) & 3;
  const key = (insn >>> 10) & 0x1fff;
  if (!sf && key & 0x1000) undefinedInsn();
  if (!bitMask(s, key)) undefinedInsn();
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  let lo = s.rlo;
  let hi = sf ? s.rhi : 0;
  const alo = x[n];
  const ahi = sf ? x[n + 1] : 0;
  switch (opc) {
    case 0:
    case 3:
      lo &= alo;
      hi &= ahi;
      break;
    case 1:
      lo |= alo;
      hi |= ahi;
      break;
    default:
      lo ^= alo;
      hi ^= ahi;
  }
  if (opc === 3) {
    s.nf = (sf ? hi : lo) >>> 31;
    s.zf = (lo | hi) === 0 ? 1 : 0;
    s.cf = 0;
    s.vf = 0;
    setX(s, d, lo, hi);
  } else setXsp(s, d, lo, hi);
}

// ---- move wide ---------------------------------------------------------------------------

export function moveWide(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const opc = (insn >>> 29) & 3;
  const hw = (insn >>> 21) & 3;
  if (opc === 1 || (!sf && hw >= 2)) undefinedInsn();
  const imm = (insn >>> 5) & 0xffff;
  const d = insn & 31;
  const x = s.x;
  let lo: number;
  let hi: number;
  if (opc === 3) {
    lo = d === 31 ? 0 : x[d << 1];
    hi = d === 31 ? 0 : x[(d << 1) | 1];
    if (hw === 0) lo = (lo & ~0xffff) | imm;
    else if (hw === 1) lo = (lo & 0xffff) | (imm << 16);
    else if (hw === 2) hi = (hi & ~0xffff) | imm;
    else hi = (hi & 0xffff) | (imm << 16);
  } else {
    lo = hw === 0 ? imm : hw === 1 ? imm << 16 : 0;
    hi = hw === 2 ? imm : hw === 3 ? imm << 16 : 0;
    if (opc === 0) {
      lo = ~lo;
      hi = ~hi;
    }
  }
  if (sf) setX(s, d, lo, hi);
  else setW(s, d, lo);
}

// ---- bitfield ----------------------------------------------------------------------------

function ones64(s: CpuState, w: number): void {
  if (w >= 64) {
    s.rlo = -1;
    s.rhi = -1;
  } else if (w >= 32) {
    s.rlo = -1;
    s.rhi = w === 32 ? 0 : (1 << (w - 32)) - 1;
  } else {
    s.rlo = w === 0 ? 0 : w === 32 ? -1 : (1 << w) - 1;
    s.rhi = 0;
  }
}

export function bitfield(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const opc = (insn >>> 29) & 3;
  const nbit = (insn >>> 22) & 1;
  const immr = (insn >>> 16) & 63;
  const imms = (insn >>> 10) & 63;
  if (opc === 3 || nbit !== sf || (!sf && (immr >= 32 || imms >= 32))) undefinedInsn();
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  if (!sf) {
    const src = x[n];
    let r: number;
    if (opc === 2 || opc === 0) {
      // UBFM / SBFM
      if (imms >= immr) {
        const w = imms - immr + 1;
        const f = src >>> immr;
        r = opc === 2 ? (w === 32 ? f | 0 : f & ((1 << w) - 1)) : (f << (32 - w)) >> (32 - w);
      } else {
        const w = imms + 1;
        const f = opc === 2 ? src & ((1 << w) - 1) : (src << (32 - w)) >> (32 - w);
        r = f << (32 - immr);
      }
    } else {
      // BFM
      const dst = d === 31 ? 0 : x[d << 1];
      let f: number;
      let w: number;
      let pos: number;
      if (imms >= immr) {
        w = imms - immr + 1;
        f = src >>> immr;
        pos = 0;
      } else {
        w = imms + 1;
        f = src;
        pos = 32 - immr;
      }
      const m = (w === 32 ? -1 : (1 << w) - 1) << pos;
      r = (dst & ~m) | ((f << pos) & m);
    }
    setW(s, d, r);
    return;
  }
  const slo = x[n];
  const shi = x[n + 1];
  if (opc !== 1) {
    if (imms >= immr) {
      const w = imms - immr + 1;
      shift64(s, slo, shi, 1, immr);
      if (opc === 2) {
        const flo = s.rlo;
        const fhi = s.rhi;
        ones64(s, w);
        setX(s, d, flo & s.rlo, fhi & s.rhi);
      } else {
        shift64(s, s.rlo, s.rhi, 0, 64 - w);
        shift64(s, s.rlo, s.rhi, 2, 64 - w);
        setX(s, d, s.rlo, s.rhi);
      }
    } else {
      const w = imms + 1;
      if (opc === 2) {
        ones64(s, w);
        shift64(s, slo & s.rlo, shi & s.rhi, 0, 64 - immr);
      } else {
        shift64(s, slo, shi, 0, 64 - w);
        shift64(s, s.rlo, s.rhi, 2, 64 - w);
        shift64(s, s.rlo, s.rhi, 0, 64 - immr);
      }
      setX(s, d, s.rlo, s.rhi);
    }
    return;
  }
  // BFM 64
  let w: number;
  let pos: number;
  let flo: number;
  let fhi: number;
  if (imms >= immr) {
    w = imms - immr + 1;
    shift64(s, slo, shi, 1, immr);
    flo = s.rlo;
    fhi = s.rhi;
    pos = 0;
  } else {
    w = imms + 1;
    flo = slo;
    fhi = shi;
    pos = 64 - immr;
  }
  ones64(s, w);
  shift64(s, s.rlo, s.rhi, 0, pos);
  const mlo = s.rlo;
  const mhi = s.rhi;
  shift64(s, flo, fhi, 0, pos);
  const dlo = d === 31 ? 0 : x[d << 1];
  const dhi = d === 31 ? 0 : x[(d << 1) | 1];
  setX(s, d, (dlo & ~mlo) | (s.rlo & mlo), (dhi & ~mhi) | (s.rhi & mhi));
}

export function extr(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const nbit = (insn >>> 22) & 1;
  const lsb = (insn >>> 10) & 63;
  if (nbit !== sf || (!sf && lsb >= 32)) undefinedInsn();
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  if (!sf) {
    setW(s, d, lsb === 0 ? x[m] : (x[m] >>> lsb) | (x[n] << (32 - lsb)));
    return;
  }
  if (lsb === 0) {
    setX(s, d, x[m], x[m + 1]);
    return;
  }
  const nlo = x[n];
  const nhi = x[n + 1];
  shift64(s, x[m], x[m + 1], 1, lsb);
  const lo = s.rlo;
  const hi = s.rhi;
  shift64(s, nlo, nhi, 0, 64 - lsb);
  setX(s, d, lo | s.rlo, hi | s.rhi);
}

// ---- logical / add-sub (shifted register) ---------------------------------------------

export function logicalReg(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const opc = (insn >>> 29) & 3;
  const type = (insn >>> 22) & 3;
  const inv = (insn >>> 21) & 1;
  const amt = (insn >>> 10) & 63;
  if (!sf && amt >= 32) undefinedInsn();
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  let blo: number;
  let bhi: number;
  if (sf) {
    shift64(s, x[m], x[m + 1], type, amt);
    blo = s.rlo;
    bhi = s.rhi;
  } else {
    blo = shift32(x[m], type, amt);
    bhi = 0;
  }
  if (inv) {
    blo = ~blo;
    bhi = sf ? ~bhi : 0;
  }
  const alo = x[n];
  const ahi = sf ? x[n + 1] : 0;
  let lo: number;
  let hi: number;
  if (opc === 1) {
    lo = alo | blo;
    hi = ahi | bhi;
  } else if (opc === 2) {
    lo = alo ^ blo;
    hi = ahi ^ bhi;
  } else {
    lo = alo & blo;
    hi = ahi & bhi;
    if (opc === 3) {
      s.nf = (sf ? hi : lo) >>> 31;
      s.zf = (lo | hi) === 0 ? 1 : 0;
      s.cf = 0;
      s.vf = 0;
    }
  }
  setX(s, d, lo, hi);
}

export function addSubShifted(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const sub = (insn >>> 30) & 1;
  const setf = ((insn >>> 29) & 1) === 1;
  const type = (insn >>> 22) & 3;
  const amt = (insn >>> 10) & 63;
  if (type === 3 || (!sf && amt >= 32)) undefinedInsn();
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  if (sf) {
    shift64(s, x[m], x[m + 1], type, amt);
    if (sub) adc64(s, x[n], x[n + 1], ~s.rlo, ~s.rhi, 1, setf);
    else adc64(s, x[n], x[n + 1], s.rlo, s.rhi, 0, setf);
    setX(s, d, s.rlo, s.rhi);
  } else {
    const b = shift32(x[m], type, amt);
    setW(s, d, sub ? adc32(s, x[n], ~b, 1, setf) : adc32(s, x[n], b, 0, setf));
  }
}

export function addSubExtended(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const sub = (insn >>> 30) & 1;
  const setf = ((insn >>> 29) & 1) === 1;
  const option = (insn >>> 13) & 7;
  const sh = (insn >>> 10) & 7;
  if (sh > 4 || ((insn >>> 22) & 3) !== 0) undefinedInsn();
  const m = ((insn >>> 16) & 31) << 1;
  const ni = spSlot((insn >>> 5) & 31);
  const d = insn & 31;
  const x = s.x;
  let blo = x[m];
  let bhi = x[m + 1];
  switch (option) {
    case 0:
      blo &= 0xff;
      bhi = 0;
      break;
    case 1:
      blo &= 0xffff;
      bhi = 0;
      break;
    case 2:
      bhi = 0;
      break;
    case 3:
      break;
    case 4:
      blo = (blo << 24) >> 24;
      bhi = blo >> 31;
      break;
    case 5:
      blo = (blo << 16) >> 16;
      bhi = blo >> 31;
      break;
    case 6:
      bhi = blo >> 31;
      break;
    default:
      break;
  }
  if (sh !== 0) {
    shift64(s, blo, bhi, 0, sh);
    blo = s.rlo;
    bhi = s.rhi;
  }
  if (sf) {
    if (sub) adc64(s, x[ni], x[ni + 1], ~blo, ~bhi, 1, setf);
    else adc64(s, x[ni], x[ni + 1], blo, bhi, 0, setf);
    if (setf) setX(s, d, s.rlo, s.rhi);
    else setXsp(s, d, s.rlo, s.rhi);
  } else {
    const r = sub ? adc32(s, x[ni], ~blo, 1, setf) : adc32(s, x[ni], blo, 0, setf);
    if (setf) setW(s, d, r);
    else setXsp(s, d, r, 0);
  }
}

export function adcSbc(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const sub = (insn >>> 30) & 1;
  const setf = ((insn >>> 29) & 1) === 1;
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  if (sf) {
    if (sub) adc64(s, x[n], x[n + 1], ~x[m], ~x[m + 1], s.cf, setf);
    else adc64(s, x[n], x[n + 1], x[m], x[m + 1], s.cf, setf);
    setX(s, d, s.rlo, s.rhi);
  } else {
    setW(s, d, sub ? adc32(s, x[n], ~x[m], s.cf, setf) : adc32(s, x[n], x[m], s.cf, setf));
  }
}

// ---- conditional compare / select -------------------------------------------------------

export function condCompare(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const sub = (insn >>> 30) & 1;
  const cond = (insn >>> 12) & 15;
  if (condHolds(s, cond)) {
    const n = ((insn >>> 5) & 31) << 1;
    const x = s.x;
    let blo: number;
    let bhi: number;
    if ((insn >>> 11) & 1) {
      blo = (insn >>> 16) & 31;
      bhi = 0;
    } else {
      const m = ((insn >>> 16) & 31) << 1;
      blo = x[m];
      bhi = x[m + 1];
    }
    if (sf) {
      if (sub) adc64(s, x[n], x[n + 1], ~blo, ~bhi, 1, true);
      else adc64(s, x[n], x[n + 1], blo, bhi, 0, true);
    } else if (sub) adc32(s, x[n], ~blo, 1, true);
    else adc32(s, x[n], blo, 0, true);
  } else {
    s.setNZCV((insn & 15) << 28);
  }
}

export function condSelect(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const op = (insn >>> 30) & 1;
  const op2 = (insn >>> 10) & 1;
  const cond = (insn >>> 12) & 15;
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  let lo: number;
  let hi: number;
  if (condHolds(s, cond)) {
    lo = x[n];
    hi = x[n + 1];
  } else {
    lo = x[m];
    hi = x[m + 1];
    if (op) {
      lo = ~lo;
      hi = ~hi;
      if (op2) {
        // CSNEG: ~x + 1
        lo = (lo + 1) | 0;
        if (lo === 0) hi = (hi + 1) | 0;
        if (!sf) hi = 0;
      }
    } else if (op2) {
      // CSINC
      lo = (lo + 1) | 0;
      if (lo === 0) hi = (hi + 1) | 0;
    }
  }
  if (sf) setX(s, d, lo, hi);
  else setW(s, d, lo);
}

// ---- data processing (2 source) ----------------------------------------------------------

export function dp2(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const opcode = (insn >>> 10) & 63;
  const m = ((insn >>> 16) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  if ((insn >>> 29) & 1) undefinedInsn();
  switch (opcode) {
    case 2: // UDIV
      if (sf) {
        udiv64(s, x[n], x[n + 1], x[m], x[m + 1]);
        setX(s, d, s.rlo, s.rhi);
      } else {
        const b = x[m] >>> 0;
        setW(s, d, b === 0 ? 0 : Math.floor((x[n] >>> 0) / b) | 0);
      }
      return;
    case 3: // SDIV
      if (sf) {
        sdiv64(s, x[n], x[n + 1], x[m], x[m + 1]);
        setX(s, d, s.rlo, s.rhi);
      } else {
        const b = x[m];
        setW(s, d, b === 0 ? 0 : Math.trunc(x[n] / b) | 0);
      }
      return;
    case 8:
    case 9:
    case 10:
    case 11: {
      const type = opcode & 3;
      if (sf) {
        shift64(s, x[n], x[n + 1], type, x[m] & 63);
        setX(s, d, s.rlo, s.rhi);
      } else setW(s, d, shift32(x[n], type, x[m] & 31));
      return;
    }
    case 16:
    case 17:
    case 18:
    case 19:
    case 20:
    case 21:
    case 22:
    case 23: {
      const sz = opcode & 3;
      if ((sz === 3) !== (sf === 1)) undefinedInsn();
      const table = opcode & 4 ? CRC32C_TABLE : CRC32_TABLE;
      let crc = x[n];
      if (sz === 3) {
        crc = crcBytes(table, crc, x[m], 4);
        crc = crcBytes(table, crc, x[m + 1], 4);
      } else crc = crcBytes(table, crc, x[m], 1 << sz);
      setW(s, d, crc);
      return;
    }
    default:
      undefinedInsn();
  }
}

// ---- data processing (1 source) ----------------------------------------------------------

export function dp1(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const opcode = (insn >>> 10) & 63;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  if (((insn >>> 16) & 31) !== 0 || (insn >>> 29) & 1) undefinedInsn();
  const lo = x[n];
  const hi = x[n + 1];
  if (!sf) {
    switch (opcode) {
      case 0:
        return setW(s, d, rbit32(lo));
      case 1:
        return setW(s, d, rev16(lo));
      case 2:
        return setW(s, d, bswap32(lo));
      case 4:
        return setW(s, d, Math.clz32(lo));
      case 5:
        return setW(s, d, Math.clz32((lo ^ (lo << 1)) | 1));
      default:
        undefinedInsn();
    }
  }
  switch (opcode) {
    case 0:
      return setX(s, d, rbit32(hi), rbit32(lo));
    case 1:
      return setX(s, d, rev16(lo), rev16(hi));
    case 2:
      return setX(s, d, bswap32(lo), bswap32(hi));
    case 3:
      return setX(s, d, bswap32(hi), bswap32(lo));
    case 4:
      return setX(s, d, clz64(lo, hi), 0);
    case 5: {
      const ylo = lo ^ (lo << 1);
      const yhi = hi ^ ((hi << 1) | (lo >>> 31));
      return setX(s, d, clz64(ylo | 1, yhi), 0);
    }
    default:
      undefinedInsn();
  }
}

// ---- data processing (3 source) ----------------------------------------------------------

export function dp3(s: CpuState, insn: number): void {
  const sf = insn >>> 31;
  const op54 = (insn >>> 29) & 3;
  const op31 = (insn >>> 21) & 7;
  const o0 = (insn >>> 15) & 1;
  const m = ((insn >>> 16) & 31) << 1;
  const a = ((insn >>> 10) & 31) << 1;
  const n = ((insn >>> 5) & 31) << 1;
  const d = insn & 31;
  const x = s.x;
  if (op54 !== 0) undefinedInsn();
  if (op31 === 0) {
    if (!sf) {
      const p = Math.imul(x[n], x[m]);
      setW(s, d, o0 ? (x[a] - p) | 0 : (x[a] + p) | 0);
      return;
    }
    mul64(s, x[n], x[n + 1], x[m], x[m + 1]);
    if (o0) adc64(s, x[a], x[a + 1], ~s.rlo, ~s.rhi, 1, false);
    else adc64(s, x[a], x[a + 1], s.rlo, s.rhi, 0, false);
    setX(s, d, s.rlo, s.rhi);
    return;
  }
  if (!sf) undefinedInsn();
  switch (op31) {
    case 1: // SMADDL/SMSUBL
    case 5: {
      // UMADDL/UMSUBL
      const nv = x[n];
      const mv = x[m];
      const plo = Math.imul(nv, mv);
      let phi = umulhi32(nv, mv);
      if (op31 === 1) phi = (phi - (nv < 0 ? mv : 0) - (mv < 0 ? nv : 0)) | 0;
      if (o0) adc64(s, x[a], x[a + 1], ~plo, ~phi, 1, false);
      else adc64(s, x[a], x[a + 1], plo, phi, 0, false);
      setX(s, d, s.rlo, s.rhi);
      return;
    }
    case 2:
      if (o0) undefinedInsn();
      smulh64(s, x[n], x[n + 1], x[m], x[m + 1]);
      setX(s, d, s.rlo, s.rhi);
      return;
    case 6:
      if (o0) undefinedInsn();
      umulh64(s, x[n], x[n + 1], x[m], x[m + 1]);
      setX(s, d, s.rlo, s.rhi);
      return;
    default:
      undefinedInsn();
  }
}
