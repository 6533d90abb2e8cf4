// Extended attributes and inotify (test/guest/sys_xattr.c, sys_inotify.c) under Lichen and
// under qemu-aarch64-static (the reference, forwarding to the host kernel): stdout, stderr
// and exit status must be equal. The programs work in a fresh directory on tmpfs.
import { describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';
import { runLichen } from './lichen';

async function compare(name: string, args: string[] = []): Promise<void> {
  const bin = fixture(name, 'static');
  const q = await runQemu(bin, { args });
  expect(q.exitCode, `qemu run of ${name}: ${q.stderr}`).toBe(0);
  const l = await runLichen(bin, { args, deterministic: { seed: 1 } });
  expect(l.result.message ?? '', 'Lichen run message').not.toMatch(/internal|deadlock/);
  expect(l.stdout).toBe(q.stdout);
  expect(l.stderr).toBe(q.stderr);
  expect(l.exitCode).toBe(q.exitCode);
}

describe('filesystem extras: Lichen vs qemu', () => {
  it('sys_xattr: extended attributes', () => compare('sys_xattr'));
  it('sys_inotify: inotify events, queue and fd semantics', () => compare('sys_inotify'));
});
