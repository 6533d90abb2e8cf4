/** The AArch64 EL0 interpreter: run loop, architectural state access, contexts. */
import {
  type AddressSpace,
  type Cpu,
  type CpuContext,
  type CpuHost,
  type FaultInfo,
  type GuestAddr,
  PAGE_SIZE,
  StopReason,
} from './api';
import { type CompiledBlock, HOT_THRESHOLD, compileBlock } from './decode/blocks';
import { type Decoder, defaultDecoder } from './decode/dispatch';
import { type AddrHalves, dataFaultAddress, splitAddress } from './fault-address';
import { AddressSpaceImpl, PhysicalMemoryImpl } from './memory';
import { CpuState, StopSignal } from './state';

const TWO32 = 4294967296;
// Local copies: hot code must not read module exports (getters under some loaders).
const PAGE = 4096;
const R_BUDGET = 0;
const BRANCH = 1; // ROW_BRANCH
const R_FAULT = 2;
const R_UNDEFINED = 3;
const R_BREAKPOINT = 4;
const TWO64 = 18446744073709551616n;

/**
 * A saved context is one buffer (one backing store): the integer registers (CTX_X words), the
 * vector registers (CTX_V words from word CTX_X) and the scalars (pc, nzcv, fpcr, fpsr, tpidr
 * lo/hi, tpidrro lo/hi) as doubles from double CTX_SCALARS.
 */
interface SavedContext extends CpuContext {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
}
const CTX_X = 34 * 2;
const CTX_V = 32 * 4;
const CTX_SCALARS = (CTX_X + CTX_V) / 2;
const CTX_BYTES = (CTX_SCALARS + 8) * 8;

export class AArch64Cpu implements Cpu {
  readonly state: CpuState;
  private space: AddressSpaceImpl;
  private readonly decoder: Decoder;
  private retiredLast = 0;
  private total = 0;
  private fault: FaultInfo | null = null;
  private undef = 0;
  /** Compile hot blocks (true by default; false = pure interpreter, for differential checks). */
  jit = true;

  constructor(addressSpace: AddressSpace, host?: CpuHost) {
    this.space = asImpl(addressSpace);
    this.state = new CpuState(this.space);
    this.decoder = defaultDecoder();
    if (host) {
      this.state.readCounter = () => host.readCounter();
      this.state.counterFrequency = host.counterFrequency;
    }
  }

  get addressSpace(): AddressSpace {
    return this.space;
  }
  set addressSpace(a: AddressSpace) {
    const impl = asImpl(a);
    this.space.monitorAddr = -1;
    this.space = impl;
    this.state.mem = impl;
    impl.monitorAddr = -1;
  }
  get retired(): number {
    return this.retiredLast;
  }
  get totalRetired(): number {
    return this.total;
  }
  get svcImmediate(): number {
    return this.state.svcImm;
  }
  get lastFault(): FaultInfo | null {
    return this.fault;
  }
  get undefinedInsn(): number {
    return this.undef;
  }
  requestStop(): void {
    this.state.stop = StopReason.Interrupted;
  }

  run(budget: number): StopReason {
    const s = this.state;
    const mem = this.space;
    const phys = mem.memory;
    const i32 = phys.i32;
    const decoder = this.decoder;
    const handlers = decoder.handlers;
    const flags = decoder.flags;
    const jit = this.jit;
    s.stop = 0;
    this.fault = null;
    let n = 0;
    let pc = s.pc;
    let pageVA = -1;
    let base = 0;
    let frame = 0;
    let code: Int32Array = EMPTY_CODE;
    let blocks: (CompiledBlock | undefined)[] = EMPTY_BLOCKS;
    let heat: Uint8Array = EMPTY_HEAT;
    let insn = 0;
    let blockStart = -1;
    let reason: number = R_BUDGET;
    try {
      outer: while (n < budget) {
        // At a block start.
        let off = pc - pageVA;
        if (off < 0 || off >= PAGE) {
          s.pc = pc;
          if (pc % 4 !== 0) {
            mem.fault.addr = pc;
            mem.fault.access = 'exec';
            mem.fault.cause = 'alignment';
            throw FAULT;
          }
          frame = mem.fetchFrame(pc);
          code = phys.codeOf(frame);
          if (jit) {
            blocks = phys.blocksOf(frame);
            heat = phys.heat[frame] as Uint8Array;
          }
          off = pc % PAGE;
          pageVA = pc - off;
          base = frame * (PAGE / 4);
        }
        let idx = off >> 2;
        if (jit) {
          const blk = blocks[idx];
          if (blk !== undefined) {
            if (n + blk.length <= budget) {
              blockStart = pc;
              blk.fn(s);
              blockStart = -1;
              n += blk.length;
              pc = s.npc;
              if (s.stop !== 0) {
                reason = s.stop;
                break;
              }
              continue;
            }
          } else if (++heat[idx] >= HOT_THRESHOLD) {
            phys.codeMark[frame] = 2; // new entries (see PhysicalMemoryImpl.codeMark)
            blocks[idx] = compileBlock(decoder, i32, base, code, idx, pc);
            continue;
          }
        }
        // Interpret up to the end of the block.
        for (;;) {
          insn = i32[base + idx];
          let h = code[idx];
          if (h === 0) {
            h = decoder.decode(insn);
            code[idx] = h;
            phys.codeMark[frame] = 2;
          }
          s.pc = pc;
          s.npc = pc + 4;
          handlers[h](s, insn);
          n++;
          pc = s.npc;
          if (s.stop !== 0) {
            reason = s.stop;
            break outer;
          }
          if ((flags[h] & BRANCH) !== 0 || n >= budget) continue outer;
          idx++;
          if (idx === PAGE / 4) continue outer;
        }
      }
      s.pc = pc;
    } catch (e) {
      if (!(e instanceof StopSignal)) {
        throw new Error(
          `internal CPU error at pc=0x${s.pc.toString(16)} insn=0x${(insn >>> 0).toString(16)}: ${(e as Error).message}`,
          { cause: e },
        );
      }
      if (blockStart >= 0) n += (s.pc - blockStart) / 4;
      if (e.kind === 'fault') {
        const f = mem.fault;
        let exact: AddrHalves;
        if (f.access === 'exec') exact = splitAddress(f.addr);
        else {
          // The instruction changed nothing: rebuild its exact address from it and the registers.
          const w = new Uint8Array(4);
          const word = mem.read(s.pc as GuestAddr, w) === null ? new DataView(w.buffer).getUint32(0, true) : 0;
          exact = dataFaultAddress(s, word, f.addr);
        }
        this.fault = {
          pc: s.pc as GuestAddr,
          addr: (exact.hi * TWO32 + exact.lo) as GuestAddr,
          addrHi: exact.hi,
          addrLo: exact.lo,
          access: f.access,
          cause: f.cause,
        };
        reason = R_FAULT;
      } else if (e.kind === 'undefined') {
        const w = new Uint8Array(4);
        this.undef = mem.read(s.pc as GuestAddr, w) === null ? new DataView(w.buffer).getUint32(0, true) : insn >>> 0;
        reason = R_UNDEFINED;
      } else reason = R_BREAKPOINT;
    }
    this.retiredLast = n;
    this.total += n;
    return reason as StopReason;
  }

  // ---- architectural state ------------------------------------------------------------

  getX(n: number): bigint {
    checkReg(n, true);
    if (n === 31) return 0n;
    return (BigInt(this.state.xu[n * 2 + 1]) << 32n) | BigInt(this.state.xu[n * 2]);
  }
  setX(n: number, value: bigint): void {
    checkReg(n, false);
    const v = BigInt.asUintN(64, value);
    this.state.x[n * 2] = Number(v & 0xffffffffn) | 0;
    this.state.x[n * 2 + 1] = Number(v >> 32n) | 0;
  }
  getXNumber(n: number): number {
    checkReg(n, true);
    if (n === 31) return 0;
    return this.state.xu[n * 2 + 1] * TWO32 + this.state.xu[n * 2];
  }
  getW(n: number): number {
    checkReg(n, true);
    return n === 31 ? 0 : this.state.x[n * 2];
  }
  setXNumber(n: number, value: number): void {
    checkReg(n, false);
    if (!Number.isInteger(value)) throw new RangeError(`setXNumber: ${value} is not an integer`);
    if (Number.isSafeInteger(value)) {
      // two's complement halves without BigInt (exec resets 31 registers this way)
      const hi = Math.floor(value / TWO32);
      this.state.x[n * 2] = (value - hi * TWO32) | 0;
      this.state.x[n * 2 + 1] = hi | 0;
      return;
    }
    const v = value < 0 ? TWO64 + BigInt(value) : BigInt(value);
    this.setX(n, v);
  }
  get sp(): GuestAddr {
    return (this.state.xu[65] * TWO32 + this.state.xu[64]) as GuestAddr;
  }
  set sp(v: GuestAddr) {
    this.state.x[64] = v | 0;
    this.state.x[65] = Math.floor(v / TWO32) | 0;
  }
  /** SP as an exact 64-bit value (the `sp` number is exact only below 2^53). */
  getSP(): bigint {
    return (BigInt(this.state.xu[65]) << 32n) | BigInt(this.state.xu[64]);
  }
  setSP(value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.state.x[64] = Number(v & 0xffffffffn) | 0;
    this.state.x[65] = Number(v >> 32n) | 0;
  }
  get pc(): GuestAddr {
    return this.state.pc as GuestAddr;
  }
  set pc(v: GuestAddr) {
    this.state.pc = v;
  }
  get nzcv(): number {
    return this.state.getNZCV();
  }
  set nzcv(v: number) {
    this.state.setNZCV(v);
  }
  get tpidrEl0(): bigint {
    return (BigInt(this.state.tpidrHi >>> 0) << 32n) | BigInt(this.state.tpidrLo >>> 0);
  }
  set tpidrEl0(v: bigint) {
    const u = BigInt.asUintN(64, v);
    this.state.tpidrLo = Number(u & 0xffffffffn) | 0;
    this.state.tpidrHi = Number(u >> 32n) | 0;
  }
  get tpidrroEl0(): bigint {
    return (BigInt(this.state.tpidrroHi >>> 0) << 32n) | BigInt(this.state.tpidrroLo >>> 0);
  }
  set tpidrroEl0(v: bigint) {
    const u = BigInt.asUintN(64, v);
    this.state.tpidrroLo = Number(u & 0xffffffffn) | 0;
    this.state.tpidrroHi = Number(u >> 32n) | 0;
  }
  get fpcr(): number {
    return this.state.fpcr >>> 0;
  }
  set fpcr(v: number) {
    this.state.fpcr = v & 0x07ff9f00;
  }
  get fpsr(): number {
    return this.state.fpsr >>> 0;
  }
  set fpsr(v: number) {
    this.state.fpsr = v & 0xf800009f;
  }
  getV(n: number): Uint8Array {
    checkVReg(n);
    return this.state.vb.slice(n * 16, n * 16 + 16);
  }
  setV(n: number, bytes: Uint8Array): void {
    checkVReg(n);
    if (bytes.length !== 16) throw new RangeError('setV needs 16 bytes');
    this.state.vb.set(bytes, n * 16);
  }

  saveContext(): CpuContext {
    const s = this.state;
    const buf = new ArrayBuffer(CTX_BYTES);
    const i32 = new Int32Array(buf);
    const f64 = new Float64Array(buf);
    i32.set(s.x);
    i32.set(s.vi, CTX_X);
    const k = CTX_SCALARS;
    f64[k] = s.pc;
    f64[k + 1] = s.getNZCV();
    f64[k + 2] = s.fpcr;
    f64[k + 3] = s.fpsr;
    f64[k + 4] = s.tpidrLo;
    f64[k + 5] = s.tpidrHi;
    f64[k + 6] = s.tpidrroLo;
    f64[k + 7] = s.tpidrroHi;
    const ctx: SavedContext = { kind: 'aarch64-context', i32, f64 };
    return ctx;
  }
  restoreContext(ctx: CpuContext): void {
    const c = ctx as SavedContext;
    if (c.kind !== 'aarch64-context' || !(c.i32 instanceof Int32Array)) throw new TypeError('not an aarch64 context');
    const s = this.state;
    const i32 = c.i32;
    const x = s.x;
    const vi = s.vi;
    for (let i = 0; i < CTX_X; i++) x[i] = i32[i];
    x[62] = 0;
    x[63] = 0;
    for (let i = 0; i < CTX_V; i++) vi[i] = i32[CTX_X + i];
    const f64 = c.f64;
    const k = CTX_SCALARS;
    s.pc = f64[k];
    s.setNZCV(f64[k + 1]);
    s.fpcr = f64[k + 2];
    s.fpsr = f64[k + 3];
    s.tpidrLo = f64[k + 4];
    s.tpidrHi = f64[k + 5];
    s.tpidrroLo = f64[k + 6];
    s.tpidrroHi = f64[k + 7];
    this.clearExclusive();
  }
  clearExclusive(): void {
    this.space.monitorAddr = -1;
  }
  invalidateCode(addr: GuestAddr, length: number): void {
    const first = Math.floor(addr / PAGE_SIZE);
    const last = Math.floor((addr + Math.max(length, 1) - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++) {
      const q = this.space.query((p * PAGE_SIZE) as GuestAddr);
      if (q && q.frame >= 0) this.space.memory.dropCode(q.frame);
    }
  }
}

const EMPTY_CODE = new Int32Array(0);
const EMPTY_BLOCKS: (CompiledBlock | undefined)[] = [];
const EMPTY_HEAT = new Uint8Array(0);
const FAULT = new StopSignal('fault');

function asImpl(a: AddressSpace): AddressSpaceImpl {
  if (!(a instanceof AddressSpaceImpl)) throw new TypeError('address space must come from createAddressSpace');
  return a;
}
function checkReg(n: number, allow31: boolean): void {
  if (!Number.isInteger(n) || n < 0 || n > (allow31 ? 31 : 30)) throw new RangeError(`bad register number ${n}`);
}
function checkVReg(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 31) throw new RangeError(`bad vector register number ${n}`);
}

/** Guest physical memory of `bytes` (rounded down to whole frames). */
export function createPhysicalMemory(bytes: number): PhysicalMemoryImpl {
  return new PhysicalMemoryImpl(bytes);
}
/** An empty address space over `memory`. */
export function createAddressSpace(memory: PhysicalMemoryImpl): AddressSpaceImpl {
  return new AddressSpaceImpl(memory);
}
/** A CPU running in `addressSpace`. */
export function createCpu(addressSpace: AddressSpace, host?: CpuHost): AArch64Cpu {
  return new AArch64Cpu(addressSpace, host);
}
