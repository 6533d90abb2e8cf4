import type { DecodeRow } from '../decode/types';

/** Scalar floating-point rows (owned by the FP/SIMD engineer). Merged into the A64 decode table. */
export const FP_ROWS: readonly DecodeRow[] = [];
