/**
 * The chart tests' template renderer must behave like Helm on the constructs the chart uses;
 * each case below is Go text/template / Sprig behaviour the chart relies on.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { goFloat, GoInt, mergeValues, Renderer, type Value } from './support/gotemplate';

const ctx = { chartName: 'c', chartVersion: '1.0.0', appVersion: '2.0.0', releaseName: 'rel', namespace: 'ns' };

function tpl(src: string, values: Record<string, Value> = {}, helpers = ''): string {
  const files = [{ name: 't.yaml', content: src }];
  if (helpers) files.push({ name: '_h.tpl', content: helpers });
  return new Renderer(files, ctx).renderFile('c/templates/t.yaml', values);
}

describe('Go template renderer', () => {
  it('trims whitespace on the marked side of {{- and -}} only', () => {
    expect(tpl('a  \n  {{- "x" }}  b')).toBe('ax  b');
    expect(tpl('a {{ "x" -}} \n\n b')).toBe('a xb');
    expect(tpl('a\n{{- /* comment */ -}}\nb')).toBe('ab');
    expect(tpl('a {{/* comment */}} b')).toBe('a  b');
  });

  it('prints values like Go: floats from values in %v form, ints plainly, nil as <no value>', () => {
    expect(goFloat(100000)).toBe('100000');
    expect(goFloat(1000000)).toBe('1e+06');
    expect(goFloat(3600000)).toBe('3.6e+06');
    expect(goFloat(0.05)).toBe('0.05');
    expect(goFloat(0.00001)).toBe('1e-05');
    expect(goFloat(2)).toBe('2');
    expect(tpl('{{ .Values.n }} {{ .Values.n | int }} {{ .Values.missing }}', { n: 3600000 })).toBe(
      '3.6e+06 3600000 <no value>',
    );
    expect(tpl('{{ .Values.b }} {{ "s" }}', { b: false })).toBe('false s');
  });

  it('refuses to compare an int with a float, as Go does', () => {
    expect(() => tpl('{{ if eq .Values.n 1 }}y{{ end }}', { n: 1 })).toThrow(/incompatible types/);
    expect(tpl('{{ if eq (int .Values.n) 1 }}y{{ end }}', { n: 1 })).toBe('y');
    expect(tpl('{{ if lt (add 1 2) 4 }}y{{ end }}')).toBe('y');
  });

  it('if / else if / else, with (and its else), and truthiness of empty values', () => {
    const t = '{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}';
    expect(tpl(t, { a: 1, b: 1 })).toBe('A');
    expect(tpl(t, { a: 0, b: 'x' })).toBe('B');
    expect(tpl(t, { a: [], b: {} })).toBe('C');
    expect(tpl('{{ with .Values.m }}{{ .k }}{{ else }}none{{ end }}', { m: { k: 'v' } })).toBe('v');
    expect(tpl('{{ with .Values.m }}{{ .k }}{{ else }}none{{ end }}', { m: {} })).toBe('none');
  });

  it('range over lists and maps (maps in key order), with $ reaching the root', () => {
    expect(tpl('{{ range $i, $v := .Values.l }}{{ $i }}={{ $v }};{{ end }}', { l: ['a', 'b'] })).toBe('0=a;1=b;');
    expect(
      tpl('{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }}{{ $.Values.sep }}{{ end }}', {
        m: { b: '2', a: '1' },
        sep: ',',
      }),
    ).toBe('a=1,b=2,');
    expect(tpl('{{ range .Values.l }}x{{ else }}empty{{ end }}', { l: [] })).toBe('empty');
  });

  it('variables: := declares, = assigns the outer variable from inside a range', () => {
    const t =
      '{{- $acc := list }}{{- range .Values.l }}{{- $acc = append $acc (upper .) }}{{- end }}{{ join "," $acc }}';
    expect(tpl(t, { l: ['a', 'b'] })).toBe('A,B');
    expect(() => tpl('{{ $x = 1 }}')).toThrow(/undeclared/);
  });

  it('and/or return one of their arguments and short-circuit', () => {
    expect(tpl('{{ or .Values.a "dflt" }}', { a: '' })).toBe('dflt');
    expect(tpl('{{ and .Values.a "second" }}', { a: 'x' })).toBe('second');
    // The second operand would fail if evaluated.
    expect(tpl('{{ or "x" (fail "evaluated") }}')).toBe('x');
  });

  it('sprig helpers the chart uses', () => {
    expect(tpl('{{ default "d" .Values.v }}|{{ default "d" "set" }}', { v: '' })).toBe('d|set');
    expect(tpl('{{ "abcdef" | trunc 3 }} {{ "a-" | trimSuffix "-" }} {{ "a+b" | replace "+" "_" }}')).toBe('abc a a_b');
    expect(tpl('{{ .Values.n | quote }} {{ "s" | quote }} {{ true | toString }}', { n: 5 })).toBe('"5" "s" true');
    expect(tpl('{{ printf "%s-%d" "a" (add 1 2) }}')).toBe('a-3');
    expect(() => tpl('{{ printf "%d" .Values.n }}', { n: 5 })).toThrow(/%d of a float64/);
    expect(tpl('{{ div 1999 1000 }} {{ mul 2 3 }} {{ sub 5 7 }}')).toBe('1 6 -2');
    expect(tpl('{{ "hi" | b64enc }} {{ "" | sha256sum | trunc 8 }}')).toBe('aGk= e3b0c442');
    expect(tpl('{{ kindIs "invalid" .Values.n }} {{ kindIs "map" .Values }}', { n: null })).toBe('true true');
    expect(tpl('{{ ternary "a" "b" true }}{{ ternary "a" "b" false }}')).toBe('ab');
    expect(tpl('{{ index .Values.m "k" }} {{ index .Values.l 1 }}', { m: { k: 'v' }, l: ['x', 'y'] })).toBe('v y');
    expect(tpl('{{ contains "ell" "hello" }} {{ hasKey .Values "a" }}', { a: 1 })).toBe('true true');
  });

  it('toYaml with nindent yields YAML for the same data, keys sorted, no trailing newline', () => {
    // Helm's toYaml (go-yaml) does not indent list items under a key; the text differs, the data does not.
    const out = tpl('x:{{ toYaml .Values.m | nindent 2 }}', { m: { b: 1, a: ['p', 'q'] } });
    expect(parseYaml(out)).toEqual({ x: { a: ['p', 'q'], b: 1 } });
    expect(out.indexOf('a:')).toBeLessThan(out.indexOf('b:'));
    expect(out.endsWith('\n')).toBe(false);
    expect(tpl('{{ "a\\nb" | indent 2 }}')).toBe('  a\n  b');
  });

  it('include renders a define with the given data; unknown names and functions are errors', () => {
    const helpers = '{{- define "x.name" -}}{{ .root.Release.Name }}-{{ .c }}{{- end -}}';
    expect(tpl('{{ include "x.name" (dict "root" $ "c" "api") }}', {}, helpers)).toBe('rel-api');
    expect(() => tpl('{{ include "nope" . }}')).toThrow(/no template named "nope"/);
    expect(() => tpl('{{ toJsonPretty . }}')).toThrow(/function "toJsonPretty" not defined/);
  });

  it('required and fail stop rendering with their message', () => {
    expect(() => tpl('{{ required "need v" .Values.v }}', { v: '' })).toThrow(/need v/);
    expect(tpl('{{ required "need v" .Values.v }}', { v: 0 })).toBe('0');
    expect(() => tpl('{{ fail "boom" }}')).toThrow(/boom/);
  });

  it('a field of a missing map is an error (nil pointer), a missing key is <no value>', () => {
    expect(() => tpl('{{ .Values.a.b }}', {})).toThrow(/nil pointer evaluating .Values.a.b/);
    expect(tpl('{{ .Values.a }}', {})).toBe('<no value>');
  });

  it('exposes Chart, Release and Template like Helm', () => {
    expect(
      tpl(
        '{{ .Chart.Name }} {{ .Chart.AppVersion }} {{ .Release.Name }} {{ .Release.Namespace }} {{ .Template.BasePath }}',
      ),
    ).toBe('c 2.0.0 rel ns c/templates');
    expect(new GoInt(3).n).toBe(3);
  });
});

describe('values merge', () => {
  it('merges maps deeply, replaces lists and scalars, and deletes keys set to null', () => {
    const base: Value = { a: { b: 1, c: [1, 2], d: 'x' }, e: 1 };
    expect(mergeValues(base, { a: { b: 2, c: [3] }, e: null })).toEqual({ a: { b: 2, c: [3], d: 'x' } });
  });
});
