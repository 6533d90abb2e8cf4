// Vitest global setup: builds the guest fixtures (test/guest/*.c) once before any test file runs.
// Cached by content hash, so this is a few hashes when nothing changed.
// LICHEN_SKIP_FIXTURES=1 skips it (fixture() still builds a program on demand when a test asks for it).
import { buildAllFixtures } from './fixtures';

export default async function setup(): Promise<void> {
  if (process.env.LICHEN_SKIP_FIXTURES === '1') return;
  const results = await buildAllFixtures();
  const built = results.filter((r) => r.built).length;
  if (built > 0) console.log(`[global-setup] guest fixtures: ${built} built, ${results.length - built} cached`);
}
