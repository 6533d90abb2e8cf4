import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage } from './build';
import { LocalImageStore } from './local-store';
import { withFileLock } from './lock';
import { imageGeometry, uuidFromSeed } from './mkfs';
import { inRoot } from './stage';

const scratch = mkdtempSync(join(tmpdir(), 'lichen-images-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function debugfs(image: string, request: string): string {
  return execFileSync('debugfs', ['-R', request, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('image builder helpers', () => {
  it('derives a stable RFC 4122 UUID from a seed', () => {
    const a = uuidFromSeed('x');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidFromSeed('x')).toBe(a);
    expect(uuidFromSeed('y')).not.toBe(a);
  });

  it('sizes an image from its tree', () => {
    const g = imageGeometry([]);
    expect(g.bytes % (1 << 20)).toBe(0);
    expect(g.inodes).toBeGreaterThan(64);
  });

  it('refuses guest paths that leave the staging root', () => {
    expect(inRoot('/stage', '/etc/passwd')).toBe('/stage/etc/passwd');
    expect(() => inRoot('/stage', '../etc/passwd')).toThrow(/must not contain/);
  });

  it("serialises holders of a lock file and takes over a dead holder's lock", async () => {
    const lock = join(scratch, 'test.lock');
    const events: string[] = [];
    const hold = (name: string) =>
      withFileLock(lock, async () => {
        events.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 300));
        events.push(`${name} out`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, '999999999\n'); // a pid that cannot exist
    expect(await withFileLock(lock, async () => 'taken over', 5000)).toBe('taken over');
  });

  it('reports a missing image as undefined and lists an empty store', () => {
    const store = new LocalImageStore(join(scratch, 'empty'));
    expect(store.get('busybox')).toBeUndefined();
    expect(store.list()).toEqual([]);
  });
});

// These download Debian arm64 packages with apt on first use (cached afterwards).
describe('built-in images', () => {
  const store = new LocalImageStore(join(scratch, 'store'));

  it('builds busybox with applet links and a minimal /etc, reproducibly', { timeout: 300_000 }, async () => {
    const first = await buildImage('busybox', { store });
    expect(first.manifest).toMatchObject({ name: 'busybox', tag: 'latest', format: 'ext4', architecture: 'arm64' });
    expect(first.manifest.packages).toEqual([expect.stringMatching(/^busybox-static=1:1\.35/)]);
    expect(first.manifest.digest).toBe(`sha256:${first.manifest.sha256}`);

    const bin = debugfs(first.path, 'ls -l /bin');
    expect(bin).toMatch(/100755 .* busybox\n/);
    for (const applet of ['sh', 'ls', 'cat', 'echo', 'true']) expect(bin).toMatch(new RegExp(`120777 .* ${applet}\\n`));
    expect(debugfs(first.path, 'ls -l /usr/bin')).toMatch(/120777 .* awk\n/);
    expect(debugfs(first.path, 'cat /etc/passwd')).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh$/m);
    for (const f of ['group', 'hosts', 'profile'])
      expect(debugfs(first.path, `cat /etc/${f}`).length).toBeGreaterThan(0);
    expect(debugfs(first.path, 'stat /bin/sh')).toMatch(/Fast link dest: "\/bin\/busybox"/);

    // A second build (another store, same package cache) gives the same bytes.
    const again = await buildImage('busybox', { store: new LocalImageStore(join(scratch, 'store2')), tag: 'again' });
    expect(again.manifest.sha256).toBe(first.manifest.sha256);
    execFileSync('e2fsck', ['-f', '-n', first.path], { stdio: 'ignore' });
  });

  it('builds debian with bash, python3 and the dynamic loader that run under qemu', { timeout: 600_000 }, async () => {
    const img = await buildImage('debian', { store });
    const names = img.manifest.packages.map((p) => p.split('=')[0]);
    for (const p of ['libc6', 'bash', 'coreutils', 'grep', 'sed', 'mawk', 'findutils', 'diffutils', 'tar', 'gzip']) {
      expect(names).toContain(p);
    }
    for (const p of ['xz-utils', 'bzip2', 'procps', 'python3-minimal', 'python3.11-minimal'])
      expect(names).toContain(p);
    expect(names).not.toContain('perl');
    expect(debugfs(img.path, 'stat /usr/bin/bash')).toMatch(/Type: regular/);
    expect(debugfs(img.path, 'stat /lib/ld-linux-aarch64.so.1')).toMatch(/Type: symlink/);
    expect(debugfs(img.path, 'stat /bin')).toMatch(/Fast link dest: "usr\/bin"/);
    expect(debugfs(img.path, 'cat /etc/passwd')).toMatch(/^root:\*:0:0:root:\/root:\/bin\/bash$/m);

    // Unpack the image and run its programs under qemu with the image as the root.
    const root = join(scratch, 'debian-root');
    execFileSync('mkdir', ['-p', root]);
    execFileSync('debugfs', ['-R', `rdump / ${root}`, img.path], { stdio: 'ignore' });
    expect(existsSync(join(root, 'usr/lib/aarch64-linux-gnu/libc.so.6'))).toBe(true);
    const qemu = (...args: string[]) =>
      execFileSync('qemu-aarch64-static', ['-L', root, ...args], { encoding: 'utf8', env: {} });
    expect(qemu(join(root, 'usr/bin/bash'), '-c', 'echo "bash $((6*7))"')).toBe('bash 42\n');
    expect(qemu(join(root, 'usr/bin/python3.11'), '-S', '-c', 'print(sum(range(10)))')).toBe('45\n');
    expect(qemu(join(root, 'usr/bin/mawk'), 'BEGIN { print 1+2 }')).toBe('3\n');

    const listed = store.list().map((i) => `${i.manifest.name}:${i.manifest.tag}`);
    expect(listed).toEqual(['busybox:latest', 'debian:latest']);
  });
});
