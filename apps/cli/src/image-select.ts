/**
 * Locates the image `lichen run --image` names: a file path, or NAME[:TAG] looked up in the
 * local store, then S3 when configured. The built-in images (busybox, debian) are built on
 * first use when found nowhere.
 */
import {
  buildImage,
  defaultImageDir,
  ImageNotFoundError,
  isRecipeName,
  LocalImageStore,
  OpenFileDevice,
  parseImageRef,
  RECIPES,
  resolveImage,
} from '@lichen/images';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CliIo } from './io';
import { progressReporter } from './progress';
import type { RunImage } from './run-options';

/** True when `text` names a file rather than NAME[:TAG]. */
export function looksLikePath(text: string, cwd: string): boolean {
  if (/^(\/|\.\.?\/|~\/)/.test(text) || /\.(ext4|img|ext2|ext3)$/.test(text)) return true;
  const p = resolve(cwd, text);
  return existsSync(p) && statSync(p).isFile();
}

export async function locateImage(requested: string, io: CliIo): Promise<RunImage> {
  if (looksLikePath(requested, io.cwd)) {
    const path = isAbsolute(requested)
      ? requested
      : resolve(io.cwd, requested.replace(/^~\//, `${io.env.HOME ?? ''}/`));
    if (!existsSync(path)) throw new Error(`option --image: the image file ${path} does not exist`);
    if (!statSync(path).isFile()) throw new Error(`option --image: ${path} is not a file`);
    return {
      requested,
      origin: 'file',
      path,
      size: statSync(path).size,
      open: () => OpenFileDevice.open(path),
      bytesFetched: () => 0,
    };
  }
  let ref;
  try {
    ref = parseImageRef(requested);
  } catch (err) {
    throw new Error(`option --image: ${(err as Error).message}, or give a path to an ext4 file`);
  }
  const store = new LocalImageStore(defaultImageDir(io.env));
  const find = async (): Promise<RunImage> => {
    const r = await resolveImage(requested, { local: store, env: io.env });
    return {
      requested,
      origin: r.origin,
      path: r.path,
      digest: r.digest,
      size: r.size,
      open: () => r.open(),
      bytesFetched: () => r.bytesFetched(),
    };
  };
  // A built-in image made by an older version of its recipe lacks what the recipe adds now
  // (e.g. debian v2 adds python3's standard library): rebuild it once, as on first use.
  if (isRecipeName(ref.name) && ref.tag === 'latest') {
    const built = store.get(ref)?.manifest.builder;
    const recipe = RECIPES[ref.name];
    if (built && built.recipe === recipe.name && built.version < recipe.version) {
      io.stderr(
        `lichen: image ${ref.name} was built by recipe version ${built.version} (now ${recipe.version}); rebuilding it now (once)\n`,
      );
      const progress = progressReporter(io);
      try {
        await buildImage(ref.name, { store, progress: progress.report });
      } finally {
        progress.done();
      }
    }
  }
  try {
    return await find();
  } catch (err) {
    if (!(err instanceof ImageNotFoundError)) throw err;
    if (!isRecipeName(ref.name) || ref.tag !== 'latest') {
      throw new Error(`${err.message}; build one with 'lichen image build' or give a path to an ext4 file`);
    }
    io.stderr(`lichen: image ${ref.name} is not in ${store.dir}; building it now (once)\n`);
    const progress = progressReporter(io);
    try {
      await buildImage(ref.name, { store, progress: progress.report });
    } finally {
      progress.done();
    }
    return await find();
  }
}
