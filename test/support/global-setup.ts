// Vitest global setup: builds the guest fixtures (test/guest/*.c) once before any test file runs.
// Cached by content hash, so this is a few hashes when nothing changed.
// A program that does not compile is reported here and fails only the tests that use it
// (fixture() rethrows the compiler's error); every other fixture is still built.
// LICHEN_SKIP_FIXTURES=1 skips it (fixture() still builds a program on demand when a test asks for it).
import { buildAllFixtures } from './fixtures';

export default async function setup(): Promise<void> {
  if (process.env.LICHEN_SKIP_FIXTURES === '1') return;
  const started = Date.now();
  let built = 0;
  let total = 0;
  try {
    const results = await buildAllFixtures({
      onBuilt: (b) => {
        total++;
        if (b.built) built++;
      },
    });
    total = results.length;
  } catch (err) {
    console.error(
      `[global-setup] some guest fixtures do not compile; tests using them will fail:\n${(err as Error).message}`,
    );
  }
  console.log(
    `[global-setup] guest fixtures: ${total} ready (${built} built, ${total - built} cached) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
