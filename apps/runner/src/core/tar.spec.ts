import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTar, writeTar } from './tar';

describe('tar', () => {
  it('round-trips files, modes and long names', () => {
    const long = `${'d'.repeat(120)}/file.txt`;
    const files = [
      { path: 'a.txt', mode: 0o644, content: new TextEncoder().encode('hello') },
      { path: long, mode: 0o755, content: new Uint8Array(1000).fill(7) },
    ];
    const out = parseTar(writeTar(files));
    expect(out.map((e) => [e.path, e.mode, e.type, e.content.length])).toEqual([
      ['a.txt', 0o644, 'file', 5],
      [long, 0o755, 'file', 1000],
    ]);
  });

  it('reads what GNU tar writes and GNU tar reads what we write', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-'));
    mkdirSync(join(dir, 'src/sub'), { recursive: true });
    writeFileSync(join(dir, 'src/sub/x.bin'), Buffer.from([1, 2, 3]));
    execFileSync('tar', ['-cf', join(dir, 'gnu.tar'), '-C', join(dir, 'src'), 'sub']);
    const entries = parseTar(readFileSync(join(dir, 'gnu.tar')));
    expect([...(entries.find((e) => e.path === 'sub/x.bin')?.content ?? [])]).toEqual([1, 2, 3]);
    expect(entries.find((e) => e.path.replace(/\/$/, '') === 'sub')?.type).toBe('dir');
    writeFileSync(
      join(dir, 'ours.tar'),
      writeTar([{ path: 'p/q.txt', mode: 0o600, content: new TextEncoder().encode('q') }]),
    );
    expect(execFileSync('tar', ['-tvf', join(dir, 'ours.tar')]).toString()).toMatch(/-rw------- .* p\/q\.txt/);
  });

  it('rejects a truncated archive', () => {
    const t = writeTar([{ path: 'x', mode: 0o644, content: new Uint8Array(2000) }]);
    expect(() => parseTar(t.subarray(0, 1024))).toThrow(/truncated/);
  });
});
