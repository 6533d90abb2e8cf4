import type { DecodeRow } from '../decode/types';

/** Advanced SIMD floating-point rows (vector FADD/FMUL/…, conversions). */
export const SIMD_FP_ROWS: readonly DecodeRow[] = [];
