import type { DecodeRow } from '../decode/types';

/** Advanced SIMD rows (owned by the FP/SIMD engineer). Merged into the A64 decode table. */
export const SIMD_ROWS: readonly DecodeRow[] = [];
