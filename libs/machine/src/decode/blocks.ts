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
import type { Decoder } from './dispatch';
import { ROW_BRANCH, ROW_PURE } from './types';

export const MAX_BLOCK = 48;
/** Executions of a block start (in the interpreter) before it is compiled. */
export const HOT_THRESHOLD = 8;

const SHARED_MAX = 50_000;
const SHARED = new Map<string, (s: CpuState) => void>();
const SHARED_DECODER = new Map<string, Decoder>();

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
    if (last) lines.push(`s.pc = ${addr}; s.npc = ${addr + 4}; ${name}(s, ${insn});`);
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
