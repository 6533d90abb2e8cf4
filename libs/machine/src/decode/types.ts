import type { CpuState } from '../state';

/**
 * An instruction handler. `insn` is the 32-bit instruction word (as a signed int32).
 * Before the call `s.pc` is the instruction's address and `s.npc = s.pc + 4`; a branch sets
 * `s.npc`. A handler must make every memory access (which may throw the fault signal) before
 * it changes any register, so a faulting instruction changes no state. An encoding the
 * handler does not accept calls `undefinedInsn()` (also before changing state).
 */
export type Handler = (s: CpuState, insn: number) => void;

/** Row flags. */
export const ROW_BRANCH = 1; // may change control flow (ends a basic block)
/** Never faults, never raises Undefined, never reads s.pc (the block compiler may skip the s.pc update). */
export const ROW_PURE = 2;

/**
 * One row of the declarative decode table.
 * `pattern` is 32 characters, bit 31 first: '0'/'1' fixed bits, any other character
 * (a field letter such as 'd', 'n', 'm', or 'x') is a don't-care bit. '_' and ' ' may be
 * used as separators and are ignored. When several rows match a word, the row with more
 * fixed bits wins; between equally specific rows the earlier row wins.
 */
export interface DecodeRow {
  readonly name: string;
  readonly pattern: string;
  readonly handler: Handler;
  readonly flags?: number;
}
