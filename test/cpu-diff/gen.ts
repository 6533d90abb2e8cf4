/**
 * Seeded, reproducible test-case generation from decode-table rows.
 *
 * A row's pattern fixes some bits; the others are drawn at random. Register state is random
 * with a bias towards interesting values (zero, ±1, extremes; FP zeros, infinities, NaNs,
 * subnormals). Instruction classes that would leave the harness get constrained operands:
 * load/store base registers point into the scratch area, branch-register targets point into
 * the code page, and exception-generating and non-deterministic system instructions are
 * never generated (see `rejectWord`).
 */
import { CODE_ADDR, CODE_SIZE, MAX_INSN, SCRATCH_ADDR, type ArchState, type TestCase } from './protocol';

/** What the generator needs from a decode row (a subset of libs/machine's DecodeRow). */
export interface RowLike {
  readonly name: string;
  readonly pattern: string;
}

export interface ParsedRow {
  name: string;
  mask: number;
  value: number;
}

export function parsePattern(row: RowLike): ParsedRow {
  const bits = row.pattern.replace(/[_ ]/g, '');
  if (bits.length !== 32) throw new Error(`row ${row.name}: pattern has ${bits.length} bits, expected 32`);
  let mask = 0;
  let value = 0;
  for (let i = 0; i < 32; i++) {
    const ch = bits[i];
    const bit = 31 - i;
    if (ch === '0' || ch === '1') {
      mask |= 1 << bit;
      if (ch === '1') value |= 1 << bit;
    }
  }
  return { name: row.name, mask: mask >>> 0, value: value >>> 0 };
}

/** xoshiro128** — small, fast, seedable. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    // splitmix32 to spread the seed
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }
  u32(): number {
    const r = Math.imul(((Math.imul(this.b, 5) << 7) | (Math.imul(this.b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = ((this.d << 11) | (this.d >>> 21)) >>> 0;
    return r;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

const INT_SPECIALS: bigint[] = [
  0n,
  1n,
  2n,
  0xffff_ffff_ffff_ffffn,
  0x7fff_ffff_ffff_ffffn,
  0x8000_0000_0000_0000n,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_ffffn,
  0xffff_ffff_8000_0000n,
  0xffn,
  0x80n,
  0xffffn,
  0x8000n,
  63n,
  64n,
  32n,
  31n,
];

function randomX(rng: Rng): bigint {
  const r = rng.below(10);
  if (r < 2) return INT_SPECIALS[rng.below(INT_SPECIALS.length)];
  if (r < 4) return BigInt(rng.below(512)) - 256n;
  if (r < 5) return BigInt(rng.u32());
  return rng.u64();
}

/** Interesting binary16/32/64 encodings (as unsigned bit patterns in the low bits). */
function fpSpecial(rng: Rng, width: 16 | 32 | 64): bigint {
  const e = width === 16 ? 5 : width === 32 ? 8 : 11;
  const f = width - 1 - e;
  const sign = rng.chance(0.5) ? 1n << BigInt(width - 1) : 0n;
  const expMax = (1n << BigInt(e)) - 1n;
  const bias = (1n << BigInt(e - 1)) - 1n;
  const fracMask = (1n << BigInt(f)) - 1n;
  const randFrac = (): bigint => {
    const v = rng.u64() & fracMask;
    return v;
  };
  let body: bigint;
  switch (rng.below(12)) {
    case 0:
      body = 0n; // zero
      break;
    case 1:
      body = expMax << BigInt(f); // infinity
      break;
    case 2:
      body = (expMax << BigInt(f)) | (1n << BigInt(f - 1)) | (randFrac() & (fracMask >> 1n)); // qNaN
      break;
    case 3:
      body = (expMax << BigInt(f)) | (randFrac() & (fracMask >> 1n) || 1n); // sNaN
      break;
    case 4:
      body = randFrac() || 1n; // subnormal
      break;
    case 5:
      body = bias << BigInt(f); // 1.0
      break;
    case 6:
      body = ((expMax - 1n) << BigInt(f)) | fracMask; // max normal
      break;
    case 7:
      body = (1n << BigInt(f)) | randFrac(); // small normal
      break;
    case 8: {
      // integers and halves (rounding cases)
      const k = BigInt(rng.below(Math.min(f, 24)));
      body = ((bias + k) << BigInt(f)) | (randFrac() & ~((fracMask >> k) >> 1n));
      break;
    }
    case 9: {
      // near the integer conversion limits
      const k = BigInt([31, 32, 63, 64, 15, 16][rng.below(6)]);
      const ex = bias + k - BigInt(rng.below(2));
      body = ex >= expMax ? expMax << BigInt(f) : (ex << BigInt(f)) | randFrac();
      break;
    }
    default: {
      // moderate exponent range
      const ex = bias - 20n + BigInt(rng.below(40));
      body = ((ex < 1n ? 1n : ex >= expMax ? expMax - 1n : ex) << BigInt(f)) | randFrac();
    }
  }
  return sign | body;
}

function randomV(rng: Rng, out: Uint8Array, reg: number): void {
  const base = reg * 16;
  const mode = rng.below(6);
  if (mode < 2) {
    for (let i = 0; i < 16; i++) out[base + i] = rng.below(256);
    return;
  }
  if (mode === 2) {
    // small byte values and byte specials (string routines look for 0)
    for (let i = 0; i < 16; i++) out[base + i] = rng.chance(0.2) ? 0 : rng.chance(0.5) ? 0xff : rng.below(256);
    return;
  }
  const width = mode === 3 ? 64 : mode === 4 ? 32 : rng.chance(0.5) ? 16 : 32;
  const bytes = width / 8;
  for (let off = 0; off < 16; off += bytes) {
    let v = rng.chance(0.7) ? fpSpecial(rng, width as 16 | 32 | 64) : rng.u64();
    for (let i = 0; i < bytes; i++) {
      out[base + off + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
}

/** FPCR bits the tests vary: AHP, DN, FZ, RMode, FZ16. */
export const FPCR_TEST_MASK = 0x07c80000;
/** FPSR bits the tests vary: QC, IDC, IXC, UFC, OFC, DZC, IOC. */
export const FPSR_TEST_MASK = 0x0800009f;

export function randomState(rng: Rng): ArchState {
  const x: bigint[] = [];
  for (let i = 0; i < 31; i++) x.push(randomX(rng));
  const v = new Uint8Array(512);
  for (let r = 0; r < 32; r++) randomV(rng, v, r);
  return {
    x,
    sp: BigInt(SCRATCH_ADDR + 0x8000 + 16 * rng.below(64)),
    tpidr: rng.u64(),
    v,
    nzcv: (rng.u32() & 0xf0000000) >>> 0,
    fpcr: rng.chance(0.4) ? 0 : (rng.u32() & FPCR_TEST_MASK) >>> 0,
    fpsr: rng.chance(0.5) ? 0 : (rng.u32() & FPSR_TEST_MASK) >>> 0,
  };
}

const isLoadStore = (w: number): boolean => (w & 0x0a000000) === 0x08000000;
const isBranchReg = (w: number): boolean => (w & 0xfe000000) >>> 0 === 0xd6000000;
const isSystem = (w: number): boolean => (w & 0xffc00000) >>> 0 === 0xd5000000;

/**
 * Words the harness must never run: SVC/HVC/SMC/DCPS (a random syscall under qemu could do
 * anything), reads of counters and random-number registers (non-deterministic), and system
 * instructions other than hints, barriers, NZCV/FPCR/FPSR/TPIDR_EL0 moves and DC ZVA.
 */
/**
 * Encodings of extensions Lichen does not implement or advertise (HWCAP) but qemu's `max`
 * CPU executes: never generated, so the comparison stays about what Lichen claims to support.
 */
const NOT_ADVERTISED: [number, number, string][] = [
  [0xfffffc00, 0x1e634000, 'BFCVT (FEAT_BF16)'],
  [0xfffffc00, 0x1e7e0000, 'FJCVTZS (FEAT_JSCVT)'],
  [0xffc00000, 0x68800000, 'STGP (FEAT_MTE)'],
  [0xffc00000, 0x69000000, 'STGP (FEAT_MTE)'],
  [0xffc00000, 0x69800000, 'STGP (FEAT_MTE)'],
  [0xffe0fc00, 0x9ac01000, 'IRG (FEAT_MTE)'],
  [0xffe0fc00, 0x9ac01400, 'GMI (FEAT_MTE)'],
  [0xffe0fc00, 0x9ac00000, 'SUBP (FEAT_MTE)'],
  [0xffe0fc00, 0xbac00000, 'SUBPS (FEAT_MTE)'],
  [0xffc0c000, 0x91800000, 'ADDG (FEAT_MTE)'],
  [0xffc0c000, 0xd1800000, 'SUBG (FEAT_MTE)'],
  [0x3ffffc00, 0x38bfc000, 'LDAPR* (FEAT_LRCPC)'],
];

export function rejectWord(w: number): string | null {
  for (const [mask, value, what] of NOT_ADVERTISED) if ((w & mask) >>> 0 === value) return what;
  if ((w & 0xff000000) >>> 0 === 0xd4000000) {
    // exception generation: allow BRK only
    if ((w & 0xffe0001f) >>> 0 === 0xd4200000) return null;
    return 'exception-generating';
  }
  if (isSystem(w)) {
    const l = (w >>> 21) & 1;
    const op0 = (w >>> 19) & 3;
    if (op0 === 0) return null; // hints, barriers, PSTATE
    const sysreg = (w >>> 5) & 0xffff; // op0:op1:CRn:CRm:op2
    const allowed = [
      0xda10, // NZCV
      0xda20, // FPCR
      0xda21, // FPSR
      0xde82, // TPIDR_EL0
    ];
    if (op0 >= 2 && allowed.includes(sysreg)) return null;
    if (op0 === 1 && l === 0 && ((w >>> 5) & 0x3fff) === 0x1ba1) return null; // DC ZVA (op1=3 CRn=7 CRm=4 op2=1)
    return 'system register or cache maintenance';
  }
  return null;
}

export interface GenOptions {
  /** Instructions per case (1 = single instruction). */
  length?: number;
}

/** Field positions (bit offsets) used as register numbers by load/store encodings. */
const LS_REG_FIELDS = [0, 5, 10, 16];

function regField(w: number, at: number): number {
  return (w >>> at) & 31;
}

/** Draws one instruction word from a row, honouring the constraints above. Null if none found. */
export function randomWord(rng: Rng, row: ParsedRow): number | null {
  for (let tries = 0; tries < 64; tries++) {
    const w = ((row.value | (rng.u32() & ~row.mask)) >>> 0) as number;
    if (rejectWord(w) !== null) continue;
    if (isLoadStore(w) && (w & 0x04000000) === 0) {
      // integer load/store: avoid the CONSTRAINED UNPREDICTABLE register overlaps
      const regs = LS_REG_FIELDS.map((at) => regField(w, at));
      const rn = regs[1];
      if (rn !== 31 && (regs[0] === rn || regs[2] === rn || regs[3] === rn)) continue;
      if (regs[0] === regs[2] || regs[0] === regs[3]) continue;
    } else if (isLoadStore(w)) {
      const rn = regField(w, 5);
      if (rn !== 31 && regField(w, 16) === rn) continue;
    }
    return w;
  }
  return null;
}

/** Adjusts the state so that the instruction's memory and branch operands stay inside the harness. */
export function constrainState(rng: Rng, w: number, st: ArchState): void {
  if (isLoadStore(w)) {
    const rn = regField(w, 5);
    const ptr = BigInt(SCRATCH_ADDR + 0x6000 + (rng.chance(0.7) ? 16 * rng.below(256) : rng.below(4096)));
    // exclusives (bits 29:24 = 001000): keep the address aligned; qemu-user does not check
    // alignment on a store-exclusive that fails its monitor check, the architecture does
    const exclusive = ((w >>> 24) & 0x3f) === 0x08;
    if (rn !== 31) st.x[rn] = exclusive ? ptr - (ptr % 16n) : ptr;
    // register-offset and post-index-by-register forms: keep the offset register small
    const rm = regField(w, 16);
    if (rm !== 31 && rm !== rn) st.x[rm] = BigInt(rng.below(512)) - 256n;
    // exclusive pairs and CAS use Rs (bits 20:16) as data: leave as set if they are data
  }
  if (isBranchReg(w)) {
    const rn = regField(w, 5);
    if (rn !== 31) st.x[rn] = BigInt(CODE_ADDR + 4 * rng.below(CODE_SIZE / 4));
  }
  if (isSystem(w) && ((w >>> 5) & 0x3fff) === 0x1ba1) {
    const rt = regField(w, 0);
    if (rt !== 31) st.x[rt] = BigInt(SCRATCH_ADDR + 0x6000 + rng.below(8192));
  }
}

export function generateCase(
  rng: Rng,
  rows: readonly ParsedRow[],
  rowIndex: number,
  opts: GenOptions = {},
): TestCase | null {
  const len = Math.min(Math.max(opts.length ?? 1, 1), MAX_INSN);
  const insns: number[] = [];
  for (let i = 0; i < len; i++) {
    const w = randomWord(rng, rows[i === 0 ? rowIndex : rng.below(rows.length)]);
    if (w === null) return null;
    insns.push(w);
  }
  const state = randomState(rng);
  for (const w of insns) constrainState(rng, w, state);
  return { row: rowIndex, insns, state, memSeed: rng.u32() | 1 };
}
