/** A bounded sample of the corrupt-image fuzzer (npm run fuzz:ext4 runs more). */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildImage, FUZZ_SETS } from './support/images';
import { metadataBlocks, mutate, runCase } from './support/fuzz';

const CASES = 40;

describe('ext4 reader on corrupt images', () => {
  for (const spec of FUZZ_SETS) {
    const name = spec.name;
    it(`${name}: ${CASES} seeded corruptions give data or VfsErrors, in bounded time`, async () => {
      const image = new Uint8Array(fs.readFileSync(buildImage(spec).image));
      const meta = await metadataBlocks(image);
      expect(meta.blocks.length).toBeGreaterThan(10);
      const failures: string[] = [];
      const errnos = new Map<string, number>();
      for (let seed = 1; seed <= CASES; seed++) {
        const res = await runCase(mutate(image, meta, seed), 20_000, errnos);
        if (res) failures.push(res);
      }
      expect(failures).toEqual([]);
      // the corruptions were real: the reader reported some of them
      expect([...errnos.keys()].length).toBeGreaterThan(0);
    }, 120_000);
  }
});
