/** Branches, exception generation, hints, barriers and system-register access. */
import { type CpuState } from '../state';
import * as M_state from '../state';
// Local bindings: hot code must not go through module-export getters.
const { BREAKPOINT_SIGNAL, condHolds, setX, undefinedInsn, xNum } = M_state;

const TWO32 = 4294967296;
const STOP_SVC = 1;

function link(s: CpuState): void {
  const r = s.pc + 4;
  s.x[60] = r | 0;
  s.x[61] = Math.floor(r / TWO32) | 0;
}

export function b(s: CpuState, insn: number): void {
  s.npc = s.pc + ((insn << 6) >> 4);
}
export function bl(s: CpuState, insn: number): void {
  link(s);
  s.npc = s.pc + ((insn << 6) >> 4);
}
export function bcond(s: CpuState, insn: number): void {
  if (condHolds(s, insn & 15)) s.npc = s.pc + ((insn << 8) >> 13) * 4;
}
export function cbz(s: CpuState, insn: number): void {
  const t = (insn & 31) << 1;
  const nz = (insn >>> 24) & 1;
  const zero = insn < 0 ? (s.x[t] | s.x[t + 1]) === 0 : s.x[t] === 0;
  if (zero !== (nz === 1)) s.npc = s.pc + ((insn << 8) >> 13) * 4;
}
export function tbz(s: CpuState, insn: number): void {
  const t = (insn & 31) << 1;
  const bit = ((insn >>> 26) & 32) | ((insn >>> 19) & 31);
  const v = bit >= 32 ? (s.x[t + 1] >>> (bit - 32)) & 1 : (s.x[t] >>> bit) & 1;
  if (v === ((insn >>> 24) & 1)) s.npc = s.pc + ((insn << 13) >> 18) * 4;
}
/** BR, BLR, RET (no pointer authentication). */
export function branchReg(s: CpuState, insn: number): void {
  const opc = (insn >>> 21) & 15;
  if ((insn & 0xfc1f) !== 0 || opc > 2) undefinedInsn();
  const target = xNum(s, (insn >>> 5) & 31);
  if (opc === 1) link(s);
  s.npc = target;
}

export function svc(s: CpuState, insn: number): void {
  s.svcImm = (insn >>> 5) & 0xffff;
  s.stop = STOP_SVC;
}
export function brk(s: CpuState, insn: number): void {
  s.svcImm = (insn >>> 5) & 0xffff;
  throw BREAKPOINT_SIGNAL;
}
export function nop(_s: CpuState, _insn: number): void {}

/** CLREX, DSB, DMB, ISB, SB. */
export function barrier(s: CpuState, insn: number): void {
  const op2 = (insn >>> 5) & 7;
  if (op2 === 2) s.mem.monitorAddr = -1;
  else if (op2 < 4 || (op2 === 7 && ((insn >>> 8) & 15) !== 0)) undefinedInsn(); // SB needs CRm = 0
}

// System registers as op0:op1:CRn:CRm:op2 (16 bits, = insn bits 20..5).
const sysreg = (op0: number, op1: number, crn: number, crm: number, op2: number): number =>
  (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
const NZCV = sysreg(3, 3, 4, 2, 0);
const DAIF = sysreg(3, 3, 4, 2, 1);
const FPCR = sysreg(3, 3, 4, 4, 0);
const FPSR = sysreg(3, 3, 4, 4, 1);
const TPIDR_EL0 = sysreg(3, 3, 13, 0, 2);
const TPIDRRO_EL0 = sysreg(3, 3, 13, 0, 3);
const CNTFRQ_EL0 = sysreg(3, 3, 14, 0, 0);
const CNTPCT_EL0 = sysreg(3, 3, 14, 0, 1);
const CNTVCT_EL0 = sysreg(3, 3, 14, 0, 2);
const CTR_EL0 = sysreg(3, 3, 0, 0, 1);
const DCZID_EL0 = sysreg(3, 3, 0, 0, 7);

/**
 * Values of the ID registers as Linux's EL0 emulation (MRS trap, "cpuid" HWCAP) reports
 * them for the CPU this interpreter implements: FP, AdvSIMD, CRC32 and LSE atomics; no SVE,
 * no crypto, no pointer authentication, no RCpc. [lo, hi] halves.
 */
export const ID_REGISTERS: ReadonlyMap<number, readonly [number, number]> = new Map<number, readonly [number, number]>([
  [sysreg(3, 0, 0, 0, 0), [0x413fd0c1, 0]], // MIDR_EL1: Arm Neoverse-N1 r3p1
  [sysreg(3, 0, 0, 0, 5), [0x80000000, 0]], // MPIDR_EL1: uniprocessor
  [sysreg(3, 0, 0, 0, 6), [0, 0]], // REVIDR_EL1
  [sysreg(3, 0, 0, 4, 0), [0x00000011, 0]], // ID_AA64PFR0_EL1: EL0/EL1 AArch64, FP, AdvSIMD (no FP16)
  [sysreg(3, 0, 0, 6, 0), [0x00210000, 0]], // ID_AA64ISAR0_EL1: CRC32=1, Atomic=2
]);
/** The AT_HWCAP bits consistent with ID_REGISTERS: FP | ASIMD | CRC32 | ATOMICS | CPUID. */
export const HWCAP = (1 << 0) | (1 << 1) | (1 << 7) | (1 << 8) | (1 << 11);
/** DCZID_EL0: DC ZVA zeroes 64-byte blocks. */
export const DCZ_BLOCK = 64;

function readSys(s: CpuState, key: number, t: number): void {
  switch (key) {
    case NZCV:
      return setX(s, t, s.getNZCV() | 0, 0);
    case DAIF:
      return setX(s, t, 0, 0);
    case FPCR:
      return setX(s, t, s.fpcr, 0);
    case FPSR:
      return setX(s, t, s.fpsr, 0);
    case TPIDR_EL0:
      return setX(s, t, s.tpidrLo, s.tpidrHi);
    case TPIDRRO_EL0:
      return setX(s, t, s.tpidrroLo, s.tpidrroHi);
    case CNTFRQ_EL0:
      return setX(s, t, s.counterFrequency | 0, 0);
    case CNTPCT_EL0:
    case CNTVCT_EL0: {
      const c = s.readCounter();
      return setX(s, t, c | 0, Math.floor(c / TWO32) | 0);
    }
    case CTR_EL0:
      return setX(s, t, 0x8444c004 | 0, 0);
    case DCZID_EL0:
      return setX(s, t, 4, 0);
  }
  // Linux emulates the whole ID space op0=3, op1=0, CRn=0, CRm=0..7 (unknown ones read 0).
  if (key >>> 7 === sysreg(3, 0, 0, 0, 0) >>> 7 && ((key >>> 3) & 15) < 8) {
    const v = ID_REGISTERS.get(key);
    return setX(s, t, v ? v[0] | 0 : 0, v ? v[1] | 0 : 0);
  }
  undefinedInsn();
}

export function mrs(s: CpuState, insn: number): void {
  readSys(s, (insn >>> 5) & 0xffff, insn & 31);
}

export function msr(s: CpuState, insn: number): void {
  const key = (insn >>> 5) & 0xffff;
  const t = (insn & 31) << 1;
  const lo = s.x[t];
  const hi = s.x[t + 1];
  switch (key) {
    case NZCV:
      return s.setNZCV(lo);
    case FPCR:
      s.fpcr = lo & 0x07ff9f00;
      return;
    case FPSR:
      s.fpsr = lo & 0xf800009f;
      return;
    case TPIDR_EL0:
      s.tpidrLo = lo;
      s.tpidrHi = hi;
      return;
  }
  undefinedInsn();
}

/** SYS: DC ZVA zeroes a block; cache maintenance is a no-op (decoded code is dropped on writes). */
export function sys(s: CpuState, insn: number): void {
  const op1 = (insn >>> 16) & 7;
  const crn = (insn >>> 12) & 15;
  const crm = (insn >>> 8) & 15;
  const op2 = (insn >>> 5) & 7;
  if (op1 === 3 && crn === 7) {
    if (crm === 4 && op2 === 1) {
      // The top byte is ignored (Linux TBI0), as for loads and stores.
      const t = (insn & 31) << 1;
      const a = (s.xu[t + 1] & 0xffffff) * 4294967296 + s.xu[t];
      const base = a - (a % DCZ_BLOCK);
      s.mem.probeWrite(base, DCZ_BLOCK);
      for (let i = 0; i < DCZ_BLOCK; i += 8) s.mem.st64(base + i, 0, 0);
      return;
    }
    // DC CVAU/CVAC/CIVAC/CVAP/CVADP, IC IVAU
    if ((crm === 11 || crm === 10 || crm === 14 || crm === 12 || crm === 13) && op2 === 1) return;
    if (crm === 5 && op2 === 1) return;
  }
  undefinedInsn();
}
