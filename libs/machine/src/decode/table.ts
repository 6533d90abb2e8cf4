/**
 * THE A64 decode table: every encoding the CPU executes, as data. Field letters in patterns
 * are documentation (handlers extract their own fields): s=sf/size, o=opc/op, d=Rd, n=Rn,
 * m=Rm, t=Rt, a=Ra, i=immediate, h=hw/shift, c=cond, b=bit number, v=vector flag, x=other.
 * FP and Advanced SIMD rows come from fp/table.ts and simd/table.ts.
 */
import { atomicOp, exclusive } from '../exec/atomic';
import * as br from '../exec/branch';
import * as dp from '../exec/dp';
import * as fast from '../exec/fast';
import * as fastv from '../exec/fastv';
import * as ls from '../exec/ldst';
import { FP_ROWS } from '../fp/table';
import { SIMD_ROWS } from '../simd/table';
import { type DecodeRow, ROW_BRANCH, ROW_PURE } from './types';

const B = ROW_BRANCH;
const P = ROW_PURE;

export const BASE_ROWS: readonly DecodeRow[] = [
  // ---- data processing: immediate
  { name: 'ADR', pattern: '0ii10000iiiiiiiiiiiiiiiiiiiddddd', handler: dp.adr },
  { name: 'ADRP', pattern: '1ii10000iiiiiiiiiiiiiiiiiiiddddd', handler: dp.adrp },
  { name: 'ADD/SUB (imm)', pattern: 'soS100010hiiiiiiiiiiiinnnnnddddd', handler: dp.addSubImm },
  { name: 'AND/ORR/EOR/ANDS (imm)', pattern: 'soo100100Nrrrrrrssssssnnnnnddddd', handler: dp.logicalImm },
  { name: 'MOVN/MOVZ/MOVK', pattern: 'soo100101hhiiiiiiiiiiiiiiiiddddd', handler: dp.moveWide },
  { name: 'SBFM/BFM/UBFM', pattern: 'soo100110Nrrrrrrssssssnnnnnddddd', handler: dp.bitfield },
  { name: 'EXTR', pattern: 's00100111N0mmmmmiiiiiinnnnnddddd', handler: dp.extr },
  // ---- data processing: register
  {
    name: 'AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted)',
    pattern: 'soo01010hhNmmmmmiiiiiinnnnnddddd',
    handler: dp.logicalReg,
  },
  { name: 'ADD/SUB (shifted)', pattern: 'soS01011hh0mmmmmiiiiiinnnnnddddd', handler: dp.addSubShifted },
  { name: 'ADD/SUB (extended)', pattern: 'soS01011001mmmmmxxxiiinnnnnddddd', handler: dp.addSubExtended },
  { name: 'ADC/SBC', pattern: 'soS11010000mmmmm000000nnnnnddddd', handler: dp.adcSbc },
  { name: 'CCMN/CCMP (reg)', pattern: 'so111010010mmmmmcccc00nnnnn0ffff', handler: dp.condCompare },
  { name: 'CCMN/CCMP (imm)', pattern: 'so111010010iiiiicccc10nnnnn0ffff', handler: dp.condCompare },
  { name: 'CSEL/CSINC/CSINV/CSNEG', pattern: 'so011010100mmmmmcccc0onnnnnddddd', handler: dp.condSelect },
  { name: 'UDIV/SDIV/LSLV/LSRV/ASRV/RORV/CRC32', pattern: 's0011010110mmmmmoooooonnnnnddddd', handler: dp.dp2 },
  { name: 'RBIT/REV16/REV32/REV/CLZ/CLS', pattern: 's101101011000000oooooonnnnnddddd', handler: dp.dp1 },
  {
    name: 'MADD/MSUB/SMADDL/SMSUBL/SMULH/UMADDL/UMSUBL/UMULH',
    pattern: 's0011011ooommmmmoaaaaannnnnddddd',
    handler: dp.dp3,
  },
  // ---- branches, exceptions, system
  { name: 'B', pattern: '000101iiiiiiiiiiiiiiiiiiiiiiiiii', handler: br.b, flags: B },
  { name: 'BL', pattern: '100101iiiiiiiiiiiiiiiiiiiiiiiiii', handler: br.bl, flags: B },
  { name: 'B.cond', pattern: '01010100iiiiiiiiiiiiiiiiiii0cccc', handler: br.bcond, flags: B },
  { name: 'CBZ/CBNZ', pattern: 's011010oiiiiiiiiiiiiiiiiiiittttt', handler: br.cbz, flags: B },
  { name: 'TBZ/TBNZ', pattern: 'b011011obbbbbiiiiiiiiiiiiiittttt', handler: br.tbz, flags: B },
  { name: 'BR/BLR/RET', pattern: '11010110ooo11111000000nnnnn00000', handler: br.branchReg, flags: B },
  { name: 'SVC', pattern: '11010100000iiiiiiiiiiiiiiii00001', handler: br.svc, flags: B },
  { name: 'BRK', pattern: '11010100001iiiiiiiiiiiiiiii00000', handler: br.brk, flags: B },
  { name: 'HINT (NOP, YIELD, BTI, PAC*SP, ...)', pattern: '11010101000000110010xxxxxxx11111', handler: br.nop },
  { name: 'CLREX/DSB/DMB/ISB/SB', pattern: '11010101000000110011xxxxooo11111', handler: br.barrier },
  { name: 'SYS (DC ZVA, cache maintenance)', pattern: '1101010100001ooonnnnmmmmooottttt', handler: br.sys },
  { name: 'MSR (register)', pattern: '110101010001xxxxxxxxxxxxxxxttttt', handler: br.msr },
  { name: 'MRS', pattern: '110101010011xxxxxxxxxxxxxxxttttt', handler: br.mrs, flags: B },
  // ---- loads and stores
  {
    name: 'LDXR/STXR/LDAR/STLR/CAS/CASP (exclusive & ordered)',
    pattern: 'ss001000oLosssssoxxxxxnnnnnttttt',
    handler: exclusive,
  },
  { name: 'LDR (literal)', pattern: 'oo011v00iiiiiiiiiiiiiiiiiiittttt', handler: ls.ldrLiteral },
  { name: 'LDP/STP/LDNP/STNP/LDPSW', pattern: 'oo101v0xxLiiiiiiixxxxxnnnnnttttt', handler: ls.ldstPair },
  { name: 'LDUR/STUR/LDTR/pre/post (imm9)', pattern: 'ss111v00oo0iiiiiiiiixxnnnnnttttt', handler: ls.ldstImm9 },
  { name: 'LDR/STR (register offset)', pattern: 'ss111v00oo1mmmmmxxxS10nnnnnttttt', handler: ls.ldstReg },
  {
    name: 'LDADD/LDCLR/LDEOR/LDSET/LD[SU]MAX/LD[SU]MIN/SWP',
    pattern: 'ss111000AR1sssssoooo00nnnnnttttt',
    handler: atomicOp,
  },
  { name: 'LDR/STR (unsigned offset)', pattern: 'ss111v01ooiiiiiiiiiiiinnnnnttttt', handler: ls.ldstUimm },
];

/**
 * Specialised hot forms: each has more fixed bits than the generic row it shadows, so it wins
 * the decode. test/cpu/fastpath.spec.ts checks each against the generic row on random inputs.
 */
export const FAST_ROWS: readonly DecodeRow[] = [
  { name: 'LDR Xt (uimm, fast)', pattern: '1111100101iiiiiiiiiiiinnnnnttttt', handler: ls.ldrX },
  { name: 'STR Xt (uimm, fast)', pattern: '1111100100iiiiiiiiiiiinnnnnttttt', handler: ls.strX },
  { name: 'LDR Wt (uimm, fast)', pattern: '1011100101iiiiiiiiiiiinnnnnttttt', handler: ls.ldrW },
  { name: 'STR Wt (uimm, fast)', pattern: '1011100100iiiiiiiiiiiinnnnnttttt', handler: ls.strW },
  { name: 'LDRB Wt (uimm, fast)', pattern: '0011100101iiiiiiiiiiiinnnnnttttt', handler: ls.ldrB },
  { name: 'ADD Xd|SP, Xn|SP, #imm', pattern: '100100010hiiiiiiiiiiiinnnnnddddd', handler: fast.addXImm, flags: P },
  { name: 'SUB Xd|SP, Xn|SP, #imm', pattern: '110100010hiiiiiiiiiiiinnnnnddddd', handler: fast.subXImm, flags: P },
  { name: 'SUBS Xd, Xn|SP, #imm', pattern: '111100010hiiiiiiiiiiiinnnnnddddd', handler: fast.subsXImm, flags: P },
  { name: 'SUBS Wd, Wn|WSP, #imm', pattern: '011100010hiiiiiiiiiiiinnnnnddddd', handler: fast.subsWImm, flags: P },
  { name: 'ADD Wd|WSP, Wn|WSP, #imm', pattern: '000100010hiiiiiiiiiiiinnnnnddddd', handler: fast.addWImm, flags: P },
  { name: 'MOV Xd, Xm', pattern: '10101010000mmmmm00000011111ddddd', handler: fast.movX, flags: P },
  { name: 'MOV Wd, Wm', pattern: '00101010000mmmmm00000011111ddddd', handler: fast.movW, flags: P },
  { name: 'ADD Xd, Xn, Xm, LSL #<32', pattern: '10001011000mmmmm0iiiiinnnnnddddd', handler: fast.addXLsl, flags: P },
  { name: 'SUBS Xd, Xn, Xm', pattern: '11101011000mmmmm000000nnnnnddddd', handler: fast.subsXReg, flags: P },
  { name: 'SUBS Wd, Wn, Wm', pattern: '01101011000mmmmm000000nnnnnddddd', handler: fast.subsWReg, flags: P },
  { name: 'MOVZ Xd', pattern: '110100101hhiiiiiiiiiiiiiiiiddddd', handler: fast.movzX, flags: P },
  { name: 'MOVZ Wd', pattern: '0101001010hiiiiiiiiiiiiiiiiddddd', handler: fast.movzW, flags: P },
  { name: 'CSEL Xd', pattern: '10011010100mmmmmcccc00nnnnnddddd', handler: fast.cselX, flags: P },
  { name: 'UBFM Xd (LSL/LSR/UBFX)', pattern: '1101001101rrrrrrssssssnnnnnddddd', handler: fast.ubfmX, flags: P },
  { name: 'LDP Xt1, Xt2 (offset/pre/post)', pattern: '1010100xx1iiiiiiixxxxxnnnnnttttt', handler: fast.ldpX },
  { name: 'STP Xt1, Xt2 (offset/pre/post)', pattern: '1010100xx0iiiiiiixxxxxnnnnnttttt', handler: fast.stpX },
  { name: 'LDR Xt/Wt/Ht/Bt [Xn, Rm{, extend}]', pattern: 'ss111000011mmmmmx1xS10nnnnnttttt', handler: fast.ldrReg },
  { name: 'STR Xt/Wt/Ht/Bt [Xn, Rm{, extend}]', pattern: 'ss111000001mmmmmx1xS10nnnnnttttt', handler: fast.strReg },
  { name: 'STRB Wt (uimm, fast)', pattern: '0011100100iiiiiiiiiiiinnnnnttttt', handler: fast.strB },
  { name: 'AND/ORR Xd, Xn, Xm, shift', pattern: '10o01010hh0mmmmmiiiiiinnnnnddddd', handler: fast.logicX, flags: P },
  { name: 'EOR Xd, Xn, Xm, shift', pattern: '11001010hh0mmmmmiiiiiinnnnnddddd', handler: fast.logicX, flags: P },
  { name: 'AND/ORR Wd, Wn, Wm, shift', pattern: '00o01010hh0mmmmm0iiiiinnnnnddddd', handler: fast.logicW, flags: P },
  { name: 'EOR Wd, Wn, Wm, shift', pattern: '01001010hh0mmmmm0iiiiinnnnnddddd', handler: fast.logicW, flags: P },
  { name: 'STR/LDR B/H/W/X (imm9, unsigned)', pattern: 'ss1110000L0iiiiiiiiixxnnnnnttttt', handler: fast.ldstImm9Int },
  { name: 'LDR/STR Dt (uimm, fast)', pattern: '111111010Liiiiiiiiiiiinnnnnttttt', handler: fastv.ldstDUimm },
  { name: 'LDR/STR Qt (uimm, fast)', pattern: '001111011Liiiiiiiiiiiinnnnnttttt', handler: fastv.ldstQUimm },
  { name: 'LDR/STR Dt [Xn, Rm{, extend}]', pattern: '111111000L1mmmmmx1xS10nnnnnttttt', handler: fastv.ldstDReg },
  { name: 'LDR/STR Qt [Xn, Rm{, extend}]', pattern: '001111001L1mmmmmx1xS10nnnnnttttt', handler: fastv.ldstQReg },
  {
    name: 'LDR/STR Qt (imm9: unscaled, pre, post)',
    pattern: '001111001L0iiiiiiiiixxnnnnnttttt',
    handler: fastv.ldstQImm9,
  },
  { name: 'LDP/STP Qt1, Qt2 (all forms)', pattern: '1010110xxLiiiiiiixxxxxnnnnnttttt', handler: fastv.ldstQPair },
  { name: 'LDP/STP Dt1, Dt2 (all forms)', pattern: '0110110xxLiiiiiiixxxxxnnnnnttttt', handler: fastv.ldstDPair },
];

/** Every row, base integer first, then FP, then Advanced SIMD. */
export const ALL_ROWS: readonly DecodeRow[] = [...BASE_ROWS, ...FAST_ROWS, ...FP_ROWS, ...SIMD_ROWS];
