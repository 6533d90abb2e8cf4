/**
 * A private apt configuration for Debian arm64 packages: its own package lists, an empty
 * dpkg status (nothing counts as installed), and a cache of downloaded `.deb` files, all
 * under one directory. The host's apt is used as a tool; the host's package state is
 * never read or changed. Proxy and other settings in /etc/apt/apt.conf.d still apply.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec';
import { withFileLock } from './lock';
import { noProgress, type ProgressSink } from './progress';

export interface AptSource {
  /** Debian mirror, default http://deb.debian.org/debian (env LICHEN_DEBIAN_MIRROR). */
  mirror: string;
  /** Suite, default bookworm. */
  suite: string;
  /** Components, default main. */
  components: string[];
  /** Architecture, default arm64. */
  arch: string;
  /** Keyring that signs the suite, default the host's Debian archive keyring. */
  keyring: string;
}

export interface DebPackage {
  name: string;
  version: string;
  arch: string;
}

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export function defaultAptSource(overrides: Partial<AptSource> = {}): AptSource {
  return {
    mirror: process.env.LICHEN_DEBIAN_MIRROR || DEFAULT_MIRROR,
    suite: 'bookworm',
    components: ['main'],
    arch: 'arm64',
    keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
    ...overrides,
  };
}

/** Package lists older than this are refreshed (`apt-get update`) before resolving. */
const LISTS_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export class AptRepository {
  readonly root: string;
  private readonly debDir: string;

  /** `cacheDir` holds lists and downloaded packages (e.g. $XDG_CACHE_HOME/lichen/apt). */
  constructor(
    cacheDir: string,
    readonly source: AptSource = defaultAptSource(),
    private readonly progress: ProgressSink = noProgress,
  ) {
    this.root = join(cacheDir, `${source.suite}-${source.arch}`);
    this.debDir = join(this.root, 'debs');
    for (const d of ['lists/partial', 'archives/partial', 'etc/sources.list.d', 'etc/preferences.d', 'dpkg', 'debs']) {
      mkdirSync(join(this.root, d), { recursive: true });
    }
    const status = join(this.root, 'dpkg/status');
    if (!existsSync(status)) writeFileSync(status, '');
    const line = `deb [arch=${source.arch} signed-by=${source.keyring}] ${source.mirror} ${source.suite} ${source.components.join(' ')}\n`;
    writeFileSync(join(this.root, 'etc/sources.list'), line);
  }

  /** The `-o` options that point apt at this private state. */
  aptOptions(): string[] {
    const r = this.root;
    return [
      `-oAPT::Architecture=${this.source.arch}`,
      `-oAPT::Architectures::=${this.source.arch}`,
      `-oDir::State=${join(r, 'state')}`,
      `-oDir::State::Lists=${join(r, 'lists')}`,
      `-oDir::State::status=${join(r, 'dpkg/status')}`,
      `-oDir::Cache=${r}`,
      `-oDir::Cache::archives=${join(r, 'archives')}`,
      `-oDir::Etc::SourceList=${join(r, 'etc/sources.list')}`,
      `-oDir::Etc::SourceParts=${join(r, 'etc/sources.list.d')}`,
      `-oDir::Etc::Preferences=${join(r, 'etc/preferences')}`,
      `-oDir::Etc::PreferencesParts=${join(r, 'etc/preferences.d')}`,
      '-oAPT::Sandbox::User=root',
      '-oDebug::NoLocking=1',
      '-oAPT::Install-Recommends=false',
      '-oAPT::Get::AllowUnauthenticated=false',
    ];
  }

  private listsFresh(): boolean {
    const lists = join(this.root, 'lists');
    const files = readdirSync(lists).filter((f) => f.endsWith('_Packages') || f.endsWith('_Packages.lz4'));
    if (files.length === 0) return false;
    return Date.now() - statSync(join(lists, files[0])).mtimeMs < LISTS_MAX_AGE_MS;
  }

  /** Downloads the package lists when missing, older than a week, or when `force`. */
  async update(force = false): Promise<void> {
    if (!force && this.listsFresh()) return;
    await withFileLock(join(this.root, 'update.lock'), async () => {
      // another process may have refreshed the lists while we waited
      if (!force && this.listsFresh()) return;
      await this.updateLocked();
    });
  }

  private async updateLocked(): Promise<void> {
    mkdirSync(join(this.root, 'state'), { recursive: true });
    this.progress({ phase: 'resolve', message: `apt-get update (${this.source.suite} ${this.source.arch})` });
    try {
      await run('apt-get', [...this.aptOptions(), '-q', 'update']);
    } catch (err) {
      throw new Error(
        `cannot download the Debian ${this.source.suite} ${this.source.arch} package lists from ${this.source.mirror} ` +
          `(set LICHEN_DEBIAN_MIRROR for another mirror): ${(err as Error).message}`,
      );
    }
    if (!this.listsFresh()) {
      throw new Error(`apt-get update left no package lists in ${join(this.root, 'lists')}`);
    }
  }

  /**
   * Resolves `packages` and all their dependencies (Depends, Pre-Depends; no Recommends)
   * from the arm64 lists, as apt would install them on an empty system. Sorted by name.
   */
  async resolve(packages: readonly string[]): Promise<DebPackage[]> {
    await this.update();
    let out: string;
    try {
      out = (await run('apt-get', [...this.aptOptions(), '-s', '-q', 'install', ...packages])).stdout;
    } catch (err) {
      throw new Error(`cannot resolve packages ${packages.join(' ')}: ${(err as Error).message}`);
    }
    const result: DebPackage[] = [];
    for (const line of out.split('\n')) {
      // Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [arm64]) []
      const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]]+)\]\)/.exec(line);
      if (m) result.push({ name: m[1].replace(/:.*$/, ''), version: m[2], arch: m[3] });
    }
    if (result.length === 0)
      throw new Error(`apt resolved no packages for ${packages.join(' ')}:\n${out.slice(-2000)}`);
    return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The cache file name of a package (apt's own naming: `:` in versions becomes `%3a`). */
  debFileName(p: DebPackage): string {
    return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
  }

  /** Downloads the packages not yet in the cache and returns the path of every `.deb`, in order. */
  async download(packages: readonly DebPackage[]): Promise<string[]> {
    const missing = packages.filter((p) => !existsSync(join(this.debDir, this.debFileName(p))));
    if (missing.length) {
      this.progress({
        phase: 'download',
        message: `downloading ${missing.length} package(s)`,
        current: packages.length - missing.length,
        total: packages.length,
      });
      const tmp = await mkdtemp(join(this.root, 'download-'));
      try {
        // apt-get download verifies each file against the signed lists before keeping it.
        const batch = 16;
        for (let i = 0; i < missing.length; i += batch) {
          const slice = missing.slice(i, i + batch);
          const specs = slice.map((p) => `${p.name}=${p.version}`);
          try {
            await run('apt-get', [...this.aptOptions(), '-q', 'download', ...specs], { cwd: tmp });
          } catch (err) {
            throw new Error(
              `cannot download ${specs.join(' ')} (if the mirror moved to newer versions, rebuild with --refresh): ${(err as Error).message}`,
            );
          }
          for (const p of slice) {
            const f = this.debFileName(p);
            if (!existsSync(join(tmp, f))) throw new Error(`apt-get download did not produce ${f}`);
            renameSync(join(tmp, f), join(this.debDir, f));
          }
          this.progress({
            phase: 'download',
            message: `downloaded ${slice.map((p) => p.name).join(' ')}`,
            current: packages.length - missing.length + Math.min(i + batch, missing.length),
            total: packages.length,
          });
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    return packages.map((p) => join(this.debDir, this.debFileName(p)));
  }
}
