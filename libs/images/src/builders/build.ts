/**
 * `buildImage('busybox' | 'debian')`: resolve the recipe's packages from the Debian arm64 lists,
 * download them (cached), unpack them into a staging tree with `dpkg-deb -x`, configure the tree,
 * pack it with `mke2fs -d` deterministically and add it to the local store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AptRepository, defaultAptSource, type AptSource } from './apt';
import { defaultAptCacheDir, LocalImageStore, type LocalImage } from './local-store';
import { packExt4 } from './mkfs';
import { noProgress, type ProgressSink } from './progress';
import { RECIPES, type RecipeName } from './recipes';
import { extractDebs, normalizeTimes, walkTree } from './stage';

/** 2023-06-10T00:00:00Z, the Debian 12 release day: every timestamp in a built image (unless SOURCE_DATE_EPOCH). */
export const DEFAULT_IMAGE_EPOCH = 1686355200;

export interface BuildImageOptions {
  /** Tag, default `latest`. */
  tag?: string;
  store?: LocalImageStore;
  /** Package lists and .deb cache directory (default LICHEN_APT_CACHE_DIR or <cache>/lichen/apt). */
  aptCacheDir?: string;
  apt?: Partial<AptSource>;
  /** Download fresh package lists first (default: only when older than a week). */
  refresh?: boolean;
  progress?: ProgressSink;
  /** Timestamp for every file (default SOURCE_DATE_EPOCH, else DEFAULT_IMAGE_EPOCH). */
  epochSeconds?: number;
}

export function isRecipeName(name: string): name is RecipeName {
  return Object.prototype.hasOwnProperty.call(RECIPES, name);
}

export async function buildImage(recipeName: RecipeName, opts: BuildImageOptions = {}): Promise<LocalImage> {
  const recipe = RECIPES[recipeName];
  if (!recipe) throw new Error(`unknown image '${recipeName}' (known: ${Object.keys(RECIPES).join(', ')})`);
  const progress = opts.progress ?? noProgress;
  const store = opts.store ?? new LocalImageStore();
  const source = defaultAptSource(opts.apt);
  const apt = new AptRepository(opts.aptCacheDir ?? defaultAptCacheDir(), source, progress);
  const envEpoch = Number(process.env.SOURCE_DATE_EPOCH);
  const epoch = opts.epochSeconds ?? (Number.isSafeInteger(envEpoch) && envEpoch > 0 ? envEpoch : DEFAULT_IMAGE_EPOCH);

  if (opts.refresh) await apt.update(true);
  progress({ phase: 'resolve', message: `resolving ${recipe.packages.join(' ')}` });
  const pkgs = await apt.resolve(recipe.packages);
  const debs = await apt.download(pkgs);

  const scratch = mkdtempSync(join(store.scratchDir(), `build-${recipe.name}-`));
  try {
    const root = join(scratch, 'root');
    await extractDebs(debs, root, (_deb, i) =>
      progress({ phase: 'extract', message: `unpacking ${pkgs[i].name}`, current: i + 1, total: debs.length }),
    );
    progress({ phase: 'configure', message: 'configuring the tree' });
    await recipe.configure(root);
    const entries = walkTree(root);
    normalizeTimes(root, entries, epoch);
    const packages = pkgs.map((p) => `${p.name}=${p.version}`);
    const seed = JSON.stringify({ recipe: recipe.name, version: recipe.version, packages, epoch });
    const image = join(scratch, 'image.ext4');
    progress({ phase: 'pack', message: `packing ${entries.length} files with mke2fs` });
    await packExt4(root, image, { label: `lichen-${recipe.name}`, seed, epochSeconds: epoch, entries });
    progress({ phase: 'store', message: 'adding to the local store' });
    return await store.add(image, {
      name: recipe.name,
      tag: opts.tag ?? 'latest',
      source: `debian ${source.suite} ${source.arch} (${source.mirror}): ${recipe.description}`,
      packages,
      builder: { recipe: recipe.name, version: recipe.version },
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
