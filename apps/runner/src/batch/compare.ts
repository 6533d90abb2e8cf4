/** Output comparison of grading batches. Pure functions: unit-tested in compare.spec.ts. */

export type CompareMode = 'exact' | 'trim' | 'tokens' | 'checker';

export interface CompareResult {
  equal: boolean;
  /** Human-readable first difference when not equal. */
  detail: string | null;
}

const show = (s: string | undefined): string => {
  if (s === undefined) return '<end of output>';
  const t = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  return JSON.stringify(t);
};

/** Byte-for-byte. */
export function compareExact(actual: Uint8Array, expected: Uint8Array): CompareResult {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i])
      return { equal: false, detail: `byte ${i}: expected 0x${hex(expected[i])}, got 0x${hex(actual[i])}` };
  }
  if (actual.length !== expected.length) {
    return { equal: false, detail: `length: expected ${expected.length} bytes, got ${actual.length}` };
  }
  return { equal: true, detail: null };
}

function hex(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, '0');
}

/**
 * Lines compared after removing trailing whitespace (spaces, tabs, CR) from every line and
 * trailing empty lines from the end. Leading whitespace and inner spacing still count.
 */
export function normaliseTrim(text: string): string[] {
  const lines = text.split('\n').map((l) => l.replace(/[ \t\r\f\v]+$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function compareTrim(actual: string, expected: string): CompareResult {
  const a = normaliseTrim(actual);
  const e = normaliseTrim(expected);
  const n = Math.max(a.length, e.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== e[i]) return { equal: false, detail: `line ${i + 1}: expected ${show(e[i])}, got ${show(a[i])}` };
  }
  return { equal: true, detail: null };
}

/** Whitespace-separated tokens compared in order (any amount and kind of whitespace between). */
export function tokens(text: string): string[] {
  return text.split(/\s+/).filter((t) => t.length > 0);
}

export function compareTokens(actual: string, expected: string): CompareResult {
  const a = tokens(actual);
  const e = tokens(expected);
  const n = Math.max(a.length, e.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== e[i]) return { equal: false, detail: `token ${i + 1}: expected ${show(e[i])}, got ${show(a[i])}` };
  }
  return { equal: true, detail: null };
}

/** Compares by mode; `checker` is not a text comparison and is rejected here. */
export function compareOutput(
  mode: Exclude<CompareMode, 'checker'>,
  actual: Uint8Array,
  expected: Uint8Array,
): CompareResult {
  if (mode === 'exact') return compareExact(actual, expected);
  const dec = new TextDecoder('utf-8');
  const a = dec.decode(actual);
  const e = dec.decode(expected);
  return mode === 'trim' ? compareTrim(a, e) : compareTokens(a, e);
}
