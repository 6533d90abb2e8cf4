import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalImageStore } from './local-store';

const scratch = mkdtempSync(join(tmpdir(), 'lichen-local-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Adds a file with `content` under NAME:TAG (the store does not check that it is ext4). */
async function addBlob(store: LocalImageStore, content: string, tag: string): Promise<string> {
  const f = join(store.scratchDir(), `in-${content}`);
  writeFileSync(f, content);
  const { path } = await store.add(f, { name: 'demo', tag, source: 'test', packages: [] });
  return path;
}

describe('LocalImageStore lookups', () => {
  it('sees a tag re-pointed at another blob on the next lookup', async () => {
    const store = new LocalImageStore(join(scratch, 'retag'));
    const first = await addBlob(store, 'first image', 'v');
    expect(store.get('demo:v')?.path).toBe(first);
    expect(store.get('demo:v')?.path).toBe(first);
    const second = await addBlob(store, 'second image', 'v');
    expect(second).not.toBe(first);
    expect(store.get('demo:v')?.path).toBe(second);
    expect((await store.lookup({ name: 'demo', tag: 'v' }))?.path).toBe(second);
  });

  it('reports a removed tag as missing although it was looked up before', async () => {
    const store = new LocalImageStore(join(scratch, 'untag'));
    await addBlob(store, 'kept blob', 'gone');
    expect(store.get('demo:gone')).toBeDefined();
    rmSync(join(store.dir, 'tags', 'demo', 'gone.json'));
    expect(store.get('demo:gone')).toBeUndefined();
  });

  it('rejects a manifest rewritten in place with garbage', async () => {
    const store = new LocalImageStore(join(scratch, 'garbage'));
    await addBlob(store, 'valid blob', 'bad');
    expect(store.get('demo:bad')).toBeDefined();
    writeFileSync(join(store.dir, 'tags', 'demo', 'bad.json'), '{"name": 1, "padding": "makes the size differ"}');
    expect(() => store.get('demo:bad')).toThrow(/malformed/);
  });
});
