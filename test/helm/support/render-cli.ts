/**
 * Prints the chart's manifests rendered by the test renderer, like `helm template`:
 *   npx tsx test/helm/support/render-cli.ts [-f values.yaml]... [--set-json '{"a":{"b":1}}']
 * Used by scripts/helm-check.sh to feed kubeconform when `helm` itself is not installed.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { render, type Obj } from './chart';

const overrides: Obj[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-f' || a === '--values') overrides.push(parse(readFileSync(argv[++i], 'utf8')) as Obj);
  else if (a === '--set-json') overrides.push(JSON.parse(argv[++i]) as Obj);
  else {
    process.stderr.write(`render-cli: unknown argument ${a}\n`);
    process.exit(2);
  }
}
const { files } = render(overrides, 'lichen');
for (const [name, text] of files) {
  if (name.endsWith('NOTES.txt') || text.trim() === '') continue;
  process.stdout.write(`---\n# Source: ${name}\n${text.trim()}\n`);
}
