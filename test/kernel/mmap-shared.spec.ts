// Shared memory mappings (test/guest/sys_mmap_shared.c) under Lichen compared with
// qemu-aarch64-static, plus the write-back of a MAP_SHARED file at the end of a run to a
// read-write host mount (the guest exits without msync or munmap).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runVm } from '@lichen/kernel';
import { fixture, runQemu } from '../support';
import { runLichen } from './lichen';

describe('shared mappings (sys_mmap_shared): Lichen vs qemu', () => {
  it('anonymous, /dev/zero, file and memfd shared mappings behave alike', async () => {
    const bin = fixture('sys_mmap_shared', 'static');
    const q = await runQemu(bin);
    const l = await runLichen(bin, { deterministic: { seed: 1 } });
    expect(l.result.message ?? '', 'Lichen run message').not.toMatch(/internal|deadlock/);
    expect(q.stdout).toContain('done\n');
    expect(l.stdout).toBe(q.stdout);
    expect(l.stderr).toBe(q.stderr);
    expect(l.exitCode).toBe(q.exitCode);
  });

  it('allocates a large shared mapping lazily and once for every process that maps it', async () => {
    // 64 MiB of MAP_SHARED|MAP_ANONYMOUS shared with two children, a few pages touched: the
    // pages are allocated when touched, once for all processes (not at mmap, fork or by copy).
    const l = await runLichen(fixture('sys_mmap_shared', 'static'), { deterministic: { seed: 1 } });
    expect(l.stdout).toContain('parent sees: child-write | untouched-before-fork | last-page\n');
    expect(l.exitCode).toBe(0);
    expect(l.result.stats.maxMemoryBytes).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('MAP_SHARED write-back when the run ends', () => {
  it('reaches a read-write host mount without msync, munmap or close', async () => {
    const bin = fixture('sys_mmap_shared', 'static');
    const host = mkdtempSync(join(tmpdir(), 'lichen-mmap-'));
    try {
      const result = await runVm(
        {
          argv: [`/t/${basename(bin)}`, 'persist', '/w/out.bin'],
          rootfs: { kind: 'tmpfs' },
          mounts: [
            { hostPath: dirname(bin), guestPath: '/t', readOnly: true },
            { hostPath: host, guestPath: '/w', readOnly: false },
          ],
          limits: { wallMs: 60_000 },
        },
        { stdin: new Uint8Array(0), stdout: () => {}, stderr: () => {} },
      );
      expect(result.cliExitCode).toBe(0);
      const data = readFileSync(join(host, 'out.bin'));
      // ftruncate'd to one page + 10 bytes: the mapping's bytes past EOF are not written
      expect(data.length).toBe(4096 + 10);
      expect(data.subarray(0, 29).toString()).toBe('persisted through the mapping');
      expect(data.subarray(4096).toString()).toBe('0123456789');
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});
