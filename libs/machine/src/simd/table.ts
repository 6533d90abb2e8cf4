import type { DecodeRow, Handler } from '../decode/types';
import * as M_decode_types from '../decode/types';
import * as M_int from './int';
import * as M_ldst from './ldst';
import * as M_fp_rows from './fp-rows';
import * as M_elem from './elem';
import * as M_fp from './fp';

const {
  acrossLanes,
  addpB,
  andV,
  bicV,
  eorV,
  orrV,
  ornV,
  shrnB,
  addB,
  addpScalar,
  cmeqB,
  cmhiB,
  cmhsB,
  copy,
  dupScalar,
  ext,
  logical,
  modImm,
  permute,
  shiftImm,
  tbl,
  threeDiff,
  threeSame,
  threeSameScalar,
  twoMisc,
  twoMiscScalar,
  subB,
  umaxB,
  umaxpB,
  uminB,
  uminpB,
} = M_int;
const { ldstMulti, ldstSingle } = M_ldst;
const { SIMD_FP_ROWS } = M_fp_rows;
const { byElement } = M_elem;
const { threeSameFp, threeSameFpScalar } = M_fp;
const { ROW_PURE } = M_decode_types;

const bin = (v: number, width: number): string => v.toString(2).padStart(width, '0');

const SAME: [number, number, string][] = [
  [0, 0, 'SHADD'],
  [1, 0, 'UHADD'],
  [0, 1, 'SQADD'],
  [1, 1, 'UQADD'],
  [0, 2, 'SRHADD'],
  [1, 2, 'URHADD'],
  [0, 4, 'SHSUB'],
  [1, 4, 'UHSUB'],
  [0, 5, 'SQSUB'],
  [1, 5, 'UQSUB'],
  [0, 6, 'CMGT'],
  [1, 6, 'CMHI'],
  [0, 7, 'CMGE'],
  [1, 7, 'CMHS'],
  [0, 8, 'SSHL'],
  [1, 8, 'USHL'],
  [0, 9, 'SQSHL (register)'],
  [1, 9, 'UQSHL (register)'],
  [0, 10, 'SRSHL'],
  [1, 10, 'URSHL'],
  [0, 11, 'SQRSHL'],
  [1, 11, 'UQRSHL'],
  [0, 12, 'SMAX'],
  [1, 12, 'UMAX'],
  [0, 13, 'SMIN'],
  [1, 13, 'UMIN'],
  [0, 14, 'SABD'],
  [1, 14, 'UABD'],
  [0, 15, 'SABA'],
  [1, 15, 'UABA'],
  [0, 16, 'ADD (vector)'],
  [1, 16, 'SUB (vector)'],
  [0, 17, 'CMTST'],
  [1, 17, 'CMEQ (register)'],
  [0, 18, 'MLA (vector)'],
  [1, 18, 'MLS (vector)'],
  [0, 19, 'MUL (vector)'],
  [1, 19, 'PMUL'],
  [0, 20, 'SMAXP'],
  [1, 20, 'UMAXP'],
  [0, 21, 'SMINP'],
  [1, 21, 'UMINP'],
  [0, 22, 'SQDMULH (vector)'],
  [1, 22, 'SQRDMULH (vector)'],
  [0, 23, 'ADDP (vector)'],
];

const SAME_SCALAR: [number, number, string][] = [
  [0, 1, 'SQADD (scalar)'],
  [1, 1, 'UQADD (scalar)'],
  [0, 5, 'SQSUB (scalar)'],
  [1, 5, 'UQSUB (scalar)'],
  [0, 6, 'CMGT (scalar)'],
  [1, 6, 'CMHI (scalar)'],
  [0, 7, 'CMGE (scalar)'],
  [1, 7, 'CMHS (scalar)'],
  [0, 8, 'SSHL (scalar)'],
  [1, 8, 'USHL (scalar)'],
  [0, 9, 'SQSHL (scalar register)'],
  [1, 9, 'UQSHL (scalar register)'],
  [0, 10, 'SRSHL (scalar)'],
  [1, 10, 'URSHL (scalar)'],
  [0, 11, 'SQRSHL (scalar)'],
  [1, 11, 'UQRSHL (scalar)'],
  [0, 16, 'ADD (scalar)'],
  [1, 16, 'SUB (scalar)'],
  [0, 17, 'CMTST (scalar)'],
  [1, 17, 'CMEQ (scalar register)'],
  [0, 22, 'SQDMULH (scalar)'],
  [1, 22, 'SQRDMULH (scalar)'],
];

const MISC: [number, number, string][] = [
  [0, 0, 'REV64'],
  [1, 0, 'REV32'],
  [0, 1, 'REV16'],
  [0, 2, 'SADDLP'],
  [1, 2, 'UADDLP'],
  [0, 3, 'SUQADD'],
  [1, 3, 'USQADD'],
  [0, 4, 'CLS (vector)'],
  [1, 4, 'CLZ (vector)'],
  [0, 5, 'CNT'],
  [1, 5, 'NOT/RBIT (vector)'],
  [0, 6, 'SADALP'],
  [1, 6, 'UADALP'],
  [0, 7, 'SQABS'],
  [1, 7, 'SQNEG'],
  [0, 8, 'CMGT (zero)'],
  [1, 8, 'CMGE (zero)'],
  [0, 9, 'CMEQ (zero)'],
  [1, 9, 'CMLE (zero)'],
  [0, 10, 'CMLT (zero)'],
  [0, 11, 'ABS (vector)'],
  [1, 11, 'NEG (vector)'],
  [0, 18, 'XTN'],
  [1, 18, 'SQXTUN'],
  [1, 19, 'SHLL'],
  [0, 20, 'SQXTN'],
  [1, 20, 'UQXTN'],
];

const MISC_SCALAR: [number, number, string][] = [
  [0, 3, 'SUQADD (scalar)'],
  [1, 3, 'USQADD (scalar)'],
  [0, 7, 'SQABS (scalar)'],
  [1, 7, 'SQNEG (scalar)'],
  [0, 8, 'CMGT (scalar zero)'],
  [1, 8, 'CMGE (scalar zero)'],
  [0, 9, 'CMEQ (scalar zero)'],
  [1, 9, 'CMLE (scalar zero)'],
  [0, 10, 'CMLT (scalar zero)'],
  [0, 11, 'ABS (scalar)'],
  [1, 11, 'NEG (scalar)'],
];

const ACROSS: [number, number, string][] = [
  [0, 3, 'SADDLV'],
  [1, 3, 'UADDLV'],
  [0, 10, 'SMAXV'],
  [1, 10, 'UMAXV'],
  [0, 26, 'SMINV'],
  [1, 26, 'UMINV'],
  [0, 27, 'ADDV'],
];

const DIFF: [number, number, string][] = [
  [0, 0, 'SADDL'],
  [1, 0, 'UADDL'],
  [0, 1, 'SADDW'],
  [1, 1, 'UADDW'],
  [0, 2, 'SSUBL'],
  [1, 2, 'USUBL'],
  [0, 3, 'SSUBW'],
  [1, 3, 'USUBW'],
  [0, 4, 'ADDHN'],
  [1, 4, 'RADDHN'],
  [0, 5, 'SABAL'],
  [1, 5, 'UABAL'],
  [0, 6, 'SUBHN'],
  [1, 6, 'RSUBHN'],
  [0, 7, 'SABDL'],
  [1, 7, 'UABDL'],
  [0, 8, 'SMLAL'],
  [1, 8, 'UMLAL'],
  [0, 9, 'SQDMLAL'],
  [0, 10, 'SMLSL'],
  [1, 10, 'UMLSL'],
  [0, 11, 'SQDMLSL'],
  [0, 12, 'SMULL'],
  [1, 12, 'UMULL'],
  [0, 13, 'SQDMULL'],
  [0, 14, 'PMULL'],
];

const SHIFT: [number, number, string][] = [
  [0, 0, 'SSHR'],
  [1, 0, 'USHR'],
  [0, 2, 'SSRA'],
  [1, 2, 'USRA'],
  [0, 4, 'SRSHR'],
  [1, 4, 'URSHR'],
  [0, 6, 'SRSRA'],
  [1, 6, 'URSRA'],
  [1, 8, 'SRI'],
  [0, 10, 'SHL'],
  [1, 10, 'SLI'],
  [1, 12, 'SQSHLU'],
  [0, 14, 'SQSHL (immediate)'],
  [1, 14, 'UQSHL (immediate)'],
  [0, 16, 'SHRN'],
  [1, 16, 'SQSHRUN'],
  [0, 17, 'RSHRN'],
  [1, 17, 'SQRSHRUN'],
  [0, 18, 'SQSHRN'],
  [1, 18, 'UQSHRN'],
  [0, 19, 'SQRSHRN'],
  [1, 19, 'UQRSHRN'],
  [0, 20, 'SSHLL'],
  [1, 20, 'USHLL'],
];

const SHIFT_SCALAR: [number, number, string][] = [
  [0, 0, 'SSHR (scalar)'],
  [1, 0, 'USHR (scalar)'],
  [0, 2, 'SSRA (scalar)'],
  [1, 2, 'USRA (scalar)'],
  [0, 4, 'SRSHR (scalar)'],
  [1, 4, 'URSHR (scalar)'],
  [0, 6, 'SRSRA (scalar)'],
  [1, 6, 'URSRA (scalar)'],
  [1, 8, 'SRI (scalar)'],
  [0, 10, 'SHL (scalar)'],
  [1, 10, 'SLI (scalar)'],
  [1, 12, 'SQSHLU (scalar)'],
  [0, 14, 'SQSHL (scalar immediate)'],
  [1, 14, 'UQSHL (scalar immediate)'],
  [1, 16, 'SQSHRUN (scalar)'],
  [1, 17, 'SQRSHRUN (scalar)'],
  [0, 18, 'SQSHRN (scalar)'],
  [1, 18, 'UQSHRN (scalar)'],
  [0, 19, 'SQRSHRN (scalar)'],
  [1, 19, 'UQRSHRN (scalar)'],
];

const LOGIC = ['AND (vector)', 'BIC (vector, register)', 'ORR (vector, register)', 'ORN (vector)'];
const LOGIC_U = ['EOR (vector)', 'BSL', 'BIT', 'BIF'];

const rows: DecodeRow[] = [];
for (const [u, op, name] of SAME)
  rows.push({ name, pattern: `0q${u}01110ss1mmmmm${bin(op, 5)}1nnnnnddddd`, handler: threeSame(u, op) });
// byte-lane forms (size fixed to 00, so these rows win over the generic ones above)
const SAME_BYTES: [number, number, Handler][] = [
  [1, 17, cmeqB],
  [1, 7, cmhsB],
  [1, 6, cmhiB],
  [0, 16, addB],
  [1, 16, subB],
  [1, 12, umaxB],
  [1, 13, uminB],
  [1, 20, umaxpB],
  [1, 21, uminpB],
  [0, 23, addpB],
];
for (const [u, op, handler] of SAME_BYTES) {
  const name = SAME.find((r) => r[0] === u && r[1] === op)?.[2] ?? '';
  rows.push({ name, pattern: `0q${u}0111000 1mmmmm${bin(op, 5)}1nnnnnddddd`, handler, flags: ROW_PURE });
}
for (const [u, op, name] of SAME_SCALAR)
  rows.push({ name, pattern: `01${u}11110ss1mmmmm${bin(op, 5)}1nnnnnddddd`, handler: threeSameScalar(u, op) });
const LOGIC_FAST = [andV, bicV, orrV, ornV];
for (let op = 0; op < 4; op++) {
  rows.push({
    name: LOGIC[op],
    pattern: `0q001110${bin(op, 2)}1mmmmm000111nnnnnddddd`,
    handler: LOGIC_FAST[op],
    flags: ROW_PURE,
  });
  rows.push({
    name: LOGIC_U[op],
    pattern: `0q101110${bin(op, 2)}1mmmmm000111nnnnnddddd`,
    handler: op === 0 ? eorV : logical(1, op),
  });
}
for (const [u, op, name] of MISC)
  rows.push({ name, pattern: `0q${u}01110ss10000${bin(op, 5)}10nnnnnddddd`, handler: twoMisc(u, op) });
for (const [u, op, name] of MISC_SCALAR)
  rows.push({ name, pattern: `01${u}11110ss10000${bin(op, 5)}10nnnnnddddd`, handler: twoMiscScalar(u, op) });
for (const [u, op, name] of ACROSS)
  rows.push({ name, pattern: `0q${u}01110ss11000${bin(op, 5)}10nnnnnddddd`, handler: acrossLanes(u, op) });
rows.push({ name: 'ADDP (scalar)', pattern: '01011110ss110001101110nnnnnddddd', handler: addpScalar });
for (const [u, op, name] of DIFF)
  rows.push({ name, pattern: `0q${u}01110ss1mmmmm${bin(op, 4)}00nnnnnddddd`, handler: threeDiff(u, op) });
for (const [u, op, name] of SHIFT)
  rows.push({ name, pattern: `0q${u}011110hhhhbbb${bin(op, 5)}1nnnnnddddd`, handler: shiftImm(u, op) });
rows.push({ name: 'SHRN, SHRN2', pattern: '0q00111100001bbb100001nnnnnddddd', handler: shrnB, flags: ROW_PURE });
for (const [u, op, name] of SHIFT_SCALAR)
  rows.push({ name, pattern: `01${u}111110hhhhbbb${bin(op, 5)}1nnnnnddddd`, handler: shiftImm(u, op, true) });
const PERM = ['', 'UZP1', 'TRN1', 'ZIP1', '', 'UZP2', 'TRN2', 'ZIP2'];
for (const op of [1, 2, 3, 5, 6, 7])
  rows.push({ name: PERM[op], pattern: `0q001110ss0mmmmm0${bin(op, 3)}10nnnnnddddd`, handler: permute(op) });
rows.push({ name: 'EXT', pattern: '0q101110000mmmmm0iiii0nnnnnddddd', handler: ext });
rows.push({ name: 'TBL', pattern: '0q001110000mmmmm0ll000nnnnnddddd', handler: tbl(0) });
rows.push({ name: 'TBX', pattern: '0q001110000mmmmm0ll100nnnnnddddd', handler: tbl(1) });
rows.push({ name: 'DUP (element)', pattern: '0q001110000iiiii000001nnnnnddddd', handler: copy(0, 0) });
rows.push({ name: 'DUP (general)', pattern: '0q001110000iiiii000011nnnnnddddd', handler: copy(0, 1) });
rows.push({ name: 'INS (general)', pattern: '0q001110000iiiii000111nnnnnddddd', handler: copy(0, 3) });
rows.push({ name: 'SMOV', pattern: '0q001110000iiiii001011nnnnnddddd', handler: copy(0, 5) });
rows.push({ name: 'UMOV', pattern: '0q001110000iiiii001111nnnnnddddd', handler: copy(0, 7) });
rows.push({ name: 'INS (element)', pattern: '0q101110000iiiii0jjjj1nnnnnddddd', handler: copy(1, 0) });
rows.push({ name: 'MOVI/MVNI/ORR/BIC (immediate)', pattern: '0qo0111100000abccccc01defghddddd', handler: modImm });
rows.push({ name: 'LD/ST multiple structures', pattern: '0q0011000l000000oooossnnnnnttttt', handler: ldstMulti(0) });
rows.push({
  name: 'LD/ST multiple structures (post-index)',
  pattern: '0q0011001l0mmmmmoooossnnnnnttttt',
  handler: ldstMulti(1),
});
rows.push({ name: 'LD/ST single structure', pattern: '0q0011010lr00000oooSssnnnnnttttt', handler: ldstSingle(0) });
rows.push({
  name: 'LD/ST single structure (post-index)',
  pattern: '0q0011011lrmmmmmoooSssnnnnnttttt',
  handler: ldstSingle(1),
});
rows.push(...SIMD_FP_ROWS);

// vector × indexed element: 0 Q U 01111 size L M Rm opcode H 0 n d (scalar: 01 U 11111 …)
const ELEM: [number, number, string, Handler][] = [
  [1, 0b0000, 'MLA (by element)', threeSame(0, 18)],
  [1, 0b0100, 'MLS (by element)', threeSame(1, 18)],
  [0, 0b1000, 'MUL (by element)', threeSame(0, 19)],
  [0, 0b0010, 'SMLAL (by element)', threeDiff(0, 8)],
  [1, 0b0010, 'UMLAL (by element)', threeDiff(1, 8)],
  [0, 0b0110, 'SMLSL (by element)', threeDiff(0, 10)],
  [1, 0b0110, 'UMLSL (by element)', threeDiff(1, 10)],
  [0, 0b1010, 'SMULL (by element)', threeDiff(0, 12)],
  [1, 0b1010, 'UMULL (by element)', threeDiff(1, 12)],
  [0, 0b0011, 'SQDMLAL (by element)', threeDiff(0, 9)],
  [0, 0b0111, 'SQDMLSL (by element)', threeDiff(0, 11)],
  [0, 0b1011, 'SQDMULL (by element)', threeDiff(0, 13)],
  [0, 0b1100, 'SQDMULH (by element)', threeSame(0, 22)],
  [0, 0b1101, 'SQRDMULH (by element)', threeSame(1, 22)],
];
for (const [u, op, name, h] of ELEM)
  rows.push({ name, pattern: `0q${u}01111sslmmmmm${bin(op, 4)}h0nnnnnddddd`, handler: byElement(h, false) });
const FP_ELEM: [number, number, string, number][] = [
  [0, 0b0001, 'FMLA (by element)', 2],
  [0, 0b0101, 'FMLS (by element)', 3],
  [0, 0b1001, 'FMUL (by element)', 8],
  [1, 0b1001, 'FMULX (by element)', 7],
];
for (const [u, op, name, lane] of FP_ELEM) {
  rows.push({
    name,
    pattern: `0q${u}011111slmmmmm${bin(op, 4)}h0nnnnnddddd`,
    handler: byElement(threeSameFp(lane, false), true),
  });
  rows.push({
    name: name.replace('by element', 'scalar, by element'),
    pattern: `01${u}111111slmmmmm${bin(op, 4)}h0nnnnnddddd`,
    handler: byElement(threeSameFpScalar(lane), true),
  });
}
rows.push({
  name: 'SQDMULH (scalar, by element)',
  pattern: '01011111sslmmmmm1100h0nnnnnddddd',
  handler: byElement(threeSameScalar(0, 22), false),
});
rows.push({
  name: 'SQRDMULH (scalar, by element)',
  pattern: '01011111sslmmmmm1101h0nnnnnddddd',
  handler: byElement(threeSameScalar(1, 22), false),
});
rows.push({ name: 'DUP (element, scalar)', pattern: '01011110000iiiii000001nnnnnddddd', handler: dupScalar });

/** Advanced SIMD rows (owned by the FP/SIMD engineer). Merged into the A64 decode table. */
export const SIMD_ROWS: readonly DecodeRow[] = rows;
