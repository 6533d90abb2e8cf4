/**
 * The aarch64 signal frame (arch/arm64/kernel/signal.c layout): struct rt_sigframe
 * { siginfo_t info; struct ucontext uc; } followed by a frame record {fp, lr}; the
 * sigcontext's __reserved area holds an fpsimd_context and a terminating null record.
 */
import type { Cpu } from '@lichen/machine';

export const SIGINFO_SIZE = 128;
/** Offsets inside struct ucontext. */
export const UC_FLAGS = 0;
export const UC_LINK = 8;
export const UC_STACK = 16; // ss_sp(8) ss_flags(4)+pad(4) ss_size(8)
export const UC_SIGMASK = 40;
export const UC_MCONTEXT = 176; // sigcontext is 16-byte aligned after sigmask + 120 bytes of padding
/** Offsets inside struct sigcontext. */
export const SC_FAULT_ADDRESS = 0;
export const SC_REGS = 8;
export const SC_SP = 256;
export const SC_PC = 264;
export const SC_PSTATE = 272;
export const SC_RESERVED = 288;
export const SC_RESERVED_SIZE = 4096;
export const UCONTEXT_SIZE = UC_MCONTEXT + SC_RESERVED + SC_RESERVED_SIZE; // 4560
export const RT_SIGFRAME_SIZE = SIGINFO_SIZE + UCONTEXT_SIZE; // 4688
export const FPSIMD_MAGIC = 0x46508001;
export const FPSIMD_CONTEXT_SIZE = 528;
export const ESR_MAGIC = 0x45535201;

/** Offset of the ucontext inside the frame. */
export const FRAME_UC = SIGINFO_SIZE;
const MC = FRAME_UC + UC_MCONTEXT;

/** Fills the ucontext part of `frame` from the CPU (registers, fpsimd). */
export function saveMachineContext(cpu: Cpu, frame: Uint8Array, faultAddress: number | bigint): void {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  v.setBigUint64(MC + SC_FAULT_ADDRESS, BigInt(faultAddress), true);
  for (let i = 0; i < 31; i++) v.setBigUint64(MC + SC_REGS + i * 8, BigInt.asUintN(64, cpu.getX(i)), true);
  v.setBigUint64(MC + SC_SP, BigInt(cpu.sp), true);
  v.setBigUint64(MC + SC_PC, BigInt(cpu.pc), true);
  v.setBigUint64(MC + SC_PSTATE, BigInt(cpu.nzcv >>> 0), true);
  const fp = MC + SC_RESERVED;
  v.setUint32(fp, FPSIMD_MAGIC, true);
  v.setUint32(fp + 4, FPSIMD_CONTEXT_SIZE, true);
  v.setUint32(fp + 8, cpu.fpsr >>> 0, true);
  v.setUint32(fp + 12, cpu.fpcr >>> 0, true);
  for (let i = 0; i < 32; i++) frame.set(cpu.getV(i), fp + 16 + i * 16);
  // terminating null record right after fpsimd_context (already zero)
}

/**
 * Restores registers from a frame's ucontext. Returns false when the frame is invalid
 * (pstate with non-EL0 bits, missing fpsimd record): the caller forces SIGSEGV.
 */
export function restoreMachineContext(cpu: Cpu, frame: Uint8Array): boolean {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const pstate = v.getBigUint64(MC + SC_PSTATE, true);
  if ((pstate & 0x0fffffffn) !== 0n || pstate >> 32n !== 0n) return false;
  const sp = v.getBigUint64(MC + SC_SP, true);
  const pc = v.getBigUint64(MC + SC_PC, true);
  if (sp >= 1n << 48n || pc >= 1n << 48n || (pc & 3n) !== 0n) return false;
  const fp = MC + SC_RESERVED;
  if (v.getUint32(fp, true) !== FPSIMD_MAGIC || v.getUint32(fp + 4, true) !== FPSIMD_CONTEXT_SIZE) return false;
  for (let i = 0; i < 31; i++) cpu.setX(i, v.getBigUint64(MC + SC_REGS + i * 8, true));
  cpu.sp = Number(sp) as typeof cpu.sp;
  cpu.pc = Number(pc) as typeof cpu.pc;
  cpu.nzcv = Number(pstate) | 0;
  cpu.fpsr = v.getUint32(fp + 8, true);
  cpu.fpcr = v.getUint32(fp + 12, true);
  for (let i = 0; i < 32; i++) cpu.setV(i, frame.slice(fp + 16 + i * 16, fp + 32 + i * 16));
  return true;
}
