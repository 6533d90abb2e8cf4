/**
 * Runs test cases in Lichen's CPU through its public API (the same calls the kernel makes):
 * map the code page and the scratch area, set every register, run, read every register back.
 */
import {
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  StopReason,
  guestAddr,
  type AddressSpace,
  type Cpu,
} from '../../libs/machine/src/api';
import {
  CODE_ADDR,
  CODE_SIZE,
  SCRATCH_ADDR,
  SCRATCH_SIZE,
  codePage,
  scratchFill,
  type ArchState,
  type CaseResult,
  type TestCase,
} from './protocol';

/** Instructions Lichen may run before a case counts as a timeout (qemu's equivalent is 200 ms). */
export const LICHEN_BUDGET = 100_000;

export interface LichenTarget {
  cpu: Cpu;
  space: AddressSpace;
}

/** Maps the harness's code page and scratch area (once per target). */
export function prepareTarget(t: LichenTarget): void {
  t.space.mapAnonymous(guestAddr(CODE_ADDR), CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
  t.space.mapAnonymous(guestAddr(SCRATCH_ADDR), SCRATCH_SIZE, PROT_READ | PROT_WRITE);
}

/** SP exactly: the `sp` number of the Cpu API is exact only below 2^53; AArch64Cpu has getSP(). */
function readSP(cpu: Cpu): bigint {
  const c = cpu as Cpu & { getSP?: () => bigint };
  return typeof c.getSP === 'function' ? c.getSP() : BigInt(cpu.sp);
}

function readState(cpu: Cpu): ArchState {
  const x: bigint[] = [];
  for (let i = 0; i < 31; i++) x.push(cpu.getX(i));
  const v = new Uint8Array(512);
  for (let r = 0; r < 32; r++) v.set(cpu.getV(r), r * 16);
  return {
    x,
    sp: readSP(cpu),
    tpidr: cpu.tpidrEl0,
    v,
    nzcv: cpu.nzcv >>> 0,
    fpcr: cpu.fpcr >>> 0,
    fpsr: cpu.fpsr >>> 0,
  };
}

const scratchBuf = new Uint8Array(SCRATCH_SIZE);

export function runLichen(t: LichenTarget, c: TestCase): CaseResult {
  const { cpu, space } = t;
  const code = codePage(c.insns);
  if (space.write(guestAddr(CODE_ADDR), code) !== null) throw new Error('lichen: cannot write the code page');
  cpu.invalidateCode(guestAddr(CODE_ADDR), CODE_SIZE);
  const fill = scratchFill(c.memSeed);
  if (space.write(guestAddr(SCRATCH_ADDR), fill) !== null) throw new Error('lichen: cannot write the scratch area');
  for (let i = 0; i < 31; i++) cpu.setX(i, BigInt.asUintN(64, c.state.x[i]));
  cpu.sp = guestAddr(Number(c.state.sp));
  cpu.pc = guestAddr(CODE_ADDR);
  cpu.nzcv = c.state.nzcv;
  cpu.tpidrEl0 = BigInt.asUintN(64, c.state.tpidr);
  cpu.fpcr = c.state.fpcr;
  cpu.fpsr = c.state.fpsr;
  for (let r = 0; r < 32; r++) cpu.setV(r, c.state.v.subarray(r * 16, r * 16 + 16));
  cpu.clearExclusive();

  let stop: CaseResult['stop'];
  let pc = BigInt(cpu.pc);
  let faultAddr = 0n;
  let why: StopReason;
  try {
    why = cpu.run(LICHEN_BUDGET);
  } catch (e) {
    throw new Error(`lichen threw a host exception for ${c.insns.map((w) => w.toString(16)).join(' ')}: ${String(e)}`);
  }
  switch (why) {
    case StopReason.Breakpoint:
      stop = 'brk';
      pc = BigInt(cpu.pc);
      break;
    case StopReason.Undefined:
      stop = 'undefined';
      pc = BigInt(cpu.pc);
      break;
    case StopReason.Fault: {
      const f = cpu.lastFault;
      stop = f?.cause === 'alignment' ? 'bus' : 'segv';
      pc = BigInt(f ? f.pc : cpu.pc);
      // si_addr as Linux reports it: the exact address with the tag cleared when bit 55 is clear.
      const exact = f ? (BigInt(f.addrHi) << 32n) | BigInt(f.addrLo) : 0n;
      faultAddr = (exact & (1n << 55n)) !== 0n ? exact : exact & 0x00ff_ffff_ffff_ffffn;
      break;
    }
    case StopReason.Budget:
      stop = 'timeout';
      pc = BigInt(cpu.pc);
      break;
    case StopReason.Svc:
      stop = 'svc';
      pc = BigInt(cpu.pc);
      break;
    default:
      stop = 'other';
  }
  const state = readState(cpu);
  const mem = new Map<number, number>();
  if (space.read(guestAddr(SCRATCH_ADDR), scratchBuf) !== null) throw new Error('lichen: cannot read the scratch area');
  for (let i = 0; i < SCRATCH_SIZE; i++) if (scratchBuf[i] !== fill[i]) mem.set(i, scratchBuf[i]);
  return { stop, pc, faultAddr, siCode: 0, state, mem };
}
