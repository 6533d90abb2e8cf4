/**
 * Compiles the decode table into a dispatcher: rows are bucketed by instruction bits
 * [31:21] (2048 buckets); inside a bucket rows are ordered most-specific first. Decoding
 * returns a row id (index + 1); id 0 is reserved for "not decoded yet" in code caches and
 * UNDEFINED_ID for words no row matches.
 */
import { undefinedInsn } from '../state';
import { ALL_ROWS } from './table';
import { type DecodeRow, type Handler, ROW_BRANCH } from './types';

export interface CompiledRow {
  readonly row: DecodeRow;
  readonly mask: number;
  readonly value: number;
  readonly fixedBits: number;
}

export function compilePattern(row: DecodeRow): CompiledRow {
  const p = row.pattern.replace(/[_ ]/g, '');
  if (p.length !== 32) throw new Error(`decode row ${row.name}: pattern must have 32 bits, has ${p.length}`);
  let mask = 0;
  let value = 0;
  let fixedBits = 0;
  for (let i = 0; i < 32; i++) {
    const c = p[i];
    const bit = 31 - i;
    if (c === '0' || c === '1') {
      mask |= 1 << bit;
      if (c === '1') value |= 1 << bit;
      fixedBits++;
    }
  }
  return { row, mask: mask | 0, value: value | 0, fixedBits };
}

const BUCKET_SHIFT = 21;
const BUCKETS = 1 << (32 - BUCKET_SHIFT);

export class Decoder {
  /** Handler by row id; id 0 and UNDEFINED_ID raise Undefined. */
  readonly handlers: Handler[];
  readonly rows: CompiledRow[];
  readonly undefinedId: number;
  /** Row flags by row id (ROW_BRANCH marks block ends; ids 0 and undefinedId are block ends). */
  readonly flags: Uint8Array;
  private readonly buckets: Int32Array[];

  constructor(rows: readonly DecodeRow[] = ALL_ROWS) {
    this.rows = rows.map(compilePattern);
    this.handlers = [undefinedHandler, ...this.rows.map((r) => r.row.handler), undefinedHandler];
    this.undefinedId = this.rows.length + 1;
    this.flags = Uint8Array.from([ROW_BRANCH, ...this.rows.map((r) => r.row.flags ?? 0), ROW_BRANCH]);
    const lists: number[][] = Array.from({ length: BUCKETS }, () => []);
    this.rows.forEach((r, idx) => {
      const bmask = r.mask >>> BUCKET_SHIFT;
      const bval = (r.value >>> BUCKET_SHIFT) & bmask;
      for (let b = 0; b < BUCKETS; b++) if ((b & bmask) === bval) lists[b].push(idx);
    });
    this.buckets = lists.map((l) =>
      Int32Array.from(l.sort((a, b) => this.rows[b].fixedBits - this.rows[a].fixedBits || a - b)),
    );
  }

  /** Row id (1-based) for an instruction word. */
  decode(insn: number): number {
    const list = this.buckets[insn >>> BUCKET_SHIFT];
    for (let i = 0; i < list.length; i++) {
      const r = this.rows[list[i]];
      if ((insn & r.mask) === r.value) return list[i] + 1;
    }
    return this.undefinedId;
  }

  /** The row an instruction word decodes to (for tools and tests). */
  rowOf(insn: number): DecodeRow | undefined {
    const id = this.decode(insn | 0);
    return id === this.undefinedId ? undefined : this.rows[id - 1].row;
  }
}

function undefinedHandler(): void {
  undefinedInsn();
}

let shared: Decoder | undefined;
/** The decoder over ALL_ROWS, built once per process (thread). */
export function defaultDecoder(): Decoder {
  shared ??= new Decoder();
  return shared;
}
