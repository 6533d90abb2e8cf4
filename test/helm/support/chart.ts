/** Loading and rendering deploy/helm/lichen for the chart tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { mergeValues, Renderer, type Value } from './gotemplate';

export const REPO = resolve(__dirname, '../../..');
export const CHART_DIR = join(REPO, 'deploy/helm/lichen');
export const TEMPLATES_DIR = join(CHART_DIR, 'templates');
export const EXAMPLES_DIR = join(CHART_DIR, 'examples');

export type Obj = Record<string, unknown>;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
  [k: string]: unknown;
}

export function readYaml(path: string): unknown {
  return parseYaml(readFileSync(path, 'utf8'), { strict: true, uniqueKeys: true });
}

export function chartMeta(): { name: string; version: string; appVersion: string } {
  const c = readYaml(join(CHART_DIR, 'Chart.yaml')) as { name: string; version: string; appVersion: string };
  return c;
}

export function defaultValues(): Obj {
  return readYaml(join(CHART_DIR, 'values.yaml')) as Obj;
}

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(EXAMPLES_DIR, f));
}

export function templateFiles(): { name: string; content: string }[] {
  return readdirSync(TEMPLATES_DIR)
    .filter((f) => /\.(ya?ml|tpl|txt)$/.test(f))
    .sort()
    .map((f) => ({ name: f, content: readFileSync(join(TEMPLATES_DIR, f), 'utf8') }));
}

export function mergedValues(...overrides: Obj[]): Obj {
  let v: Value = defaultValues() as Value;
  for (const o of overrides) v = mergeValues(v, o as Value);
  return v as Obj;
}

export interface Rendered {
  /** All Kubernetes objects of the manifests (NOTES.txt excluded). */
  objects: K8sObject[];
  /** Rendered NOTES.txt. */
  notes: string;
  /** Raw rendered manifests by template file. */
  files: Map<string, string>;
}

export function newRenderer(releaseName = 'demo'): Renderer {
  const meta = chartMeta();
  return new Renderer(templateFiles(), {
    chartName: meta.name,
    chartVersion: meta.version,
    appVersion: meta.appVersion,
    releaseName,
    namespace: 'lichen',
  });
}

/** Renders the chart with values.yaml merged with the given overrides, like `helm template`. */
export function render(overrides: Obj[] = [], releaseName = 'demo'): Rendered {
  const renderer = newRenderer(releaseName);
  const values = mergedValues(...overrides);
  const files = renderer.renderAll(values as never);
  const objects: K8sObject[] = [];
  let notes = '';
  for (const [name, text] of files) {
    if (name.endsWith('NOTES.txt')) {
      notes = text;
      continue;
    }
    for (const doc of parseAllDocuments(text, { strict: true, uniqueKeys: true })) {
      if (doc.errors.length > 0) {
        throw new Error(
          `${name}: rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}\n${text}`,
        );
      }
      const obj = doc.toJS() as K8sObject | null;
      if (obj === null) continue;
      objects.push(obj);
    }
  }
  return { objects, notes, files };
}

export function find(objects: K8sObject[], kind: string, nameSuffix?: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind && (nameSuffix === undefined || o.metadata.name.endsWith(nameSuffix)));
}

export function one(objects: K8sObject[], kind: string, nameSuffix?: string): K8sObject {
  const found = find(objects, kind, nameSuffix);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${nameSuffix ? ` *${nameSuffix}` : ''}, found ${found.length}`);
  }
  return found[0];
}
