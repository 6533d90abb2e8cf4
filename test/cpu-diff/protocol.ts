/**
 * The byte protocol between the TypeScript runner and the guest harness (harness.c), and the
 * architectural state a case sets and reads back. Offsets mirror the #defines in harness.c.
 */

export const CODE_ADDR = 0x10_0000_0000;
export const CODE_RESERVE = 128 * 1024 * 1024;
export const CODE_SIZE = 4096;
export const SCRATCH_ADDR = 0x20_0000_0000;
export const SCRATCH_SIZE = 65536;
export const MAX_INSN = 8;
/** `brk #0x4c48`: fills the code page around the instructions under test. */
export const BRK_WORD = 0xd4298900;

const IN_X = 0;
const IN_SP = 248;
const IN_TPIDR = 256;
const IN_V = 264;
const IN_NZCV = 776;
const IN_FPCR = 780;
const IN_FPSR = 784;
const IN_MEMSEED = 788;
const IN_NINSN = 792;
const IN_INSN = 796;
export const IN_SIZE = 828;
const OUT_SIGNO = 788;
const OUT_SICODE = 792;
const OUT_PC = 800;
const OUT_FADDR = 808;
const OUT_NMEM = 816;
const OUT_HDR = 820;

/** Linux signal numbers as the harness reports them. */
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGSEGV = 11;
export const SIGVTALRM = 26;

/** Register state. 64-bit values are bigint here: this is test code, not the hot path. */
export interface ArchState {
  x: bigint[]; // 31 entries
  sp: bigint;
  tpidr: bigint;
  /** 32 × 16 bytes, V0 first. */
  v: Uint8Array;
  nzcv: number;
  fpcr: number;
  fpsr: number;
}

export interface TestCase {
  /** Index of the decode row this case was generated from (for the per-class table). */
  row: number;
  insns: number[];
  state: ArchState;
  memSeed: number;
}

/** How a case ended. */
export type StopKind = 'brk' | 'undefined' | 'segv' | 'bus' | 'timeout' | 'svc' | 'other';

export interface CaseResult {
  stop: StopKind;
  /** PC where it stopped (brk, fault, undefined). */
  pc: bigint;
  /** Fault address (segv/bus), else 0. */
  faultAddr: bigint;
  /** si_code of the signal (qemu side; informational, not compared). */
  siCode: number;
  state: ArchState;
  /** Scratch bytes that differ from the seeded fill: offset → new value. */
  mem: Map<number, number>;
}

export function encodeCases(cases: readonly TestCase[]): Buffer {
  const buf = Buffer.alloc(8 + IN_SIZE * cases.length);
  buf.write('LCDF', 0, 'latin1');
  buf.writeUInt32LE(cases.length, 4);
  let o = 8;
  for (const c of cases) {
    if (c.insns.length < 1 || c.insns.length > MAX_INSN) throw new Error(`a case needs 1..${MAX_INSN} instructions`);
    for (let i = 0; i < 31; i++) buf.writeBigUInt64LE(BigInt.asUintN(64, c.state.x[i]), o + IN_X + 8 * i);
    buf.writeBigUInt64LE(BigInt.asUintN(64, c.state.sp), o + IN_SP);
    buf.writeBigUInt64LE(BigInt.asUintN(64, c.state.tpidr), o + IN_TPIDR);
    buf.set(c.state.v, o + IN_V);
    buf.writeUInt32LE(c.state.nzcv >>> 0, o + IN_NZCV);
    buf.writeUInt32LE(c.state.fpcr >>> 0, o + IN_FPCR);
    buf.writeUInt32LE(c.state.fpsr >>> 0, o + IN_FPSR);
    buf.writeUInt32LE(c.memSeed >>> 0, o + IN_MEMSEED);
    buf.writeUInt32LE(c.insns.length, o + IN_NINSN);
    c.insns.forEach((w, i) => buf.writeUInt32LE(w >>> 0, o + IN_INSN + 4 * i));
    o += IN_SIZE;
  }
  return buf;
}

function stopFromSignal(sig: number): StopKind {
  switch (sig) {
    case SIGTRAP:
      return 'brk';
    case SIGILL:
      return 'undefined';
    case SIGSEGV:
      return 'segv';
    case SIGBUS:
      return 'bus';
    case SIGVTALRM:
      return 'timeout';
    default:
      return 'other';
  }
}

export function decodeResults(buf: Buffer, expected: number): CaseResult[] {
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== 'LCDR') throw new Error('harness output: bad header');
  const n = buf.readUInt32LE(4);
  if (n !== expected) throw new Error(`harness output: ${n} results for ${expected} cases`);
  const out: CaseResult[] = [];
  let o = 8;
  for (let k = 0; k < n; k++) {
    if (o + OUT_HDR > buf.length) throw new Error('harness output: truncated');
    const x: bigint[] = [];
    for (let i = 0; i < 31; i++) x.push(buf.readBigUInt64LE(o + IN_X + 8 * i));
    const state: ArchState = {
      x,
      sp: buf.readBigUInt64LE(o + IN_SP),
      tpidr: buf.readBigUInt64LE(o + IN_TPIDR),
      v: new Uint8Array(buf.subarray(o + IN_V, o + IN_V + 512)),
      nzcv: buf.readUInt32LE(o + IN_NZCV),
      fpcr: buf.readUInt32LE(o + IN_FPCR),
      fpsr: buf.readUInt32LE(o + IN_FPSR),
    };
    const sig = buf.readUInt32LE(o + OUT_SIGNO);
    const nmem = buf.readUInt32LE(o + OUT_NMEM);
    const mem = new Map<number, number>();
    for (let i = 0; i < nmem; i++) {
      const e = buf.readUInt32LE(o + OUT_HDR + 4 * i);
      mem.set(e & 0xffff, (e >>> 16) & 0xff);
    }
    out.push({
      stop: stopFromSignal(sig),
      pc: buf.readBigUInt64LE(o + OUT_PC),
      faultAddr: buf.readBigUInt64LE(o + OUT_FADDR),
      siCode: buf.readInt32LE(o + OUT_SICODE),
      state,
      mem,
    });
    o += OUT_HDR + 4 * nmem;
  }
  return out;
}

/** The harness's scratch fill: xorshift32 words from the case's seed (0 means a fixed seed). */
export function scratchFill(seed: number): Uint8Array {
  const out = new Uint8Array(SCRATCH_SIZE);
  const dv = new DataView(out.buffer);
  let s = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < SCRATCH_SIZE; i += 4) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    dv.setUint32(i, s, true);
  }
  return out;
}

/** Code page contents for a case: the instructions, then BRK everywhere else. */
export function codePage(insns: readonly number[]): Uint8Array {
  const out = new Uint8Array(CODE_SIZE);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < CODE_SIZE; i += 4) dv.setUint32(i, i / 4 < insns.length ? insns[i / 4] >>> 0 : BRK_WORD, true);
  return out;
}
