import type { DecodeRow } from '../decode/types';
import * as M_scalar from './scalar';

const { dp1, dp2, dp3, fccmp, fcmp, fcsel, fcvt, fmovImm, fpInt } = M_scalar;

const bin = (v: number, width: number): string => v.toString(2).padStart(width, '0');

const DP1: [number, string][] = [
  [0, 'FMOV (register)'],
  [1, 'FABS (scalar)'],
  [2, 'FNEG (scalar)'],
  [3, 'FSQRT (scalar)'],
  [8, 'FRINTN (scalar)'],
  [9, 'FRINTP (scalar)'],
  [10, 'FRINTM (scalar)'],
  [11, 'FRINTZ (scalar)'],
  [12, 'FRINTA (scalar)'],
  [14, 'FRINTX (scalar)'],
  [15, 'FRINTI (scalar)'],
];
const DP2 = [
  'FMUL (scalar)',
  'FDIV (scalar)',
  'FADD (scalar)',
  'FSUB (scalar)',
  'FMAX (scalar)',
  'FMIN (scalar)',
  'FMAXNM (scalar)',
  'FMINNM (scalar)',
  'FNMUL (scalar)',
];
const DP3: [number, number, string][] = [
  [0, 0, 'FMADD'],
  [0, 1, 'FMSUB'],
  [1, 0, 'FNMADD'],
  [1, 1, 'FNMSUB'],
];

// Single and double precision only (ftype 0t); half-precision arithmetic (FEAT_FP16) is not
// implemented or advertised, so those encodings stay undefined.
const rows: DecodeRow[] = [];
for (const [op, name] of DP1) rows.push({ name, pattern: `000111100t1${bin(op, 6)}10000nnnnnddddd`, handler: dp1(op) });
rows.push({ name: 'FCVT (precision)', pattern: '00011110tt10001oo10000nnnnnddddd', handler: fcvt });
DP2.forEach((name, op) => rows.push({ name, pattern: `000111100t1mmmmm${bin(op, 4)}10nnnnnddddd`, handler: dp2(op) }));
for (const [o1, o0, name] of DP3)
  rows.push({ name, pattern: `000111110t${o1}mmmmm${o0}aaaaannnnnddddd`, handler: dp3(o1, o0) });
rows.push({ name: 'FCMP/FCMPE', pattern: '000111100t1mmmmm001000nnnnnoo000', handler: fcmp });
rows.push({ name: 'FCCMP/FCCMPE', pattern: '000111100t1mmmmmcccc01nnnnnoffff', handler: fccmp });
rows.push({ name: 'FCSEL', pattern: '000111100t1mmmmmcccc11nnnnnddddd', handler: fcsel });
rows.push({ name: 'FMOV (scalar, immediate)', pattern: '000111100t1iiiiiiii10000000ddddd', handler: fmovImm });
rows.push({
  name: 'FCVT*/SCVTF/UCVTF/FMOV (general)',
  pattern: 's00111100t1rrooo000000nnnnnddddd',
  handler: fpInt(false),
});
rows.push({ name: 'FMOV (general, top half)', pattern: '100111101010111o000000nnnnnddddd', handler: fpInt(false) });
rows.push({
  name: 'FCVTZ*/SCVTF/UCVTF (fixed-point)',
  pattern: 's00111100t0rrooossssssnnnnnddddd',
  handler: fpInt(true),
});

/** Scalar floating-point rows (owned by the FP/SIMD engineer). Merged into the A64 decode table. */
export const FP_ROWS: readonly DecodeRow[] = rows;
