/**
 * Vector × indexed element ("by element") forms: the element is broadcast into a scratch
 * vector register (saved and restored around the call) and the matching vector handler runs
 * with Rm pointing at it. The scratch register is chosen distinct from Rd and Rn, so
 * accumulating forms still read the original destination.
 */
import type { Handler } from '../decode/types';
import type { CpuState } from '../state';
import * as M_state from '../state';

const { undefinedInsn } = M_state;

const SAVE = new Uint32Array(4);

/**
 * `inner` is the vector (or scalar) handler of the same operation; `fp` selects the FP index
 * rules (size<0> = sz) rather than the integer ones.
 */
export function byElement(inner: Handler, fp: boolean): Handler {
  return (s: CpuState, insn: number) => {
    const size = (insn >>> 22) & 3;
    const L = (insn >>> 21) & 1;
    const M = (insn >>> 20) & 1;
    const H = (insn >>> 11) & 1;
    const n = (insn >>> 5) & 31;
    const d = insn & 31;
    let m: number;
    let idx: number;
    let es: number;
    if (fp) {
      if ((size & 2) === 0) return undefinedInsn(); // half precision (FEAT_FP16) not implemented
      if (size === 3) {
        if (L) return undefinedInsn();
        idx = H;
        es = 3;
      } else {
        idx = (H << 1) | L;
        es = 2;
      }
      m = (M << 4) | ((insn >>> 16) & 15);
    } else if (size === 1) {
      idx = (H << 2) | (L << 1) | M;
      m = (insn >>> 16) & 15;
      es = 1;
    } else if (size === 2) {
      idx = (H << 1) | L;
      m = (M << 4) | ((insn >>> 16) & 15);
      es = 2;
    } else return undefinedInsn();
    // pick a scratch register distinct from d and n
    let r = 0;
    while (r === d || r === n) r++;
    const w = s.vw;
    const ri = r << 2;
    SAVE[0] = w[ri];
    SAVE[1] = w[ri + 1];
    SAVE[2] = w[ri + 2];
    SAVE[3] = w[ri + 3];
    // read the element (from the saved copy when m is the scratch register)
    let lo: number;
    let hi = 0;
    const src = m === r ? -1 : m;
    if (es === 1) lo = src < 0 ? (SAVE[idx >> 1] >>> (16 * (idx & 1))) & 0xffff : s.vh[(m << 3) + idx];
    else if (es === 2) lo = src < 0 ? SAVE[idx] : w[(m << 2) + idx];
    else {
      lo = src < 0 ? SAVE[2 * idx] : w[(m << 2) + 2 * idx];
      hi = src < 0 ? SAVE[2 * idx + 1] : w[(m << 2) + 2 * idx + 1];
    }
    if (es === 1) lo = (lo | (lo << 16)) >>> 0;
    if (es === 3) {
      w[ri] = w[ri + 2] = lo;
      w[ri + 1] = w[ri + 3] = hi;
    } else w[ri] = w[ri + 1] = w[ri + 2] = w[ri + 3] = lo;
    const synth = ((insn & ~(31 << 16)) | (r << 16)) >>> 0;
    try {
      inner(s, synth | 0);
    } finally {
      w[ri] = SAVE[0];
      w[ri + 1] = SAVE[1];
      w[ri + 2] = SAVE[2];
      w[ri + 3] = SAVE[3];
    }
  };
}
