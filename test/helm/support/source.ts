/** The service's own TypeScript sources (apps/*\/src, libs/*\/src; specs and build output left out). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './chart';

export interface SourceFile {
  path: string;
  text: string;
}

/** Non-test TypeScript sources under the given repository directories. */
export function sources(...dirs: string[]): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (d: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      if (e === 'node_modules' || e === 'dist') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.ts') && !e.endsWith('.spec.ts') && !e.endsWith('.d.ts')) {
        out.push({ path: relative(REPO, p), text: readFileSync(p, 'utf8') });
      }
    }
  };
  for (const d of dirs) walk(join(REPO, d));
  return out;
}

/** Every app's and lib's sources: what the service processes can read. */
export function serviceSources(): SourceFile[] {
  return sources(
    ...readdirSync(join(REPO, 'apps')).map((a) => `apps/${a}/src`),
    ...readdirSync(join(REPO, 'libs')).map((l) => `libs/${l}/src`),
  );
}

/** True when `token` occurs in some file as a whole identifier. */
export function mentions(code: SourceFile[], token: string): boolean {
  const re = new RegExp(`(^|[^A-Za-z0-9_])${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_])`);
  return code.some((f) => re.test(f.text));
}
