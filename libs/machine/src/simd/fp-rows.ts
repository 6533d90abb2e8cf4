import type { DecodeRow } from '../decode/types';
import * as M_fp_core from '../fp/core';
import * as M_fp from './fp';

const { RM, RN, RNA, RP, RZ } = M_fp_core;
const {
  acrossFp,
  fcvtl,
  fcvtn,
  fcvtxnScalar,
  fixedFp,
  pairFpScalar,
  threeSameFp,
  threeSameFpScalar,
  twoMiscFp,
  twoMiscFpScalar,
} = M_fp;

const bin = (v: number, width: number): string => v.toString(2).padStart(width, '0');

// [U, a, opcode, lane op, pairwise, name]
const SAME: [number, number, number, number, boolean, string][] = [
  [0, 0, 0b11000, 0, false, 'FMAXNM (vector)'],
  [0, 1, 0b11000, 1, false, 'FMINNM (vector)'],
  [1, 0, 0b11000, 0, true, 'FMAXNMP (vector)'],
  [1, 1, 0b11000, 1, true, 'FMINNMP (vector)'],
  [0, 0, 0b11001, 2, false, 'FMLA (vector)'],
  [0, 1, 0b11001, 3, false, 'FMLS (vector)'],
  [0, 0, 0b11010, 4, false, 'FADD (vector)'],
  [0, 1, 0b11010, 5, false, 'FSUB (vector)'],
  [1, 0, 0b11010, 4, true, 'FADDP (vector)'],
  [1, 1, 0b11010, 6, false, 'FABD (vector)'],
  [0, 0, 0b11011, 7, false, 'FMULX (vector)'],
  [1, 0, 0b11011, 8, false, 'FMUL (vector)'],
  [0, 0, 0b11100, 9, false, 'FCMEQ (register)'],
  [1, 0, 0b11100, 10, false, 'FCMGE (register)'],
  [1, 1, 0b11100, 11, false, 'FCMGT (register)'],
  [1, 0, 0b11101, 12, false, 'FACGE (vector)'],
  [1, 1, 0b11101, 13, false, 'FACGT (vector)'],
  [0, 0, 0b11110, 14, false, 'FMAX (vector)'],
  [0, 1, 0b11110, 15, false, 'FMIN (vector)'],
  [1, 0, 0b11110, 14, true, 'FMAXP (vector)'],
  [1, 1, 0b11110, 15, true, 'FMINP (vector)'],
  [0, 0, 0b11111, 16, false, 'FRECPS (vector)'],
  [0, 1, 0b11111, 17, false, 'FRSQRTS (vector)'],
  [1, 0, 0b11111, 18, false, 'FDIV (vector)'],
];
const SAME_SCALAR: [number, number, number, number, string][] = [
  [0, 0, 0b11011, 7, 'FMULX (scalar)'],
  [0, 0, 0b11100, 9, 'FCMEQ (scalar register)'],
  [1, 0, 0b11100, 10, 'FCMGE (scalar register)'],
  [1, 1, 0b11100, 11, 'FCMGT (scalar register)'],
  [1, 0, 0b11101, 12, 'FACGE (scalar)'],
  [1, 1, 0b11101, 13, 'FACGT (scalar)'],
  [0, 0, 0b11111, 16, 'FRECPS (scalar)'],
  [0, 1, 0b11111, 17, 'FRSQRTS (scalar)'],
  [1, 1, 0b11010, 6, 'FABD (scalar)'],
];
// [U, a, opcode, lane op, rounding, unsigned, name, scalar form exists]
const MISC: [number, number, number, number, number, boolean, string, boolean][] = [
  [0, 0, 0b11000, 3, RN, false, 'FRINTN (vector)', false],
  [0, 0, 0b11001, 4, RN, false, 'FRINTM (vector)', false],
  [0, 1, 0b11000, 5, RN, false, 'FRINTP (vector)', false],
  [0, 1, 0b11001, 6, RN, false, 'FRINTZ (vector)', false],
  [1, 0, 0b11000, 7, RN, false, 'FRINTA (vector)', false],
  [1, 0, 0b11001, 8, RN, false, 'FRINTX (vector)', false],
  [1, 1, 0b11001, 9, RN, false, 'FRINTI (vector)', false],
  [0, 0, 0b11010, 15, RN, false, 'FCVTNS (vector)', true],
  [1, 0, 0b11010, 15, RN, true, 'FCVTNU (vector)', true],
  [0, 0, 0b11011, 15, RM, false, 'FCVTMS (vector)', true],
  [1, 0, 0b11011, 15, RM, true, 'FCVTMU (vector)', true],
  [0, 0, 0b11100, 15, RNA, false, 'FCVTAS (vector)', true],
  [1, 0, 0b11100, 15, RNA, true, 'FCVTAU (vector)', true],
  [0, 1, 0b11010, 15, RP, false, 'FCVTPS (vector)', true],
  [1, 1, 0b11010, 15, RP, true, 'FCVTPU (vector)', true],
  [0, 1, 0b11011, 15, RZ, false, 'FCVTZS (vector, integer)', true],
  [1, 1, 0b11011, 15, RZ, true, 'FCVTZU (vector, integer)', true],
  [0, 0, 0b11101, 16, RN, false, 'SCVTF (vector, integer)', true],
  [1, 0, 0b11101, 17, RN, false, 'UCVTF (vector, integer)', true],
  [0, 1, 0b01100, 10, RN, false, 'FCMGT (zero)', true],
  [1, 1, 0b01100, 11, RN, false, 'FCMGE (zero)', true],
  [0, 1, 0b01101, 12, RN, false, 'FCMEQ (zero)', true],
  [1, 1, 0b01101, 13, RN, false, 'FCMLE (zero)', true],
  [0, 1, 0b01110, 14, RN, false, 'FCMLT (zero)', true],
  [0, 1, 0b01111, 0, RN, false, 'FABS (vector)', false],
  [1, 1, 0b01111, 1, RN, false, 'FNEG (vector)', false],
  [1, 1, 0b11111, 2, RN, false, 'FSQRT (vector)', false],
  [0, 1, 0b11101, 18, RN, false, 'FRECPE', true],
  [1, 1, 0b11101, 19, RN, false, 'FRSQRTE', true],
  [0, 1, 0b11100, 21, RN, false, 'URECPE', false],
  [1, 1, 0b11100, 22, RN, false, 'URSQRTE', false],
];

const rows: DecodeRow[] = [];
for (const [u, a, opc, op, pw, name] of SAME)
  rows.push({ name, pattern: `0q${u}01110${a}s1mmmmm${bin(opc, 5)}1nnnnnddddd`, handler: threeSameFp(op, pw) });
for (const [u, a, opc, op, name] of SAME_SCALAR)
  rows.push({ name, pattern: `01${u}11110${a}s1mmmmm${bin(opc, 5)}1nnnnnddddd`, handler: threeSameFpScalar(op) });
for (const [u, a, opc, op, rm, uns, name, scalar] of MISC) {
  rows.push({ name, pattern: `0q${u}01110${a}s10000${bin(opc, 5)}10nnnnnddddd`, handler: twoMiscFp(op, rm, uns) });
  if (scalar)
    rows.push({
      name:
        name
          .replace('(vector, integer)', '(scalar)')
          .replace('(vector)', '(scalar)')
          .replace('(zero)', '(scalar zero)') + (/\(/.test(name) ? '' : ' (scalar)'),
      pattern: `01${u}11110${a}s10000${bin(opc, 5)}10nnnnnddddd`,
      handler: twoMiscFpScalar(op, rm, uns),
    });
}
rows.push({ name: 'FRECPX', pattern: '010111101s100001111110nnnnnddddd', handler: twoMiscFpScalar(20) });
rows.push({ name: 'FCVTN/FCVTN2', pattern: '0q0011100s100001011010nnnnnddddd', handler: fcvtn(false) });
rows.push({ name: 'FCVTXN/FCVTXN2', pattern: '0q1011100s100001011010nnnnnddddd', handler: fcvtn(true) });
rows.push({ name: 'FCVTXN (scalar)', pattern: '011111100s100001011010nnnnnddddd', handler: fcvtxnScalar });
rows.push({ name: 'FCVTL/FCVTL2', pattern: '0q0011100s100001011110nnnnnddddd', handler: fcvtl });
rows.push({ name: 'FMAXNMV', pattern: '0q10111000110000110010nnnnnddddd', handler: acrossFp(true, true) });
rows.push({ name: 'FMINNMV', pattern: '0q10111010110000110010nnnnnddddd', handler: acrossFp(false, true) });
rows.push({ name: 'FMAXV', pattern: '0q10111000110000111110nnnnnddddd', handler: acrossFp(true, false) });
rows.push({ name: 'FMINV', pattern: '0q10111010110000111110nnnnnddddd', handler: acrossFp(false, false) });
rows.push({ name: 'FADDP (scalar)', pattern: '011111100s110000110110nnnnnddddd', handler: pairFpScalar(4) });
rows.push({ name: 'FMAXNMP (scalar)', pattern: '011111100s110000110010nnnnnddddd', handler: pairFpScalar(0) });
rows.push({ name: 'FMINNMP (scalar)', pattern: '011111101s110000110010nnnnnddddd', handler: pairFpScalar(1) });
rows.push({ name: 'FMAXP (scalar)', pattern: '011111100s110000111110nnnnnddddd', handler: pairFpScalar(14) });
rows.push({ name: 'FMINP (scalar)', pattern: '011111101s110000111110nnnnnddddd', handler: pairFpScalar(15) });
for (const [u, opc, toFloat, name] of [
  [0, 0b11100, true, 'SCVTF (vector, fixed-point)'],
  [1, 0b11100, true, 'UCVTF (vector, fixed-point)'],
  [0, 0b11111, false, 'FCVTZS (vector, fixed-point)'],
  [1, 0b11111, false, 'FCVTZU (vector, fixed-point)'],
] as [number, number, boolean, string][]) {
  const uns = u === 1;
  rows.push({
    name: `${name} S`,
    pattern: `0q${u}01111001hhbbb${bin(opc, 5)}1nnnnnddddd`,
    handler: fixedFp(toFloat, uns, false),
  });
  rows.push({
    name: `${name} D`,
    pattern: `0q${u}0111101hhhbbb${bin(opc, 5)}1nnnnnddddd`,
    handler: fixedFp(toFloat, uns, false),
  });
  const sname = name.replace('vector', 'scalar');
  rows.push({
    name: `${sname} S`,
    pattern: `01${u}11111001hhbbb${bin(opc, 5)}1nnnnnddddd`,
    handler: fixedFp(toFloat, uns, true),
  });
  rows.push({
    name: `${sname} D`,
    pattern: `01${u}1111101hhhbbb${bin(opc, 5)}1nnnnnddddd`,
    handler: fixedFp(toFloat, uns, true),
  });
}

/** Advanced SIMD floating-point rows (vector FADD/FMUL/…, conversions). */
export const SIMD_FP_ROWS: readonly DecodeRow[] = rows;
