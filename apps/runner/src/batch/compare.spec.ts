import { describe, expect, it } from 'vitest';
import { compareExact, compareOutput, compareTokens, compareTrim, normaliseTrim, tokens } from './compare';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('compareExact', () => {
  it('equal bytes are equal', () => expect(compareExact(b('a\n'), b('a\n'))).toEqual({ equal: true, detail: null }));
  it('reports the first differing byte', () =>
    expect(compareExact(b('abc'), b('abd'))).toEqual({ equal: false, detail: 'byte 2: expected 0x64, got 0x63' }));
  it('a missing trailing newline is a difference', () => expect(compareExact(b('a'), b('a\n')).equal).toBe(false));
  it('reports length differences', () =>
    expect(compareExact(b('ab'), b('a')).detail).toBe('length: expected 1 bytes, got 2'));
  it('CRLF is not LF', () => expect(compareExact(b('a\r\n'), b('a\n')).equal).toBe(false));
  it('empty equals empty', () => expect(compareExact(b(''), b('')).equal).toBe(true));
});

describe('compareTrim', () => {
  it('ignores trailing spaces, tabs and CR on each line', () =>
    expect(compareTrim('1 2  \t\r\n3\n', '1 2\n3\n').equal).toBe(true));
  it('ignores trailing blank lines and a missing final newline', () =>
    expect(compareTrim('x\n\n\n', 'x').equal).toBe(true));
  it('leading whitespace still counts', () =>
    expect(compareTrim('  x\n', 'x\n')).toEqual({ equal: false, detail: 'line 1: expected "x", got "  x"' }));
  it('inner spacing still counts', () => expect(compareTrim('a  b\n', 'a b\n').equal).toBe(false));
  it('blank lines in the middle count', () => expect(compareTrim('a\n\nb\n', 'a\nb\n').equal).toBe(false));
  it('reports a missing line', () =>
    expect(compareTrim('a\n', 'a\nb\n').detail).toBe('line 2: expected "b", got <end of output>'));
  it('reports an extra line', () =>
    expect(compareTrim('a\nb\n', 'a\n').detail).toBe('line 2: expected <end of output>, got "b"'));
  it('normalises to lines', () => expect(normaliseTrim('a \r\nb\t\n\n')).toEqual(['a', 'b']));
  it('empty output equals whitespace-only output', () => expect(compareTrim(' \n\n', '').equal).toBe(true));
  it('shortens long lines in the detail', () => expect(compareTrim('x'.repeat(100), 'y').detail).toMatch(/…"$/));
});

describe('compareTokens', () => {
  it('any whitespace separates tokens', () => expect(compareTokens('1\t2\n\n 3 ', '1 2 3').equal).toBe(true));
  it('token order matters', () =>
    expect(compareTokens('2 1', '1 2')).toEqual({ equal: false, detail: 'token 1: expected "1", got "2"' }));
  it('no numeric tolerance: 1.0 is not 1', () => expect(compareTokens('1.0', '1').equal).toBe(false));
  it('missing token reported', () =>
    expect(compareTokens('1', '1 2').detail).toBe('token 2: expected "2", got <end of output>'));
  it('tokens() drops empties', () => expect(tokens('  a  b ')).toEqual(['a', 'b']));
  it('empty equals blank', () => expect(compareTokens('\n', '').equal).toBe(true));
});

describe('compareOutput', () => {
  it('dispatches by mode', () => {
    expect(compareOutput('exact', b('a \n'), b('a\n')).equal).toBe(false);
    expect(compareOutput('trim', b('a \n'), b('a\n')).equal).toBe(true);
    expect(compareOutput('tokens', b('a\n b'), b('a b')).equal).toBe(true);
  });
  it('decodes UTF-8 for text modes', () => expect(compareOutput('trim', b('héllo\n'), b('héllo')).equal).toBe(true));
});
