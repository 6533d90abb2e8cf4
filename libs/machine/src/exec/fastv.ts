/**
 * Specialised SIMD&FP register loads and stores (D and Q), the hot forms of the FP kernels
 * (`ldr d0, [x1, x2, lsl #3]`, `ldr d0, [x1, #8]`) and of glibc's string functions
 * (`ldp q0, q1, [x1]`, `ldr q0, [x1], #16`). Each does what the generic row in `ldst.ts`
 * does for its encodings (test/cpu/fastpath.spec.ts compares them on random inputs), without
 * the generic row's decoding of size/opc/vec and its size switch, so the handler is small
 * enough for V8 to inline it into compiled blocks.
 *
 * V[t] is written as four int32 words of `s.vi` (bytes 16t..16t+15, little-endian); loads
 * zero the bits above the access; every access happens before any register changes.
 */
import { type CpuState } from '../state';
import * as M_state from '../state';
import * as M_ldst from './ldst';
// Local bindings: hot code must not go through module-export getters.
const { undefinedInsn } = M_state;
const { regOffsetAddr, writeBack } = M_ldst;

const TWO32 = 4294967296;

/** Loads (bit 22 set) or stores D[t] at `addr`. */
function accessD(s: CpuState, insn: number, addr: number): void {
  const m = s.mem;
  const w = s.vi;
  const t = (insn & 31) << 2;
  if ((insn >>> 22) & 1) {
    const lo = m.ld64(addr);
    w[t] = lo;
    w[t + 1] = m.hi;
    w[t + 2] = 0;
    w[t + 3] = 0;
  } else m.st64(addr, w[t], w[t + 1]);
}
/** Loads (bit 22 set) or stores Q[t] at `addr` (all 16 bytes checked first). */
function accessQ(s: CpuState, insn: number, addr: number): void {
  const m = s.mem;
  const w = s.vi;
  const t = (insn & 31) << 2;
  if ((insn >>> 22) & 1) {
    m.probeRead(addr, 16);
    const a = m.ld64(addr);
    const b = m.hi;
    const c = m.ld64(addr + 8);
    w[t] = a;
    w[t + 1] = b;
    w[t + 2] = c;
    w[t + 3] = m.hi;
  } else {
    m.probeWrite(addr, 16);
    m.st64(addr, w[t], w[t + 1]);
    m.st64(addr + 8, w[t + 2], w[t + 3]);
  }
}

/** LDR/STR Dt, [Xn|SP, #uimm] */
export function ldstDUimm(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  accessD(s, insn, (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff) * 8);
}
/** LDR/STR Qt, [Xn|SP, #uimm] */
export function ldstQUimm(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  accessQ(s, insn, (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i] + ((insn >>> 10) & 0xfff) * 16);
}
/** LDR/STR Dt, [Xn|SP, (W|X)m{, extend #3}] */
export function ldstDReg(s: CpuState, insn: number): void {
  accessD(s, insn, regOffsetAddr(s, (insn >>> 5) & 31, insn, (insn >>> 12) & 1 ? 3 : 0));
}
/** LDR/STR Qt, [Xn|SP, (W|X)m{, extend #4}] */
export function ldstQReg(s: CpuState, insn: number): void {
  accessQ(s, insn, regOffsetAddr(s, (insn >>> 5) & 31, insn, (insn >>> 12) & 1 ? 4 : 0));
}
/** LDUR/STUR Qt and LDR/STR Qt with pre/post-index (imm9); the unprivileged form is Undefined. */
export function ldstQImm9(s: CpuState, insn: number): void {
  const type = (insn >>> 10) & 3;
  if (type === 2) undefinedInsn();
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const base = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i];
  const imm = (insn << 11) >> 23;
  accessQ(s, insn, type === 1 ? base : base + imm);
  if (type !== 0) writeBack(s, n, base + imm);
}
/** LDP/STP/LDNP/STNP Qt1, Qt2, [Xn|SP{, #imm}] and the pre/post-index forms. */
export function ldstQPair(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const base = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i];
  const imm = ((insn << 10) >> 25) * 16;
  const type = (insn >>> 23) & 3;
  const addr = type === 1 ? base : base + imm;
  const m = s.mem;
  const w = s.vi;
  const t = (insn & 31) << 2;
  const t2 = ((insn >>> 10) & 31) << 2;
  if ((insn >>> 22) & 1) {
    m.probeRead(addr, 32);
    const a0 = m.ld64(addr);
    const a1 = m.hi;
    const a2 = m.ld64(addr + 8);
    const a3 = m.hi;
    const b0 = m.ld64(addr + 16);
    const b1 = m.hi;
    const b2 = m.ld64(addr + 24);
    w[t] = a0;
    w[t + 1] = a1;
    w[t + 2] = a2;
    w[t + 3] = a3;
    w[t2] = b0;
    w[t2 + 1] = b1;
    w[t2 + 2] = b2;
    w[t2 + 3] = m.hi;
  } else {
    m.probeWrite(addr, 32);
    m.st64(addr, w[t], w[t + 1]);
    m.st64(addr + 8, w[t + 2], w[t + 3]);
    m.st64(addr + 16, w[t2], w[t2 + 1]);
    m.st64(addr + 24, w[t2 + 2], w[t2 + 3]);
  }
  if (type === 1 || type === 3) writeBack(s, n, base + imm);
}
/** LDP/STP/LDNP/STNP Dt1, Dt2, [Xn|SP{, #imm}] and the pre/post-index forms. */
export function ldstDPair(s: CpuState, insn: number): void {
  const n = (insn >>> 5) & 31;
  const i = n === 31 ? 64 : n << 1;
  const base = (s.xu[i + 1] & 0xffffff) * TWO32 + s.xu[i];
  const imm = ((insn << 10) >> 25) * 8;
  const type = (insn >>> 23) & 3;
  const addr = type === 1 ? base : base + imm;
  const m = s.mem;
  const w = s.vi;
  const t = (insn & 31) << 2;
  const t2 = ((insn >>> 10) & 31) << 2;
  if ((insn >>> 22) & 1) {
    m.probeRead(addr, 16);
    const a0 = m.ld64(addr);
    const a1 = m.hi;
    const b0 = m.ld64(addr + 8);
    w[t] = a0;
    w[t + 1] = a1;
    w[t + 2] = 0;
    w[t + 3] = 0;
    w[t2] = b0;
    w[t2 + 1] = m.hi;
    w[t2 + 2] = 0;
    w[t2 + 3] = 0;
  } else {
    m.probeWrite(addr, 16);
    m.st64(addr, w[t], w[t + 1]);
    m.st64(addr + 8, w[t2], w[t2 + 1]);
  }
  if (type === 1 || type === 3) writeBack(s, n, base + imm);
}
