import Ajv, { type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  CHART_DIR,
  chartMeta,
  defaultValues,
  exampleFiles,
  mergedValues,
  readYaml,
  templateFiles,
  type Obj,
} from './support/chart';
import { newRenderer } from './support/chart';

const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Obj;

function validator(): ValidateFunction {
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
  return ajv.compile(schema);
}

function errorsOf(values: unknown): string[] {
  const validate = validator();
  if (validate(values)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** Leaf paths of a values tree ("a.b.c"); empty maps/lists and nulls count as leaves. */
function leafPaths(v: unknown, prefix = ''): string[] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
    return Object.entries(v as Obj).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

/** Every .Values path the templates read, with `$x := .Values.a.b` variables resolved. */
function templateValuePaths(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (path: string, file: string): void => {
    used.set(path, [...(used.get(path) ?? []), file]);
  };
  for (const { name, content } of templateFiles()) {
    const vars = new Map<string, string>();
    for (const m of content.matchAll(/(\$[A-Za-z0-9_]+)\s*:=\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      vars.set(m[1], m[2].slice(1));
    }
    // `index .Values.a.b "key"` reads a.b.key (templates use index for keys that may be null).
    const indexed = /index \$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+) "([A-Za-z_][A-Za-z0-9_]*)"/g;
    for (const m of content.matchAll(indexed)) add(`${m[1].slice(1)}.${m[2]}`, name);
    const rest = content.replace(indexed, '');
    for (const m of rest.matchAll(/\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) add(m[1].slice(1), name);
    for (const [v, base] of vars) {
      const re = new RegExp(`\\${v}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`, 'g');
      for (const m of content.matchAll(re)) add(`${base}${m[1]}`, name);
    }
  }
  return used;
}

function hasPath(values: Obj, path: string): boolean {
  let cur: unknown = values;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !(part in (cur as Obj))) return false;
    cur = (cur as Obj)[part];
  }
  return true;
}

describe('chart files parse', () => {
  it('Chart.yaml is a v2 application chart with semver version and appVersion', () => {
    const c = readYaml(join(CHART_DIR, 'Chart.yaml')) as Obj;
    expect(c.apiVersion).toBe('v2');
    expect(c.name).toBe('lichen');
    expect(c.type).toBe('application');
    expect(String(c.version)).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(typeof c.appVersion).toBe('string');
    const rootPkg = JSON.parse(readFileSync(join(CHART_DIR, '../../../package.json'), 'utf8')) as { version: string };
    expect(chartMeta().appVersion).toBe(rootPkg.version);
  });

  it('values.yaml and every example parse as YAML maps without duplicate keys', () => {
    const files = [join(CHART_DIR, 'values.yaml'), ...exampleFiles()];
    expect(exampleFiles().map((f) => basename(f))).toEqual(expect.arrayContaining(['minimal.yaml', 'production.yaml']));
    for (const f of files) {
      const v = readYaml(f);
      expect(v, f).toBeTypeOf('object');
      expect(Array.isArray(v), f).toBe(false);
    }
  });

  it('rejects a YAML file with a duplicate key (the parser used above is strict)', () => {
    expect(() => parseYaml('a: 1\na: 2\n', { uniqueKeys: true })).toThrow();
  });

  it('every template parses: balanced actions, every if/range/with/define closed', () => {
    expect(() => newRenderer()).not.toThrow();
    const files = templateFiles();
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['_helpers.tpl', 'NOTES.txt']));
    for (const { name, content } of files) {
      const opens = (content.match(/\{\{/g) ?? []).length;
      const closes = (content.match(/\}\}/g) ?? []).length;
      expect(closes, `${name}: {{ and }} counts`).toBe(opens);
    }
  });

  it('the template parser rejects an unclosed block and an unclosed action', () => {
    const meta = { chartName: 'x', chartVersion: '0', appVersion: '0', releaseName: 'r', namespace: 'n' };
    const Renderer = newRenderer().constructor as new (
      f: { name: string; content: string }[],
      c: typeof meta,
    ) => unknown;
    expect(() => new Renderer([{ name: 'a.yaml', content: '{{ if .Values.x }}x' }], meta)).toThrow(/end/);
    expect(() => new Renderer([{ name: 'a.yaml', content: 'a: {{ .Values.x' }], meta)).toThrow(/unclosed/);
  });

  it('every include names a template defined in _helpers.tpl', () => {
    const helpers = templateFiles().find((f) => f.name === '_helpers.tpl')!.content;
    const defined = new Set([...helpers.matchAll(/define "([^"]+)"/g)].map((m) => m[1]));
    for (const { name, content } of templateFiles()) {
      for (const m of content.matchAll(/include "([^"]+)"/g)) {
        expect(defined.has(m[1]), `${name} includes unknown "${m[1]}"`).toBe(true);
      }
    }
  });
});

describe('values.schema.json', () => {
  it('is a valid draft-07 schema that ajv compiles in strict mode', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(() => validator()).not.toThrow();
  });

  it('accepts values.yaml', () => {
    expect(errorsOf(defaultValues())).toEqual([]);
  });

  for (const file of exampleFiles()) {
    it(`accepts values.yaml merged with examples/${basename(file)}`, () => {
      expect(errorsOf(mergedValues(readYaml(file) as Obj))).toEqual([]);
    });
  }

  it('accepts values.yaml with every null-valued key removed (Helm may drop them when coalescing)', () => {
    const dropNulls = (v: unknown): unknown => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      return Object.fromEntries(
        Object.entries(v as Obj)
          .filter(([, x]) => x !== null)
          .map(([k, x]) => [k, dropNulls(x)]),
      );
    };
    const stripped = dropNulls(defaultValues()) as Obj;
    expect(JSON.stringify(stripped)).not.toEqual(JSON.stringify(defaultValues()));
    expect(errorsOf(stripped)).toEqual([]);
  });

  it('describes every key of values.yaml and nothing that values.yaml lacks', () => {
    const values = defaultValues();
    const schemaPaths: string[] = [];
    const walk = (s: Obj, prefix: string): void => {
      const props = s.properties as Record<string, Obj> | undefined;
      if (!props || s.additionalProperties !== false) {
        schemaPaths.push(prefix);
        return;
      }
      // Shared definitions ($ref: resources, probes, env lists) are generic types whose
      // optional keys values.yaml need not spell out: they count as one leaf.
      for (const [k, sub] of Object.entries(props)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (typeof sub.$ref === 'string') schemaPaths.push(path);
        else walk(sub, path);
      }
    };
    walk(schema, '');
    for (const p of schemaPaths) expect(hasPath(values, p), `schema path ${p} missing from values.yaml`).toBe(true);
  });

  const bad: [string, Obj, RegExp][] = [
    ['an unknown top-level key', { replicas: 3 }, /additional properties/],
    ['a misspelt nested key', { runner: { concurency: 4 } }, /additional properties/],
    ['a string where an integer is expected', { runner: { concurrency: '4' } }, /must be integer/],
    ['a writable root filesystem', { containerSecurityContext: { readOnlyRootFilesystem: false } }, /constant/],
    ['running as root', { podSecurityContext: { runAsNonRoot: false } }, /constant/],
    ['an invalid bucket name', { s3: { bucket: 'Bad_Bucket' } }, /pattern/],
    ['a non-redis URL', { redis: { url: 'http://redis:6379' } }, /pattern/],
    ['a short admin key', { auth: { adminKey: 'short' } }, /anyOf|fewer/],
    ['an API key with a comma', { auth: { apiKeys: [{ tenant: 't', key: 'aaaaaaaaaaaaaaaa,bbbb' }] } }, /pattern/],
    ['a config.env name that is not a Lichen variable', { config: { env: { PATH: '/bin' } } }, /property name/],
    ['a config.env number value', { config: { env: { LICHEN_JOB_ATTEMPTS: 2 } } }, /must be string/],
    ['a missing max wall time', { limits: { max: { wallMs: null } } }, /required|must be integer/],
    ['a KEDA address with a scheme', { runner: { keda: { redis: { address: 'redis://r:6379' } } } }, /pattern/],
    ['a malformed quantity', { runner: { resources: { limits: { memory: '6 GB' } } } }, /pattern|oneOf/],
    ['an unknown pull policy', { image: { pullPolicy: 'Sometimes' } }, /allowed values/],
    ['a malformed runner CPU list', { runner: { cpus: '0-' } }, /pattern/],
    ['negative VM threads', { runner: { vmThreads: -1 } }, /must be >= 0/],
  ];
  for (const [what, override, msg] of bad) {
    it(`rejects ${what}`, () => {
      const errs = errorsOf(mergedValues(override));
      expect(errs.length, JSON.stringify(override)).toBeGreaterThan(0);
      expect(errs.join('\n')).toMatch(msg);
    });
  }
});

describe('template value paths', () => {
  const used = templateValuePaths();

  it('the scan finds the paths the templates read', () => {
    expect(used.size).toBeGreaterThan(50);
    expect(used.has('runner.keda.redis.address')).toBe(true); // read through $keda
    expect(used.has('runner.shutdownGraceMs')).toBe(true); // read through index
    expect(used.has('runner')).toBe(false); // index of a literal key is not a read of the whole map
  });

  it('every .Values path a template reads exists in values.yaml', () => {
    const values = defaultValues();
    const missing = [...used.entries()].filter(([p]) => !hasPath(values, p)).map(([p, f]) => `${p} (${f.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('every key in values.yaml is read by some template (no dead settings)', () => {
    const paths = [...used.keys()];
    const dead = leafPaths(defaultValues()).filter(
      (leaf) => !paths.some((p) => leaf === p || leaf.startsWith(`${p}.`)),
    );
    expect(dead).toEqual([]);
  });
});
