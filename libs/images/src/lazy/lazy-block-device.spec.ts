import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LazyBlockDevice, type RangeReader } from './lazy-block-device';

/** A reader over a buffer that records every range asked for. */
function memReader(data: Uint8Array, delayMs = 5): RangeReader & { calls: [number, number][] } {
  const r = {
    calls: [] as [number, number][],
    async readRange(offset: number, length: number, verify?: (d: Uint8Array) => void) {
      r.calls.push([offset, length]);
      await new Promise((res) => setTimeout(res, delayMs));
      const out = data.slice(offset, offset + length);
      verify?.(out);
      return out;
    },
  };
  return r;
}

describe('LazyBlockDevice', () => {
  const data = new Uint8Array(randomBytes(10_000 + 3 * 4096));

  it('serves reads that straddle chunks, including the short last chunk', async () => {
    const reader = memReader(data);
    const dev = new LazyBlockDevice({ size: data.length, chunkSize: 4096, reader });
    expect(await dev.read(4000, 5000)).toEqual(data.subarray(4000, 9000));
    expect(await dev.read(data.length - 10, 10)).toEqual(data.subarray(data.length - 10));
    expect(reader.calls).toEqual([
      [0, 4096],
      [4096, 4096],
      [8192, 4096],
      [20480, data.length - 20480],
    ]);
    expect(dev.stats.bytesFetched).toBe(3 * 4096 + (data.length - 20480));
    expect(await dev.read(5000, 0)).toEqual(new Uint8Array(0));
  });

  it('concurrent reads of one chunk share one fetch; later reads hit the cache', async () => {
    const reader = memReader(data, 20);
    const dev = new LazyBlockDevice({ size: data.length, chunkSize: 4096, reader });
    const all = await Promise.all([dev.read(0, 100), dev.read(100, 100), dev.read(4000, 50)]);
    expect(all[1]).toEqual(data.subarray(100, 200));
    expect(reader.calls).toEqual([[0, 4096]]);
    expect(dev.stats.inflightJoins).toBe(2);
    await dev.read(10, 10);
    expect(reader.calls).toHaveLength(1);
    expect(dev.stats.chunkHits).toBe(1);
  });

  it('keeps at most maxCachedBytes of chunks (LRU)', async () => {
    const reader = memReader(data, 0);
    const dev = new LazyBlockDevice({ size: data.length, chunkSize: 4096, maxCachedBytes: 2 * 4096, reader });
    await dev.read(0, 1); // chunk 0
    await dev.read(4096, 1); // chunk 1
    await dev.read(0, 1); // chunk 0 is now most recent
    await dev.read(8192, 1); // chunk 2 evicts chunk 1
    await dev.read(0, 1); // hit
    await dev.read(4096, 1); // refetch
    expect(reader.calls.map((c) => c[0])).toEqual([0, 4096, 8192, 4096]);
  });

  it('rejects reads past the end and bad arguments; a closed device refuses reads', async () => {
    const dev = new LazyBlockDevice({ size: 100, chunkSize: 512, reader: memReader(data) });
    await expect(dev.read(90, 20)).rejects.toThrow(/past the end of the device \(100 bytes\)/);
    await expect(dev.read(-1, 2)).rejects.toThrow(/invalid read/);
    await dev.close();
    await expect(dev.read(0, 1)).rejects.toThrow(/closed/);
    expect(() => new LazyBlockDevice({ size: 100, chunkSize: 1000, reader: memReader(data) })).toThrow(/power of two/);
  });

  it('verifies chunks against their sha256 and reports a mismatch', async () => {
    const digests = [0, 1, 2, 3, 4, 5].map((i) =>
      createHash('sha256')
        .update(data.subarray(i * 4096, Math.min(data.length, (i + 1) * 4096)))
        .digest('hex'),
    );
    const good = new LazyBlockDevice({
      size: data.length,
      chunkSize: 4096,
      reader: memReader(data),
      chunkDigests: digests,
    });
    expect(await good.read(5000, 10)).toEqual(data.subarray(5000, 5010));
    expect(good.stats.verifiedChunks).toBe(1);
    const tampered = new Uint8Array(data);
    tampered[4100] ^= 1;
    const bad = new LazyBlockDevice({
      size: data.length,
      chunkSize: 4096,
      reader: memReader(tampered),
      chunkDigests: digests,
    });
    await expect(bad.read(5000, 10)).rejects.toThrow(/chunk 1 \(bytes 4096-8191\) failed sha256 verification/);
    expect(
      () => new LazyBlockDevice({ size: data.length, chunkSize: 4096, reader: memReader(data), chunkDigests: ['x'] }),
    ).toThrow(/chunk index has 1 entries, device needs 6/);
  });
});
