/**
 * `npm run fixtures [-- NAME...] [--jobs N]`: builds every variant of every test/guest/*.c
 * (or only the named programs) that is missing or stale, and lists the results.
 */
import { relative } from 'node:path';
import { buildAllFixtures, REPO_ROOT } from './fixtures';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const only: string[] = [];
  let jobs = 2;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--jobs' || a === '-j') {
      jobs = Number(argv[++i]);
      if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs needs a positive integer, got '${argv[i]}'`);
    } else if (a === '--help' || a === '-h') {
      console.log('usage: npm run fixtures [-- [--jobs N] [NAME...]]  (NAME = a test/guest/NAME.c program)');
      return;
    } else only.push(a.replace(/\.c$/, ''));
  }
  const started = Date.now();
  let built = 0;
  const results = await buildAllFixtures({
    jobs,
    only,
    onBuilt: (b) => {
      if (b.built) built++;
      console.log(`${b.built ? 'built ' : 'cached'} ${relative(REPO_ROOT, b.path)}`);
    },
  });
  console.log(
    `${results.length} fixture binaries (${built} built, ${results.length - built} cached) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
