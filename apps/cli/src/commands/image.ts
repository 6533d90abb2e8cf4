/** `lichen image build NAME` and `lichen image ls`: the local image store. */
import {
  buildImage,
  defaultImageDir,
  LocalImageStore,
  RECIPES,
  type LocalImage,
  type RecipeName,
} from '@lichen/images';
import { Argument, Command } from 'commander';
import type { CliIo } from '../io';
import { formatBytes } from '../parse';
import { progressReporter } from '../progress';
import { listRemoteImages, registerRemoteImageCommands } from './image-remote';

function imageJson(img: LocalImage): Record<string, unknown> {
  return { ...img.manifest, path: img.path };
}

/** A plain text table with left-aligned columns. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function imageCommand(io: CliIo): Command {
  const image = new Command('image').description('build and list root filesystem images (ext4)');
  image.addHelpText(
    'after',
    `
Images live in the local store: $LICHEN_IMAGE_DIR, default $XDG_CACHE_HOME/lichen/images (~/.cache/lichen/images).

Examples:
  $ lichen image build busybox
  $ lichen image ls`,
  );

  image
    .command('build')
    .description('build a built-in image from Debian bookworm arm64 packages into the local store')
    .addArgument(new Argument('<name>', 'which image').choices(Object.keys(RECIPES)))
    .option('--tag <tag>', 'tag of the built image', 'latest')
    .option('--refresh', 'download fresh Debian package lists first (default: reuse lists younger than a week)')
    .option('--json', 'print the manifest as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
busybox: Debian's busybox-static with applet links in /bin, /sbin, /usr/bin, /usr/sbin and a minimal /etc.
debian:  bash, coreutils, grep, sed, mawk, findutils, diffutils, tar, gzip, xz-utils, bzip2, procps,
         python3-minimal and their dependencies, merged /usr, no maintainer scripts run.

Packages are downloaded with apt (cached under $XDG_CACHE_HOME/lichen/apt); building the same image
twice gives the same sha256.

Examples:
  $ lichen image build busybox
  $ lichen image build debian --tag bookworm --json`,
    )
    .action(async (name: RecipeName, opts: { tag: string; refresh?: boolean; json?: boolean; quiet?: boolean }) => {
      const store = new LocalImageStore(defaultImageDir(io.env));
      const progress = progressReporter(io, opts.quiet);
      const started = Date.now();
      let img: LocalImage;
      try {
        img = await buildImage(name, { store, tag: opts.tag, refresh: opts.refresh, progress: progress.report });
      } finally {
        progress.done();
      }
      if (opts.json) io.stdout(`${JSON.stringify(imageJson(img), null, 2)}\n`);
      else {
        io.stdout(
          `built ${img.manifest.name}:${img.manifest.tag} ${img.manifest.digest} ` +
            `(${formatBytes(img.manifest.size)}, ${img.manifest.packages.length} packages) in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
            `${img.path}\n`,
        );
      }
    });

  image
    .command('ls')
    .description('list the images in the local store (or, with --remote, in the S3 store)')
    .option('--json', 'print a JSON array of manifests (with their file paths)')
    .option('--remote', 'list the S3 store instead (needs the LICHEN_S3_* configuration)')
    .addHelpText(
      'after',
      "\nExamples:\n  $ lichen image ls\n  $ lichen image ls --json | jq -r '.[].path'\n  $ lichen image ls --remote",
    )
    .action(async (opts: { json?: boolean; remote?: boolean }) => {
      if (opts.remote) {
        await listRemoteImages(io, opts);
        return;
      }
      const store = new LocalImageStore(defaultImageDir(io.env));
      const images = store.list();
      if (opts.json) {
        io.stdout(`${JSON.stringify(images.map(imageJson), null, 2)}\n`);
        return;
      }
      if (images.length === 0) {
        io.stdout(`no images in ${store.dir} (build one: lichen image build busybox)\n`);
        return;
      }
      io.stdout(
        formatTable(
          ['NAME', 'TAG', 'DIGEST', 'SIZE', 'CREATED', 'PACKAGES'],
          images.map(({ manifest: m }) => [
            m.name,
            m.tag,
            m.digest.slice(0, 'sha256:'.length + 12),
            formatBytes(m.size),
            m.created.replace(/\.\d+Z$/, 'Z'),
            String(m.packages.length),
          ]),
        ),
      );
    });
  registerRemoteImageCommands(image, io);
  return image;
}
