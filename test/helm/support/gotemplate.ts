/**
 * A small, strict renderer for the subset of Go text/template + Sprig + Helm that the Lichen
 * chart uses. `helm` cannot be installed on the development machines, so the chart tests render
 * the templates with this and check the resulting Kubernetes objects; CI additionally runs the
 * real `helm template` when it is on PATH (scripts/helm-check.sh).
 *
 * Strictness is the point: an unknown function, an unknown template name, a field access on nil,
 * a comparison of an int with a float, or a float printed in exponent form are errors here,
 * because they are errors (or silent bugs) under Helm too.
 *
 * Numbers follow Helm's model: numbers read from values files are float64 (Helm decodes values
 * through JSON), numbers written in a template and results of int/int64/add/div… are ints.
 */
import { createHash } from 'node:crypto';
import { stringify as yamlStringify } from 'yaml';

/** An integer (Go int/int64). Plain JS numbers stand for float64 values. */
export class GoInt {
  constructor(readonly n: number) {
    if (!Number.isSafeInteger(n)) throw new TemplateError(`integer out of range: ${n}`);
  }
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type Value = string | number | boolean | null | undefined | GoInt | Value[] | { [k: string]: Value };
type Obj = { [k: string]: Value };

// ---------------------------------------------------------------------------------------------
// Lexing the template text into text and actions.

type Piece = { kind: 'text'; text: string } | { kind: 'action'; src: string; pos: string };

function splitActions(src: string, file: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let trimNextText = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNextText) text = text.replace(/^\s+/, '');
    trimNextText = false;
    if (open < 0) {
      out.push({ kind: 'text', text });
      break;
    }
    let j = open + 2;
    const trimLeft = src.startsWith('- ', j) || src.startsWith('-\n', j) || src.startsWith('-\t', j);
    if (trimLeft) text = text.replace(/\s+$/, '');
    out.push({ kind: 'text', text });
    if (trimLeft) j += 1;
    const line = src.slice(0, open).split('\n').length;
    const pos = `${file}:${line}`;
    // Find the closing braces, skipping string literals and comments.
    let k = j;
    let close = -1;
    while (k < src.length) {
      const c = src[k];
      if (src.startsWith('/*', k)) {
        const end = src.indexOf('*/', k + 2);
        if (end < 0) throw new TemplateError(`${pos}: unclosed comment`);
        k = end + 2;
        continue;
      }
      if (c === '"') {
        k++;
        while (k < src.length && src[k] !== '"') k += src[k] === '\\' ? 2 : 1;
        if (k >= src.length) throw new TemplateError(`${pos}: unterminated string`);
        k++;
        continue;
      }
      if (c === '`') {
        const end = src.indexOf('`', k + 1);
        if (end < 0) throw new TemplateError(`${pos}: unterminated raw string`);
        k = end + 1;
        continue;
      }
      if (src.startsWith('}}', k)) {
        close = k;
        break;
      }
      k++;
    }
    if (close < 0) throw new TemplateError(`${pos}: unclosed action`);
    let body = src.slice(j, close);
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      trimNextText = true;
    }
    body = body.trim();
    if (!(body.startsWith('/*') && body.endsWith('*/'))) out.push({ kind: 'action', src: body, pos });
    i = close + 2;
  }
  return out.filter((p) => p.kind === 'action' || p.text !== '');
}

// ---------------------------------------------------------------------------------------------
// Tokens and pipelines inside one action.

type Tok =
  | { t: 'str'; v: string }
  | { t: 'num'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'field'; path: string[] }
  | { t: 'var'; name: string; path: string[] }
  | { t: 'ident'; v: string }
  | { t: 'punct'; v: '|' | '(' | ')' | ':=' | '=' | ',' };

function tokenize(s: string, pos: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const fieldPath = (): string[] => {
    const path: string[] = [];
    while (s[i] === '.' && /[A-Za-z_]/.test(s[i + 1] ?? '')) {
      i++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
      if (!m) throw new TemplateError(`${pos}: bad field name`);
      path.push(m[0]);
      i += m[0].length;
    }
    return path;
  };
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      toks.push({ t: 'str', v: JSON.parse(s.slice(i, j + 1)) as string });
      i = j + 1;
    } else if (c === '`') {
      const j = s.indexOf('`', i + 1);
      toks.push({ t: 'str', v: s.slice(i + 1, j) });
      i = j + 1;
    } else if (s.startsWith(':=', i)) {
      toks.push({ t: 'punct', v: ':=' });
      i += 2;
    } else if ('|(),='.includes(c)) {
      toks.push({ t: 'punct', v: c as '|' | '(' | ')' | '=' | ',' });
      i++;
    } else if (c === '.') {
      if (/[A-Za-z_]/.test(s[i + 1] ?? '')) toks.push({ t: 'field', path: fieldPath() });
      else {
        toks.push({ t: 'field', path: [] });
        i++;
      }
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(s.slice(i));
      i += m![0].length;
      toks.push({ t: 'var', name: m![0], path: fieldPath() });
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?[0-9][0-9.eExX_a-fA-F]*/.exec(s.slice(i));
      if (!m) throw new TemplateError(`${pos}: bad number`);
      toks.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))!;
      i += m[0].length;
      if (m[0] === 'true' || m[0] === 'false') toks.push({ t: 'bool', v: m[0] === 'true' });
      else if (m[0] === 'nil') toks.push({ t: 'nil' });
      else toks.push({ t: 'ident', v: m[0] });
    } else {
      throw new TemplateError(`${pos}: unexpected character ${JSON.stringify(c)} in action`);
    }
  }
  return toks;
}

type Operand =
  | { k: 'lit'; v: Value }
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'fn'; name: string }
  | { k: 'sub'; pipe: Pipeline };
interface Command {
  args: Operand[];
}
interface Pipeline {
  decl: string[];
  assign: boolean; // "=" rather than ":="
  cmds: Command[];
  pos: string;
}

function parsePipeline(toks: Tok[], pos: string): Pipeline {
  let i = 0;
  const decl: string[] = [];
  let assign = false;
  // Declarations: $a := … / $a, $b := … / $a = …
  const declEnd = toks.findIndex((t) => t.t === 'punct' && (t.v === ':=' || t.v === '='));
  if (declEnd > 0 && toks.slice(0, declEnd).every((t) => t.t === 'var' || (t.t === 'punct' && t.v === ','))) {
    for (const t of toks.slice(0, declEnd)) if (t.t === 'var') decl.push(t.name);
    assign = (toks[declEnd] as { v: string }).v === '=';
    i = declEnd + 1;
  }
  const parseCmds = (stopAtParen: boolean): Command[] => {
    const cmds: Command[] = [];
    let cur: Operand[] = [];
    while (i < toks.length) {
      const t = toks[i];
      if (t.t === 'punct' && t.v === ')') {
        if (!stopAtParen) throw new TemplateError(`${pos}: unbalanced )`);
        break;
      }
      i++;
      if (t.t === 'punct' && t.v === '|') {
        if (cur.length === 0) throw new TemplateError(`${pos}: empty command before |`);
        cmds.push({ args: cur });
        cur = [];
      } else if (t.t === 'punct' && t.v === '(') {
        const inner = parseCmds(true);
        if (!(toks[i]?.t === 'punct' && (toks[i] as { v: string }).v === ')'))
          throw new TemplateError(`${pos}: missing )`);
        i++;
        cur.push({ k: 'sub', pipe: { decl: [], assign: false, cmds: inner, pos } });
      } else if (t.t === 'str') cur.push({ k: 'lit', v: t.v });
      else if (t.t === 'bool') cur.push({ k: 'lit', v: t.v });
      else if (t.t === 'nil') cur.push({ k: 'lit', v: null });
      else if (t.t === 'num') {
        const n = Number(t.v);
        if (Number.isNaN(n)) throw new TemplateError(`${pos}: bad number ${t.v}`);
        cur.push({ k: 'lit', v: /^-?\d+$/.test(t.v) ? new GoInt(n) : n });
      } else if (t.t === 'field') cur.push({ k: 'field', path: t.path });
      else if (t.t === 'var') cur.push({ k: 'var', name: t.name, path: t.path });
      else if (t.t === 'ident') cur.push({ k: 'fn', name: t.v });
      else throw new TemplateError(`${pos}: unexpected ${JSON.stringify(t)}`);
    }
    if (cur.length === 0) throw new TemplateError(`${pos}: empty pipeline`);
    cmds.push({ args: cur });
    return cmds;
  };
  const cmds = parseCmds(false);
  return { decl, assign, cmds, pos };
}

// ---------------------------------------------------------------------------------------------
// The tree.

type Node =
  | { n: 'text'; text: string }
  | { n: 'out'; pipe: Pipeline }
  | { n: 'if' | 'with'; pipe: Pipeline; then: Node[]; else: Node[] }
  | { n: 'range'; pipe: Pipeline; body: Node[]; else: Node[] }
  | { n: 'template'; name: string; pipe: Pipeline | null; pos: string };

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function parse(src: string, file: string, defines: Map<string, Node[]>): Node[] {
  const pieces = splitActions(src, file);
  let i = 0;
  // Parses nodes until one of `stops` (a keyword action) is met; returns nodes and the stop.
  const parseList = (stops: string[]): { nodes: Node[]; stop: Piece | null } => {
    const nodes: Node[] = [];
    while (i < pieces.length) {
      const p = pieces[i++];
      if (p.kind === 'text') {
        nodes.push({ n: 'text', text: p.text });
        continue;
      }
      const word = /^[A-Za-z]+/.exec(p.src)?.[0] ?? '';
      const isKw = KEYWORDS.has(word) && (p.src.length === word.length || /\s/.test(p.src[word.length]));
      if (isKw && stops.includes(word)) return { nodes, stop: p };
      if (!isKw) {
        nodes.push({ n: 'out', pipe: parsePipeline(tokenize(p.src, p.pos), p.pos) });
        continue;
      }
      const rest = p.src.slice(word.length).trim();
      switch (word) {
        case 'if':
        case 'with':
        case 'range': {
          const pipe = parsePipeline(tokenize(rest, p.pos), p.pos);
          const node = parseBranches(word, pipe, p.pos);
          nodes.push(node);
          break;
        }
        case 'define': {
          const name = JSON.parse(rest) as string;
          const body = parseList(['end']);
          if (!body.stop) throw new TemplateError(`${p.pos}: define "${name}" has no end`);
          if (defines.has(name)) throw new TemplateError(`${p.pos}: template "${name}" defined twice`);
          defines.set(name, body.nodes);
          break;
        }
        case 'template': {
          const toks = tokenize(rest, p.pos);
          const first = toks.shift();
          if (first?.t !== 'str') throw new TemplateError(`${p.pos}: template needs a name`);
          nodes.push({
            n: 'template',
            name: first.v,
            pipe: toks.length ? parsePipeline(toks, p.pos) : null,
            pos: p.pos,
          });
          break;
        }
        default:
          throw new TemplateError(`${p.pos}: unexpected {{${word}}}`);
      }
    }
    if (stops.length) throw new TemplateError(`${file}: missing {{end}}`);
    return { nodes, stop: null };
  };
  const parseBranches = (word: 'if' | 'with' | 'range', pipe: Pipeline, pos: string): Node => {
    const body = parseList(['else', 'end']);
    if (!body.stop) throw new TemplateError(`${pos}: {{${word}}} has no end`);
    let elseNodes: Node[] = [];
    if (body.stop.kind === 'action' && body.stop.src.startsWith('else')) {
      const rest = body.stop.src.slice(4).trim();
      if (rest.startsWith('if ') || rest.startsWith('with ')) {
        // {{else if …}} / {{else with …}}: a nested branch sharing this {{end}}.
        const w = rest.startsWith('if ') ? 'if' : 'with';
        const innerPipe = parsePipeline(tokenize(rest.slice(w.length).trim(), body.stop.pos), body.stop.pos);
        elseNodes = [parseBranches(w, innerPipe, body.stop.pos)];
      } else {
        if (rest !== '') throw new TemplateError(`${body.stop.pos}: bad else: ${rest}`);
        const e = parseList(['end']);
        if (!e.stop) throw new TemplateError(`${pos}: {{${word}}} has no end`);
        elseNodes = e.nodes;
      }
    }
    if (word === 'range') return { n: 'range', pipe, body: body.nodes, else: elseNodes };
    return { n: word, pipe, then: body.nodes, else: elseNodes };
  };
  const top = parseList([]);
  return top.nodes;
}

// ---------------------------------------------------------------------------------------------
// Values helpers.

const isObj = (v: Value): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoInt);

export function truthy(v: Value): boolean {
  if (v === null || v === undefined || v === false || v === '') return false;
  if (v instanceof GoInt) return v.n !== 0;
  if (typeof v === 'number') return v !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isObj(v)) return Object.keys(v).length > 0;
  return true;
}

/**
 * Go's %v of a float64: strconv 'g' with the shortest digits, which switches to exponent form
 * when the decimal exponent is below -4 or at least 6 (fmt.Println(1000000.0) prints 1e+06,
 * the reason Helm charts pipe large numbers through int).
 */
export function goFloat(f: number): string {
  if (f === 0) return '0';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : Number.isNaN(f) ? 'NaN' : '-Inf';
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(Math.abs(f).toExponential())!;
  const digits = m[1] + (m[2] ?? '');
  const exp = Number(m[3]);
  const sign = f < 0 ? '-' : '';
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${e}`;
  }
  return sign + String(Math.abs(f));
}

/** What printing a value in template output gives (fmt %v). */
function printValue(v: Value, pos: string): string {
  if (v === null || v === undefined) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof GoInt) return String(v.n);
  if (typeof v === 'number') return goFloat(v);
  throw new TemplateError(`${pos}: printing a ${Array.isArray(v) ? 'list' : 'map'} directly (use toYaml)`);
}

/** sprig's strval: strings as-is, everything else through fmt %v. */
function strval(v: Value, pos: string): string {
  if (v === null || v === undefined) return '<nil>';
  return printValue(v, pos);
}

function kindOf(v: Value): string {
  if (v === null || v === undefined) return 'invalid';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return 'int';
  if (typeof v === 'number') return 'float64';
  if (Array.isArray(v)) return 'slice';
  return 'map';
}

function toInt(v: Value, pos: string): number {
  if (v instanceof GoInt) return v.n;
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? Math.trunc(n) : 0;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || v === undefined) return 0;
  throw new TemplateError(`${pos}: cannot convert a ${kindOf(v)} to int`);
}

function basicCompare(a: Value, b: Value, pos: string): number {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) throw new TemplateError(`${pos}: incompatible types for comparison (${ka} and ${kb})`);
  if (ka === 'int') return (a as GoInt).n - (b as GoInt).n;
  if (ka === 'float64') return (a as number) - (b as number);
  if (ka === 'string') return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
  if (ka === 'bool') return a === b ? 0 : 1;
  throw new TemplateError(`${pos}: cannot compare ${ka} values`);
}

/** Plain data for YAML output: GoInt becomes a number. */
function plain(v: Value): unknown {
  if (v instanceof GoInt) return v.n;
  if (Array.isArray(v)) return v.map(plain);
  if (isObj(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = plain(v[k]);
    return o;
  }
  return v === undefined ? null : v;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function sprintf(format: string, args: Value[], pos: string): string {
  let ai = 0;
  const next = (): Value => {
    if (ai >= args.length) throw new TemplateError(`${pos}: printf: missing argument for ${format}`);
    return args[ai++];
  };
  const out = format.replace(/%([%sdvq])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    const a = next();
    switch (verb) {
      case 's':
        if (typeof a !== 'string') throw new TemplateError(`${pos}: printf %s of a ${kindOf(a)}`);
        return a;
      case 'd':
        if (!(a instanceof GoInt)) throw new TemplateError(`${pos}: printf %d of a ${kindOf(a)}`);
        return String(a.n);
      case 'q':
        return goQuote(strval(a, pos));
      default:
        return strval(a, pos);
    }
  });
  if (ai !== args.length) throw new TemplateError(`${pos}: printf: too many arguments for ${format}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering.

export interface ChartFile {
  /** Path relative to the chart's templates/ directory, e.g. "api-deployment.yaml". */
  name: string;
  content: string;
}

export interface RenderContext {
  chartName: string;
  chartVersion: string;
  appVersion: string;
  releaseName: string;
  namespace: string;
}

class Scope {
  private vars = new Map<string, Value>();
  constructor(private readonly parent: Scope | null) {}
  declare(name: string, v: Value): void {
    this.vars.set(name, v);
  }
  assign(name: string, v: Value, pos: string): void {
    if (this.vars.has(name)) this.vars.set(name, v);
    else if (this.parent) this.parent.assign(name, v, pos);
    else throw new TemplateError(`${pos}: assignment to undeclared variable ${name}`);
  }
  get(name: string, pos: string): Value {
    if (this.vars.has(name)) return this.vars.get(name);
    if (this.parent) return this.parent.get(name, pos);
    throw new TemplateError(`${pos}: undefined variable ${name}`);
  }
}

class Failure extends Error {}

export class Renderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly files = new Map<string, Node[]>();
  /** Every function name the chart called, for the tests' bookkeeping. */
  readonly usedFunctions = new Set<string>();

  constructor(
    files: ChartFile[],
    private readonly ctx: RenderContext,
  ) {
    for (const f of files) {
      const full = `${ctx.chartName}/templates/${f.name}`;
      this.files.set(full, parse(f.content, full, this.defines));
      // Helm makes every file a named template too (used by the checksum annotations).
      this.defines.set(full, this.files.get(full)!);
    }
  }

  /** Renders every non-partial file; returns file name → text. Throws on `fail`/`required`. */
  renderAll(values: Obj): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of this.files.keys()) {
      const base = name.split('/').pop()!;
      if (base.startsWith('_')) continue;
      out.set(name, this.renderFile(name, values));
    }
    return out;
  }

  renderFile(name: string, values: Obj): string {
    const nodes = this.files.get(name);
    if (!nodes) throw new TemplateError(`no template file ${name}`);
    const root = this.rootData(values, name);
    const scope = new Scope(null);
    scope.declare('$', root);
    try {
      return this.exec(nodes, root, scope);
    } catch (e) {
      if (e instanceof Failure) throw new TemplateError(`execution error in ${name}: ${e.message}`);
      throw e;
    }
  }

  private rootData(values: Obj, name: string): Obj {
    return {
      Values: values,
      Chart: { Name: this.ctx.chartName, Version: this.ctx.chartVersion, AppVersion: this.ctx.appVersion },
      Release: {
        Name: this.ctx.releaseName,
        Namespace: this.ctx.namespace,
        Service: 'Helm',
        IsInstall: true,
        IsUpgrade: false,
        Revision: new GoInt(1),
      },
      Template: { Name: name, BasePath: `${this.ctx.chartName}/templates` },
    };
  }

  private exec(nodes: Node[], dot: Value, scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      switch (node.n) {
        case 'text':
          out += node.text;
          break;
        case 'out': {
          const v = this.pipeline(node.pipe, dot, scope);
          if (node.pipe.decl.length === 0) out += printValue(v, node.pipe.pos);
          break;
        }
        case 'if': {
          const v = this.pipeline(node.pipe, dot, scope);
          out += this.exec(truthy(v) ? node.then : node.else, dot, new Scope(scope));
          break;
        }
        case 'with': {
          const v = this.pipeline(node.pipe, dot, scope);
          out += truthy(v) ? this.exec(node.then, v, new Scope(scope)) : this.exec(node.else, dot, new Scope(scope));
          break;
        }
        case 'range': {
          const { decl } = node.pipe;
          const v = this.pipeline({ ...node.pipe, decl: [] }, dot, scope);
          const items: [Value, Value][] = Array.isArray(v)
            ? v.map((x, i) => [new GoInt(i), x])
            : isObj(v)
              ? Object.keys(v)
                  .sort()
                  .map((k) => [k, v[k]])
              : v === null || v === undefined
                ? []
                : (() => {
                    throw new TemplateError(`${node.pipe.pos}: range over a ${kindOf(v)}`);
                  })();
          if (items.length === 0) {
            out += this.exec(node.else, dot, new Scope(scope));
            break;
          }
          for (const [k, x] of items) {
            const s = new Scope(scope);
            if (decl.length === 1) s.declare(decl[0], x);
            else if (decl.length === 2) {
              s.declare(decl[0], k);
              s.declare(decl[1], x);
            }
            out += this.exec(node.body, x, s);
          }
          break;
        }
        case 'template': {
          const arg = node.pipe ? this.pipeline(node.pipe, dot, scope) : null;
          out += this.include(node.name, arg, node.pos);
          break;
        }
      }
    }
    return out;
  }

  private include(name: string, data: Value, pos: string): string {
    const body = this.defines.get(name);
    if (!body) throw new TemplateError(`${pos}: no template named "${name}"`);
    const scope = new Scope(null);
    scope.declare('$', data);
    return this.exec(body, data, scope);
  }

  private pipeline(pipe: Pipeline, dot: Value, scope: Scope): Value {
    let v: Value = undefined;
    let first = true;
    for (const cmd of pipe.cmds) {
      v = this.command(cmd, dot, scope, first ? undefined : { v }, pipe.pos);
      first = false;
    }
    if (pipe.decl.length === 1) {
      if (pipe.assign) scope.assign(pipe.decl[0], v, pipe.pos);
      else scope.declare(pipe.decl[0], v);
    } else if (pipe.decl.length > 1) throw new TemplateError(`${pipe.pos}: multiple declarations outside range`);
    return v;
  }

  private operand(op: Operand, dot: Value, scope: Scope, pos: string): Value {
    switch (op.k) {
      case 'lit':
        return op.v;
      case 'field':
        return this.walk(dot, op.path, pos, '.');
      case 'var':
        return this.walk(scope.get(op.name, pos), op.path, pos, op.name);
      case 'sub':
        return this.pipeline(op.pipe, dot, scope);
      case 'fn':
        return this.call(op.name, [], pos);
    }
  }

  private walk(v: Value, path: string[], pos: string, start: string): Value {
    let cur = v;
    let where = start;
    for (const p of path) {
      if (cur === null || cur === undefined) throw new TemplateError(`${pos}: nil pointer evaluating ${where}.${p}`);
      if (!isObj(cur)) throw new TemplateError(`${pos}: can't evaluate field ${p} in a ${kindOf(cur)} (${where})`);
      cur = cur[p];
      where = `${where === '.' ? '' : where}.${p}`;
    }
    return cur;
  }

  private command(cmd: Command, dot: Value, scope: Scope, piped: { v: Value } | undefined, pos: string): Value {
    const [head, ...rest] = cmd.args;
    if (head.k === 'fn') {
      const args: Value[] = [];
      // and/or short-circuit on their own arguments.
      if (head.name === 'and' || head.name === 'or') {
        this.usedFunctions.add(head.name);
        const ops: (() => Value)[] = rest.map((o) => () => this.operand(o, dot, scope, pos));
        if (piped) ops.push(() => piped.v);
        if (ops.length < 1) throw new TemplateError(`${pos}: ${head.name} needs arguments`);
        let last: Value = undefined;
        for (const op of ops) {
          last = op();
          if (head.name === 'and' ? !truthy(last) : truthy(last)) return last;
        }
        return last;
      }
      for (const o of rest) args.push(this.operand(o, dot, scope, pos));
      if (piped) args.push(piped.v);
      return this.call(head.name, args, pos);
    }
    if (rest.length > 0 || piped) throw new TemplateError(`${pos}: ${head.k} is not a function`);
    return this.operand(head, dot, scope, pos);
  }

  private call(name: string, a: Value[], pos: string): Value {
    this.usedFunctions.add(name);
    const need = (n: number): void => {
      if (a.length !== n) throw new TemplateError(`${pos}: ${name} takes ${n} argument(s), got ${a.length}`);
    };
    const str = (v: Value, what = name): string => {
      if (typeof v !== 'string') throw new TemplateError(`${pos}: ${what} needs a string, got ${kindOf(v)}`);
      return v;
    };
    switch (name) {
      case 'include':
        need(2);
        return this.include(str(a[0]), a[1], pos);
      case 'fail':
        need(1);
        throw new Failure(str(a[0]));
      case 'required':
        need(2);
        if (a[1] === null || a[1] === undefined || a[1] === '') throw new Failure(str(a[0]));
        return a[1];
      case 'default':
        need(2);
        return truthy(a[1]) ? a[1] : a[0];
      case 'empty':
        need(1);
        return !truthy(a[0]);
      case 'not':
        need(1);
        return !truthy(a[0]);
      case 'eq':
        if (a.length < 2) throw new TemplateError(`${pos}: eq needs 2 arguments`);
        return a.slice(1).some((b) => basicCompare(a[0], b, pos) === 0);
      case 'ne':
        need(2);
        return basicCompare(a[0], a[1], pos) !== 0;
      case 'lt':
        need(2);
        return basicCompare(a[0], a[1], pos) < 0;
      case 'le':
        need(2);
        return basicCompare(a[0], a[1], pos) <= 0;
      case 'gt':
        need(2);
        return basicCompare(a[0], a[1], pos) > 0;
      case 'ge':
        need(2);
        return basicCompare(a[0], a[1], pos) >= 0;
      case 'ternary':
        need(3);
        return truthy(a[2]) ? a[0] : a[1];
      case 'kindIs':
        need(2);
        return kindOf(a[1]) === str(a[0]);
      case 'hasKey':
        need(2);
        if (!isObj(a[0])) throw new TemplateError(`${pos}: hasKey needs a map`);
        return Object.prototype.hasOwnProperty.call(a[0], str(a[1]));
      case 'len':
        need(1);
        if (typeof a[0] === 'string' || Array.isArray(a[0])) return new GoInt(a[0].length);
        if (isObj(a[0])) return new GoInt(Object.keys(a[0]).length);
        throw new TemplateError(`${pos}: len of a ${kindOf(a[0])}`);
      case 'index': {
        let cur = a[0];
        for (const k of a.slice(1)) {
          if (Array.isArray(cur)) cur = cur[toInt(k, pos)];
          else if (isObj(cur)) cur = cur[str(k, 'index key')];
          else throw new TemplateError(`${pos}: index of a ${kindOf(cur)}`);
        }
        return cur;
      }
      case 'dict': {
        if (a.length % 2) throw new TemplateError(`${pos}: dict needs key/value pairs`);
        const o: Obj = {};
        for (let i = 0; i < a.length; i += 2) o[str(a[i], 'dict key')] = a[i + 1];
        return o;
      }
      case 'list':
        return [...a];
      case 'append':
        need(2);
        if (!Array.isArray(a[0])) throw new TemplateError(`${pos}: append needs a list`);
        return [...a[0], a[1]];
      case 'join':
        need(2);
        if (!Array.isArray(a[1])) throw new TemplateError(`${pos}: join needs a list`);
        return a[1].map((x) => strval(x, pos)).join(str(a[0]));
      case 'printf':
        if (a.length < 1) throw new TemplateError(`${pos}: printf needs a format`);
        return sprintf(str(a[0]), a.slice(1), pos);
      case 'print': {
        let s = '';
        a.forEach((x, i) => {
          if (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string') s += ' ';
          s += strval(x, pos);
        });
        return s;
      }
      case 'quote':
        return a
          .filter((x) => x !== null && x !== undefined)
          .map((x) => goQuote(strval(x, pos)))
          .join(' ');
      case 'toString':
        need(1);
        return strval(a[0], pos);
      case 'upper':
        need(1);
        return str(a[0]).toUpperCase();
      case 'lower':
        need(1);
        return str(a[0]).toLowerCase();
      case 'trunc': {
        need(2);
        const n = toInt(a[0], pos);
        const s = str(a[1]);
        return n >= 0 && s.length > n ? s.slice(0, n) : s;
      }
      case 'trimSuffix': {
        need(2);
        const suf = str(a[0]);
        const s = str(a[1]);
        return suf && s.endsWith(suf) ? s.slice(0, -suf.length) : s;
      }
      case 'replace':
        need(3);
        return str(a[2]).split(str(a[0])).join(str(a[1]));
      case 'contains':
        need(2);
        return str(a[1]).includes(str(a[0]));
      case 'b64enc':
        need(1);
        return Buffer.from(str(a[0]), 'utf8').toString('base64');
      case 'sha256sum':
        need(1);
        return createHash('sha256').update(str(a[0])).digest('hex');
      case 'int':
      case 'int64':
        need(1);
        return new GoInt(toInt(a[0], pos));
      case 'add':
        return new GoInt(a.reduce<number>((s, x) => s + toInt(x, pos), 0));
      case 'mul':
        return new GoInt(a.reduce<number>((s, x) => s * toInt(x, pos), 1));
      case 'sub':
        need(2);
        return new GoInt(toInt(a[0], pos) - toInt(a[1], pos));
      case 'div': {
        need(2);
        const d = toInt(a[1], pos);
        if (d === 0) throw new TemplateError(`${pos}: division by zero`);
        return new GoInt(Math.trunc(toInt(a[0], pos) / d));
      }
      case 'toYaml':
        need(1);
        return yamlStringify(plain(a[0]), { lineWidth: 0 }).replace(/\n$/, '');
      case 'indent':
        need(2);
        return indent(toInt(a[0], pos), str(a[1]));
      case 'nindent':
        need(2);
        return '\n' + indent(toInt(a[0], pos), str(a[1]));
      default:
        throw new TemplateError(`${pos}: function "${name}" not defined`);
    }
  }
}

function indent(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return pad + s.replace(/\n/g, '\n' + pad);
}

/** Helm's values coalescing: maps merge recursively, null in an override deletes the key. */
export function mergeValues(base: Value, override: Value): Value {
  if (!isObj(base) || !isObj(override)) return override === undefined ? base : override;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else if (isObj(v) && isObj(out[k])) out[k] = mergeValues(out[k], v);
    else out[k] = v;
  }
  return out;
}
