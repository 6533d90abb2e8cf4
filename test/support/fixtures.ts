/**
 * Guest fixtures: every `test/guest/*.c` compiled with `aarch64-linux-gnu-gcc` into aarch64
 * ELFs, one per declared variant, cached by content hash in `test/guest/build/` (git-ignored).
 *
 * A source declares its variants in a header comment (any of its first 20 lines):
 *
 *     // fixture: static dynamic O0 O2 O3 -lm -pthread
 *
 * - link kinds: `static`, `dynamic`, `static-pie` (default: `static dynamic`)
 * - optimisation levels: `O0 O1 O2 O3 Os` (default: `O2`)
 * - any token starting with `-` is an extra compiler/linker flag (placed after the source)
 *
 * Every link kind is built at every declared level. A variant is named `<link>-<level>`
 * (e.g. `static-O3`); `fixture('hello')` is `static` at the default level (O2 when declared,
 * otherwise the first declared level).
 *
 * The cache key is sha256(source, every test/guest/*.h, flags, compiler version). Builds write a
 * temporary file and rename it into place, so concurrent Vitest workers (or two `npm run
 * fixtures`) never see a half-written binary.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const GUEST_DIR = join(REPO_ROOT, 'test', 'guest');
export const FIXTURE_BUILD_DIR = process.env.LICHEN_FIXTURE_DIR ?? join(GUEST_DIR, 'build');
export const CROSS_CC = process.env.LICHEN_CROSS_CC ?? 'aarch64-linux-gnu-gcc';

export type LinkKind = 'static' | 'dynamic' | 'static-pie';
export type OptLevel = 'O0' | 'O1' | 'O2' | 'O3' | 'Os';
/** `static`, `dynamic`, `static-pie`, or one of those with a level: `static-O3`, `dynamic-O0`, ... */
export type Variant = LinkKind | `${LinkKind}-${OptLevel}`;

const LINK_KINDS: readonly LinkKind[] = ['static', 'dynamic', 'static-pie'];
const OPT_LEVELS: readonly OptLevel[] = ['O0', 'O1', 'O2', 'O3', 'Os'];
const BASE_FLAGS = ['-g0', '-Wall', '-Wextra', '-Werror=implicit-function-declaration', '-std=gnu11'];

export interface FixtureSpec {
  /** Program name: the source file name without `.c`. */
  name: string;
  source: string;
  links: LinkKind[];
  levels: OptLevel[];
  extraFlags: string[];
}

export interface FixtureBuild {
  name: string;
  variant: `${LinkKind}-${OptLevel}`;
  link: LinkKind;
  level: OptLevel;
  path: string;
  /** True when the binary was compiled now, false when the cached one was current. */
  built: boolean;
}

/** Parses the `// fixture:` header of a guest source. Unknown bare tokens are an error. */
export function parseFixtureHeader(name: string, text: string, source = `${name}.c`): FixtureSpec {
  const links: LinkKind[] = [];
  const levels: OptLevel[] = [];
  const extraFlags: string[] = [];
  const head = text.split('\n').slice(0, 20);
  for (const line of head) {
    const m = /^\s*(?:\/\/|\/\*|\*)\s*fixture:\s*(.*?)\s*(?:\*\/)?\s*$/.exec(line);
    if (!m) continue;
    for (const token of m[1].split(/\s+/).filter(Boolean)) {
      if ((LINK_KINDS as readonly string[]).includes(token)) links.push(token as LinkKind);
      else if ((OPT_LEVELS as readonly string[]).includes(token)) levels.push(token as OptLevel);
      else if (token.startsWith('-')) extraFlags.push(token);
      else
        throw new Error(
          `${source}: unknown fixture token '${token}' (accepted: ${LINK_KINDS.join(', ')}, ${OPT_LEVELS.join(', ')}, or -flags)`,
        );
    }
  }
  return {
    name,
    source,
    links: links.length ? [...new Set(links)] : ['static', 'dynamic'],
    levels: levels.length ? [...new Set(levels)] : ['O2'],
    extraFlags,
  };
}

/** Every guest program under test/guest, sorted by name. */
export function listFixtures(): FixtureSpec[] {
  if (!existsSync(GUEST_DIR)) return [];
  return readdirSync(GUEST_DIR)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => {
      const source = join(GUEST_DIR, f);
      return parseFixtureHeader(basename(f, '.c'), readFileSync(source, 'utf8'), source);
    });
}

let compilerVersion: string | undefined;
function getCompilerVersion(): string {
  if (compilerVersion === undefined) {
    try {
      compilerVersion = execFileSync(CROSS_CC, ['--version'], { encoding: 'utf8' }).split('\n')[0];
    } catch (err) {
      throw new Error(
        `cannot run the cross compiler '${CROSS_CC}' (${(err as Error).message}); install gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (bash scripts/setup.sh)`,
      );
    }
  }
  return compilerVersion;
}

function headersDigest(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(GUEST_DIR)
    .filter((x) => x.endsWith('.h'))
    .sort()) {
    h.update(f)
      .update('\0')
      .update(readFileSync(join(GUEST_DIR, f)))
      .update('\0');
  }
  return h.digest('hex');
}

function compileArgs(spec: FixtureSpec, link: LinkKind, level: OptLevel, out: string): string[] {
  const linkFlags = link === 'static' ? ['-static'] : link === 'static-pie' ? ['-static-pie', '-fPIE'] : [];
  return [`-${level}`, ...BASE_FLAGS, ...linkFlags, '-o', out, spec.source, ...spec.extraFlags];
}

function cacheKey(spec: FixtureSpec, link: LinkKind, level: OptLevel, headers: string): string {
  return createHash('sha256')
    .update(readFileSync(spec.source))
    .update('\0')
    .update(headers)
    .update('\0')
    .update(JSON.stringify(compileArgs(spec, link, level, 'OUT').map((a) => (a === spec.source ? 'SRC' : a))))
    .update('\0')
    .update(getCompilerVersion())
    .digest('hex');
}

function outputPath(name: string, link: LinkKind, level: OptLevel): string {
  return join(FIXTURE_BUILD_DIR, `${name}.${link}-${level}`);
}

function isCurrent(path: string, key: string): boolean {
  try {
    return existsSync(path) && readFileSync(`${path}.key`, 'utf8') === key;
  } catch {
    return false;
  }
}

function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/** Moves a freshly built binary into place, then its key (readers check the key first). */
function publish(tmp: string, path: string, key: string): void {
  renameSync(tmp, path);
  const keyTmp = tmpName(`${path}.key`);
  writeFileSync(keyTmp, key);
  renameSync(keyTmp, `${path}.key`);
}

function compileError(spec: FixtureSpec, args: string[], err: unknown): Error {
  const e = err as { stderr?: string | Buffer; message: string };
  const stderr = e.stderr ? String(e.stderr).trim() : e.message;
  return new Error(`failed to compile guest fixture ${spec.source}:\n  ${CROSS_CC} ${args.join(' ')}\n${stderr}`);
}

function resolveVariant(spec: FixtureSpec, variant: Variant): { link: LinkKind; level: OptLevel } {
  const m = /^(static|dynamic|static-pie)(?:-(O0|O1|O2|O3|Os))?$/.exec(variant);
  if (!m) throw new Error(`bad fixture variant '${variant}' (expected e.g. static, dynamic-O0, static-pie-O3)`);
  const link = m[1] as LinkKind;
  const level = (m[2] as OptLevel | undefined) ?? (spec.levels.includes('O2') ? 'O2' : spec.levels[0]);
  if (!spec.links.includes(link) || !spec.levels.includes(level)) {
    const declared = spec.links.flatMap((l) => spec.levels.map((o) => `${l}-${o}`)).join(', ');
    throw new Error(
      `${spec.name}.c does not declare variant ${link}-${level} (declared: ${declared}); add it to its '// fixture:' header`,
    );
  }
  return { link, level };
}

function specFor(name: string): FixtureSpec {
  const source = join(GUEST_DIR, `${name}.c`);
  if (!existsSync(source)) throw new Error(`no guest program ${source}`);
  return parseFixtureHeader(name, readFileSync(source, 'utf8'), source);
}

/**
 * Path of a built guest program, compiling it first (synchronously) when missing or stale.
 * `fixture('hello')`, `fixture('arith', 'static-O3')`, `fixture('hello', 'dynamic')`.
 */
export function fixture(name: string, variant: Variant = 'static'): string {
  const spec = specFor(name);
  const { link, level } = resolveVariant(spec, variant);
  const path = outputPath(name, link, level);
  const key = cacheKey(spec, link, level, headersDigest());
  if (isCurrent(path, key)) return path;
  mkdirSync(FIXTURE_BUILD_DIR, { recursive: true });
  const tmp = tmpName(path);
  const args = compileArgs(spec, link, level, tmp);
  try {
    execFileSync(CROSS_CC, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw compileError(spec, args, err);
  }
  publish(tmp, path, key);
  return path;
}

/** True when the dynamic variant of `path` (by name) needs the cross sysroot to run. */
export function isDynamicFixture(path: string): boolean {
  return /\.dynamic-O[0-3s]$/.test(path);
}

export interface BuildAllOptions {
  /** Parallel compiler processes (default 2: the CI machine has 2 cores). */
  jobs?: number;
  /** Only these program names (default: every test/guest/*.c). */
  only?: string[];
  onBuilt?: (b: FixtureBuild) => void;
}

/** Builds every variant of every guest program that is missing or stale. */
export async function buildAllFixtures(opts: BuildAllOptions = {}): Promise<FixtureBuild[]> {
  let specs = listFixtures();
  if (opts.only?.length) {
    const missing = opts.only.filter((n) => !specs.some((s) => s.name === n));
    if (missing.length) throw new Error(`no guest program(s): ${missing.join(', ')} in ${GUEST_DIR}`);
    specs = specs.filter((s) => opts.only?.includes(s.name));
  }
  mkdirSync(FIXTURE_BUILD_DIR, { recursive: true });
  const headers = headersDigest();
  const tasks = specs.flatMap((spec) =>
    spec.links.flatMap((link) => spec.levels.map((level) => ({ spec, link, level }))),
  );
  const results: FixtureBuild[] = new Array(tasks.length);
  const errors: Error[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      const { spec, link, level } = tasks[i];
      const path = outputPath(spec.name, link, level);
      const key = cacheKey(spec, link, level, headers);
      let built = false;
      if (!isCurrent(path, key)) {
        const tmp = tmpName(path);
        const args = compileArgs(spec, link, level, tmp);
        try {
          await execFileAsync(CROSS_CC, args, { maxBuffer: 16 << 20 });
          publish(tmp, path, key);
          built = true;
        } catch (err) {
          rmSync(tmp, { force: true });
          errors.push(compileError(spec, args, err));
          continue;
        }
      }
      results[i] = { name: spec.name, variant: `${link}-${level}`, link, level, path, built };
      opts.onBuilt?.(results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.jobs ?? 2) }, worker));
  if (errors.length) throw new Error(errors.map((e) => e.message).join('\n\n'));
  return results;
}
