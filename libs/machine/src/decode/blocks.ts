/**
 * Block compiler (first JIT tier): a hot straight-line run of instructions (up to a branch,
 * a page end or MAX_BLOCK instructions) becomes one JavaScript function that calls each
 * instruction's handler with its constant instruction word. Every call site then has a
 * single target, so V8 can inline the handler and fold the field extraction away.
 *
 * Contract with the run loop: the block sets `s.pc` before each instruction (faults and
 * PC-relative instructions read it), and `s.npc` before the last one. When an instruction
 * throws, `(s.pc - start) / 4` instructions of the block have retired.
 */
import type { CpuState } from '../state';
import * as br from '../exec/branch';
import type { Decoder } from './dispatch';
import { ROW_BRANCH, ROW_PURE } from './types';

export const MAX_BLOCK = 48;
/** Executions of a block start (in the interpreter) before it is compiled. */
export const HOT_THRESHOLD = 8;

const SHARED_MAX = 50_000;
const SHARED = new Map<string, (s: CpuState) => void>();
const SHARED_DECODER = new Map<string, Decoder>();

/** Flag tests of the A64 condition codes (cond 14 and 15 always hold). */
const COND_EXPR = [
  's.zf === 1',
  's.zf === 0',
  's.cf === 1',
  's.cf === 0',
  's.nf === 1',
  's.nf === 0',
  's.vf === 1',
  's.vf === 0',
  '(s.cf === 1 && s.zf === 0)',
  '(s.cf === 0 || s.zf === 1)',
  's.nf === s.vf',
  's.nf !== s.vf',
  '(s.zf === 0 && s.nf === s.vf)',
  '(s.zf === 1 || s.nf !== s.vf)',
  'true',
  'true',
];

/**
 * The block-ending direct branches (B, B.cond, CBZ/CBNZ, TBZ/TBNZ) as inline source with the
 * target, register and condition folded in, or null for any other row. They never fault and
 * read PC only as this constant, so they need no `s.pc`. Inline code leaves V8's inlining
 * budget of the block to the other handlers (B.cond through condHolds cost ~250 bytecodes).
 * Each must do what its handler in exec/branch.ts does (test/cpu/jit.spec.ts compares the
 * block tier with the interpreter on every branch kind and condition).
 */
function directBranch(handler: unknown, insn: number, addr: number): string | null {
  const fall = addr + 4;
  if (handler === br.b) return `s.npc = ${addr + ((insn << 6) >> 4)};`;
  if (handler === br.bcond) {
    const target = addr + ((insn << 8) >> 13) * 4;
    const cond = insn & 15;
    return cond >= 14 ? `s.npc = ${target};` : `s.npc = ${COND_EXPR[cond]} ? ${target} : ${fall};`;
  }
  if (handler === br.cbz) {
    const t = (insn & 31) << 1;
    const zero = insn < 0 ? `(s.x[${t}] | s.x[${t + 1}]) === 0` : `s.x[${t}] === 0`;
    const taken = (insn >>> 24) & 1 ? `!(${zero})` : zero;
    return `s.npc = ${taken} ? ${addr + ((insn << 8) >> 13) * 4} : ${fall};`;
  }
  if (handler === br.tbz) {
    const t = (insn & 31) << 1;
    const bit = ((insn >>> 26) & 32) | ((insn >>> 19) & 31);
    const v = `((s.x[${t + (bit >> 5)}] >>> ${bit & 31}) & 1)`;
    return `s.npc = ${v} === ${(insn >>> 24) & 1} ? ${addr + ((insn << 13) >> 18) * 4} : ${fall};`;
  }
  return null;
}

export class CompiledBlock {
  constructor(
    readonly fn: (s: CpuState) => void,
    readonly length: number,
  ) {}
}

/**
 * Compiles the block starting at word `idx` of a code frame. `words` is the physical memory
 * as int32 words, `base` the frame's first word, `ids` its decoded-row cache, `pc` the guest
 * address of word `idx`.
 */
export function compileBlock(
  decoder: Decoder,
  words: Int32Array,
  base: number,
  ids: Int32Array,
  idx: number,
  pc: number,
): CompiledBlock {
  const handlers = decoder.handlers;
  const params: string[] = [];
  const fns: unknown[] = [];
  const byId = new Map<number, string>();
  const lines: string[] = [];
  let i = idx;
  for (; i < ids.length && i - idx < MAX_BLOCK; i++) {
    const insn = words[base + i];
    let id = ids[i];
    if (id === 0) {
      id = decoder.decode(insn);
      ids[i] = id;
    }
    let name = byId.get(id);
    if (name === undefined) {
      name = `h${params.length}`;
      byId.set(id, name);
      params.push(name);
      fns.push(handlers[id]);
    }
    const addr = pc + (i - idx) * 4;
    const last = (decoder.flags[id] & ROW_BRANCH) !== 0 || i + 1 === ids.length || i + 1 - idx === MAX_BLOCK;
    const pure = (decoder.flags[id] & ROW_PURE) !== 0;
    const direct = last ? directBranch(handlers[id], insn, addr) : null;
    if (direct !== null) lines.push(direct);
    else if (last) lines.push(`s.pc = ${addr}; s.npc = ${addr + 4}; ${name}(s, ${insn});`);
    else if (pure) lines.push(`${name}(s, ${insn});`);
    else lines.push(`s.pc = ${addr}; ${name}(s, ${insn});`);
    if (last) break;
  }
  const body = lines.join('\n');
  // Blocks are shared by every VM of this thread that uses the same decoder: the same code at
  // the same address compiles to the same function (and keeps V8's optimised code).
  let fn = SHARED.get(body);
  if (fn === undefined || SHARED_DECODER.get(body) !== decoder) {
    const factory = new Function(...params, `"use strict";\nreturn function block(s) {\n${body}\n};`) as (
      ...f: unknown[]
    ) => (s: CpuState) => void;
    fn = factory(...fns);
    if (SHARED.size >= SHARED_MAX) {
      SHARED.clear();
      SHARED_DECODER.clear();
    }
    SHARED.set(body, fn);
    SHARED_DECODER.set(body, decoder);
  }
  return new CompiledBlock(fn, lines.length);
}
