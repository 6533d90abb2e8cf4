/**
 * Advanced SIMD structure loads and stores: LD1-LD4/ST1-ST4 (multiple structures), single
 * structure (one lane) and LD1R-LD4R (replicate), each with optional post-index.
 *
 * Loads read everything into a scratch area first and only then write registers, so a fault
 * leaves the registers unchanged. Stores check the whole range for writability first.
 */
import type { Handler } from '../decode/types';
import * as M_exec_ldst from '../exec/ldst';
import type { CpuState } from '../state';
import * as M_state from '../state';

const { baseAddr, writeBack } = M_exec_ldst;
const { undefinedInsn } = M_state;

const TMP = new Uint8Array(64 * 4);
const TMP32 = new Int32Array(TMP.buffer);

/** [selem, rpt] for the multiple-structure opcodes, or null when unallocated. */
function multiParams(opcode: number): [number, number] | null {
  switch (opcode) {
    case 0:
      return [4, 1];
    case 2:
      return [1, 4];
    case 4:
      return [3, 1];
    case 6:
      return [1, 3];
    case 7:
      return [1, 1];
    case 8:
      return [2, 1];
    case 10:
      return [1, 2];
    default:
      return null;
  }
}

function postIndex(s: CpuState, insn: number, n: number, base: number, total: number): void {
  const m = (insn >>> 16) & 31;
  if (m === 31) writeBack(s, n, base + total);
  else {
    const lo = s.xu[m << 1];
    const hi = s.x[(m << 1) + 1];
    writeBack(s, n, base + hi * 4294967296 + lo);
  }
}

/** LD1-4/ST1-4 (multiple structures): 0 Q 0011 00 p L 0 m opcode size n t (p = post-index). */
export function ldstMulti(post: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const load = (insn >>> 22) & 1;
    const opcode = (insn >>> 12) & 15;
    const es = (insn >>> 10) & 3;
    const n = (insn >>> 5) & 31;
    const t = insn & 31;
    if (!post && ((insn >>> 16) & 31) !== 0) undefinedInsn();
    const p = multiParams(opcode);
    if (p === null) return undefinedInsn();
    const [selem, rpt] = p;
    if (es === 3 && !q && selem !== 1) undefinedInsn();
    const eb = 1 << es;
    const regBytes = q ? 16 : 8;
    const elems = regBytes / eb;
    const total = regBytes * selem * rpt;
    const base = baseAddr(s, n);
    const mem = s.mem;
    const vb = s.vb;
    if (selem === 1) {
      // LD1/ST1 with 1-4 registers: memory is the registers' bytes in order (8-byte chunks)
      const words = total >> 2;
      const regWords = regBytes >> 2;
      const vi = s.vi;
      if (load) {
        mem.probeRead(base, total);
        for (let k = 0; k < words; k += 2) {
          TMP32[k] = mem.ld64(base + 4 * k);
          TMP32[k + 1] = mem.hi;
        }
        for (let r = 0; r < rpt; r++) {
          const ri = ((t + r) & 31) << 2;
          for (let k = 0; k < regWords; k++) vi[ri + k] = TMP32[r * regWords + k];
          if (!q) vi[ri + 2] = vi[ri + 3] = 0;
        }
      } else {
        mem.probeWrite(base, total);
        for (let r = 0; r < rpt; r++) {
          const ri = ((t + r) & 31) << 2;
          for (let k = 0; k < regWords; k++) TMP32[r * regWords + k] = vi[ri + k];
        }
        for (let k = 0; k < words; k += 2) mem.st64(base + 4 * k, TMP32[k], TMP32[k + 1]);
      }
      if (post) postIndex(s, insn, n, base, total);
      return;
    }
    if (load) {
      mem.probeRead(base, total);
      for (let i = 0; i < total; i++) TMP[i] = mem.ld8(base + i);
      let off = 0;
      for (let r = 0; r < rpt; r++) {
        for (let e = 0; e < elems; e++) {
          for (let k = 0; k < selem; k++) {
            const reg = (t + r + k) & 31;
            for (let b = 0; b < eb; b++) vb[(reg << 4) + e * eb + b] = TMP[off++];
          }
        }
      }
      if (!q) {
        for (let r = 0; r < rpt; r++) for (let k = 0; k < selem; k++) clearHigh(s, (t + r + k) & 31);
      }
    } else {
      mem.probeWrite(base, total);
      let off = 0;
      for (let r = 0; r < rpt; r++) {
        for (let e = 0; e < elems; e++) {
          for (let k = 0; k < selem; k++) {
            const reg = (t + r + k) & 31;
            for (let b = 0; b < eb; b++) TMP[off++] = vb[(reg << 4) + e * eb + b];
          }
        }
      }
      for (let i = 0; i < total; i++) mem.st8(base + i, TMP[i]);
    }
    if (post) postIndex(s, insn, n, base, total);
  };
}

function clearHigh(s: CpuState, reg: number): void {
  s.vw[(reg << 2) + 2] = 0;
  s.vw[(reg << 2) + 3] = 0;
}

/** Single structure and replicate: 0 Q 0011 01 p L R m opcode S size n t. */
export function ldstSingle(post: number): Handler {
  return (s, insn) => {
    const q = (insn >>> 30) & 1;
    const load = (insn >>> 22) & 1;
    const r = (insn >>> 21) & 1;
    const opcode = (insn >>> 13) & 7;
    const S = (insn >>> 12) & 1;
    const size = (insn >>> 10) & 3;
    const n = (insn >>> 5) & 31;
    const t = insn & 31;
    if (!post && ((insn >>> 16) & 31) !== 0) undefinedInsn();
    const selem = (((opcode & 1) << 1) | r) + 1;
    let scale = opcode >> 1;
    let index = 0;
    let replicate = false;
    switch (scale) {
      case 3:
        if (!load || S) return undefinedInsn();
        scale = size;
        replicate = true;
        break;
      case 0:
        index = (q << 3) | (S << 2) | size;
        break;
      case 1:
        if (size & 1) return undefinedInsn();
        index = (q << 2) | (S << 1) | (size >> 1);
        break;
      default:
        if (size & 2) return undefinedInsn();
        if (size & 1) {
          if (S) return undefinedInsn();
          index = q;
          scale = 3;
        } else index = (q << 1) | S;
    }
    const eb = 1 << scale;
    const total = eb * selem;
    const base = baseAddr(s, n);
    const mem = s.mem;
    const vb = s.vb;
    if (load) {
      mem.probeRead(base, total);
      for (let i = 0; i < total; i++) TMP[i] = mem.ld8(base + i);
      for (let k = 0; k < selem; k++) {
        const reg = (t + k) & 31;
        if (replicate) {
          const bytes = q ? 16 : 8;
          for (let i = 0; i < bytes; i++) vb[(reg << 4) + i] = TMP[k * eb + (i % eb)];
          if (!q) clearHigh(s, reg);
        } else {
          for (let b = 0; b < eb; b++) vb[(reg << 4) + index * eb + b] = TMP[k * eb + b];
        }
      }
    } else {
      mem.probeWrite(base, total);
      for (let k = 0; k < selem; k++) {
        const reg = (t + k) & 31;
        for (let b = 0; b < eb; b++) mem.st8(base + k * eb + b, vb[(reg << 4) + index * eb + b]);
      }
    }
    if (post) postIndex(s, insn, n, base, total);
  };
}
