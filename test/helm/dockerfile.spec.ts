/**
 * Static checks of the Dockerfile, .dockerignore and the container entry point (no Docker
 * engine on the development machines): every file the build copies exists and is in the build
 * context, every workspace is installed, the entry point starts the files `npm run build` emits.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, render, type K8sObject } from './support/chart';
import { mentions, serviceSources } from './support/source';

interface Instruction {
  op: string;
  args: string;
  stage: string;
}

function parseDockerfile(text: string): Instruction[] {
  const lines = text.split('\n');
  const joined: string[] = [];
  let cur = '';
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (cur === '' && /^\s*#/.test(line)) continue;
    if (cur !== '' && /^\s*#/.test(line)) continue; // comment lines inside a continuation
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    cur += line;
    if (cur.trim() !== '') joined.push(cur.trim());
    cur = '';
  }
  const out: Instruction[] = [];
  let stage = '';
  for (const l of joined) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`unparsed Dockerfile line: ${l}`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') {
      const as = /\sAS\s+([A-Za-z0-9_-]+)\s*$/i.exec(m[2]);
      stage = as ? as[1] : `stage${out.filter((i) => i.op === 'FROM').length}`;
    }
    out.push({ op, args: m[2], stage });
  }
  return out;
}

/** Docker's .dockerignore matching (patterns with *, ** and ?; a match excludes a whole subtree). */
function dockerIgnored(patterns: string[], path: string): boolean {
  let ignored = false;
  const parts = path.split('/');
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const p = posix.normalize(neg ? raw.slice(1) : raw).replace(/^\/+/, '');
    const re = new RegExp(
      '^' +
        p
          .split('**')
          .map((seg) =>
            seg
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
          )
          .join('.*')
          .replace(/\.\*\//g, '(?:.*/)?') +
        '$',
    );
    for (let i = 1; i <= parts.length; i++) {
      if (re.test(parts.slice(0, i).join('/'))) {
        ignored = !neg;
        break;
      }
    }
  }
  return ignored;
}

const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(dockerfile);
const ignorePatterns = readFileSync(join(REPO, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const entrypoint = readFileSync(join(REPO, 'deploy/docker/entrypoint.sh'), 'utf8');

const workspaces = (): string[] => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] };
  return pkg.workspaces.flatMap((glob) => {
    const dir = glob.replace(/\/\*$/, '');
    return readdirSync(join(REPO, dir))
      .map((d) => `${dir}/${d}`)
      .filter((d) => existsSync(join(REPO, d, 'package.json')));
  });
};

/** Where tsc puts src/main.ts of an app, from its tsconfig's rootDir and outDir. */
function emittedMain(app: string): string {
  const cfg = JSON.parse(readFileSync(join(REPO, app, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { rootDir: string; outDir: string };
  };
  const root = join(REPO, app, cfg.compilerOptions.rootDir);
  const rel = relative(root, join(REPO, app, 'src/main.ts')).replace(/\.ts$/, '.js');
  return posix.normalize(`${app}/${cfg.compilerOptions.outDir}/${rel.split('\\').join('/')}`);
}

/** The file the entry point runs for a command. */
function entryFile(cmd: string): string {
  const m = new RegExp(`^\\s*(?:[a-z]+ \\| )*${cmd}(?: \\| [a-z]+)*\\) exec node (\\S+) "\\$@" ;;`, 'm').exec(
    entrypoint,
  );
  if (!m) throw new Error(`entrypoint.sh has no case for ${cmd}`);
  return m[1];
}

describe('Dockerfile', () => {
  it('has deps, build and runtime stages on a Node 20 slim base', () => {
    const arg = instructions.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(arg?.args).toMatch(/^NODE_IMAGE=node:20(\.\d+)*-(bookworm-)?slim$/);
    const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(froms).toEqual(['${NODE_IMAGE} AS base', 'base AS deps', 'base AS build', '${NODE_IMAGE} AS runtime']);
  });

  it('installs every npm workspace (its package.json is copied before npm ci)', () => {
    const copied = instructions.filter((i) => i.stage === 'base' && i.op === 'COPY').map((i) => i.args.split(/\s+/)[0]);
    const ws = workspaces();
    expect(ws.length).toBeGreaterThanOrEqual(7);
    for (const w of ws) expect(copied, w).toContain(`${w}/package.json`);
    expect(copied).toContain('package.json');
  });

  it('builds with npm ci + npm run build, and ships production dependencies only', () => {
    const runs = (stage: string) => instructions.filter((i) => i.stage === stage && i.op === 'RUN').map((i) => i.args);
    expect(runs('deps').join('\n')).toMatch(/npm ci --omit=dev/);
    expect(runs('build').join('\n')).toMatch(/^npm ci$/m);
    expect(runs('build').join('\n')).toMatch(/npm run build/);
    const runtimeCopies = instructions.filter((i) => i.stage === 'runtime' && i.op === 'COPY').map((i) => i.args);
    expect(runtimeCopies).toContain('--from=deps /app/node_modules ./node_modules');
    expect(runtimeCopies.some((c) => /--from=build .*node_modules/.test(c))).toBe(false);
  });

  it('every COPY source from the build context exists and is not excluded by .dockerignore', () => {
    const sources = instructions
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => {
        const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        return parts.slice(0, -1);
      });
    expect(sources.length).toBeGreaterThan(10);
    for (const s of sources) {
      const p = s.replace(/\/$/, '');
      expect(existsSync(join(REPO, p)), `${s} exists`).toBe(true);
      expect(dockerIgnored(ignorePatterns, p), `${s} is in the build context`).toBe(false);
    }
  });

  it('.dockerignore keeps sources in and build output, dependencies and secrets out', () => {
    for (const p of [
      'node_modules/x',
      'libs/vfs/node_modules/y',
      'apps/api/dist/main.js',
      '.git/HEAD',
      '.env',
      'a/.env',
    ]) {
      expect(dockerIgnored(ignorePatterns, p), p).toBe(true);
    }
    const needed = ['tsconfig.base.json', 'tsconfig.build.json', 'deploy/docker/entrypoint.sh'];
    for (const w of workspaces()) {
      needed.push(`${w}/package.json`, `${w}/tsconfig.json`);
      const src = join(REPO, w, 'src');
      const walk = (d: string): void => {
        for (const e of readdirSync(d)) {
          const p = join(d, e);
          if (statSync(p).isDirectory()) walk(p);
          else if (e.endsWith('.ts') && !e.endsWith('.spec.ts')) needed.push(relative(REPO, p));
        }
      };
      if (existsSync(src)) walk(src);
      if (existsSync(join(REPO, w, 'bin')))
        needed.push(...readdirSync(join(REPO, w, 'bin')).map((b) => `${w}/bin/${b}`));
    }
    const dropped = needed.filter((p) => dockerIgnored(ignorePatterns, p));
    expect(dropped).toEqual([]);
  });

  it('the build stage compiles every workspace the runtime image collects', () => {
    const build = JSON.parse(readFileSync(join(REPO, 'tsconfig.build.json'), 'utf8')) as {
      references: { path: string }[];
    };
    const refs = build.references.map((r) => r.path);
    for (const w of workspaces()) expect(refs, w).toContain(w);
  });

  it('runs as an unprivileged numeric user through the entry point script', () => {
    const runtime = instructions.filter((i) => i.stage === 'runtime');
    const user = runtime.filter((i) => i.op === 'USER').pop();
    expect(user?.args).toMatch(/^[1-9][0-9]*(:[1-9][0-9]*)?$/);
    expect(runtime.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["/usr/local/bin/lichen-entrypoint"]');
    expect(runtime.find((i) => i.op === 'COPY' && i.args.includes('deploy/docker/entrypoint.sh'))?.args).toBe(
      'deploy/docker/entrypoint.sh /usr/local/bin/lichen-entrypoint',
    );
  });

  it('every LICHEN_* default in the image is a variable the service reads', () => {
    const env = instructions
      .filter((i) => i.stage === 'runtime' && i.op === 'ENV')
      .flatMap((i) => [...i.args.matchAll(/(LICHEN_[A-Z0-9_]+)=/g)].map((m) => m[1]));
    expect(env.length).toBeGreaterThanOrEqual(3);
    const code = serviceSources();
    for (const n of env) expect(mentions(code, n), `${n} is read by apps/ or libs/`).toBe(true);
  });
});

describe('container entry point', () => {
  it('is valid POSIX sh', () => {
    expect(() => execFileSync('sh', ['-n', join(REPO, 'deploy/docker/entrypoint.sh')])).not.toThrow();
    expect(entrypoint.startsWith('#!/bin/sh\n')).toBe(true);
  });

  it('starts the api and runner modules where `npm run build` emits them', () => {
    for (const app of ['api', 'runner']) {
      const file = entryFile(app);
      expect(file).toBe(emittedMain(`apps/${app}`));
      expect(existsSync(join(REPO, `apps/${app}/src/main.ts`))).toBe(true);
      // The main module starts the process when run directly.
      expect(readFileSync(join(REPO, `apps/${app}/src/main.ts`), 'utf8')).toMatch(/require\.main === module/);
      // The image build checks the same file exists after `npm run build`.
      expect(dockerfile).toContain(`test -f /out/${file}`);
    }
  });

  it('runs the lichen CLI through its bin shim, which loads the compiled CLI', () => {
    const file = entryFile('lichen');
    expect(file).toBe('apps/cli/bin/lichen.js');
    expect(existsSync(join(REPO, file))).toBe(true);
    expect(readFileSync(join(REPO, file), 'utf8')).toContain("'dist', 'main.js'");
    expect(emittedMain('apps/cli')).toBe('apps/cli/dist/main.js');
    expect(dockerfile).toContain(`test -f /out/${file}`);
    expect(dockerfile).toContain('test -f /out/apps/cli/dist/main.js');
  });

  it('accepts every command the Helm chart gives its containers', () => {
    const { objects } = render();
    const deps = objects.filter((o: K8sObject) => o.kind === 'Deployment');
    for (const d of deps) {
      const args = (d.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]
        .args;
      expect(() => entryFile(args[0])).not.toThrow();
    }
  });
});
