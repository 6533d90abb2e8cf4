import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, listFixtures, parseFixtureHeader } from './fixtures';
import { runQemu } from './qemu';

function elfInfo(path: string): { type: number; hasInterp: boolean } {
  const b = readFileSync(path);
  expect(b.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  expect(b.readUInt16LE(18)).toBe(183); // EM_AARCH64
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  let hasInterp = false;
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) hasInterp = true;
  return { type: b.readUInt16LE(16), hasInterp };
}

describe('fixture header', () => {
  it('defaults to static and dynamic at -O2', () => {
    const s = parseFixtureHeader('x', 'int main(void) { return 0; }\n');
    expect(s.links).toEqual(['static', 'dynamic']);
    expect(s.levels).toEqual(['O2']);
    expect(s.extraFlags).toEqual([]);
  });

  it('reads link kinds, levels and flags', () => {
    const s = parseFixtureHeader('x', '// fixture: static-pie O0 O3 -lm -pthread\nint main;\n');
    expect(s.links).toEqual(['static-pie']);
    expect(s.levels).toEqual(['O0', 'O3']);
    expect(s.extraFlags).toEqual(['-lm', '-pthread']);
  });

  it('rejects unknown tokens with the accepted list', () => {
    expect(() => parseFixtureHeader('x', '// fixture: statik\n')).toThrow(/unknown fixture token 'statik'.*static/);
  });
});

describe('guest fixtures', () => {
  it('builds every test/guest/*.c in every declared variant', () => {
    const specs = listFixtures();
    expect(specs.map((s) => s.name)).toEqual(
      expect.arrayContaining(['hello', 'arith', 'printf_float', 'malloc', 'syscall_loop']),
    );
    for (const s of specs) {
      for (const link of s.links) {
        for (const level of s.levels) {
          const p = fixture(s.name, `${link}-${level}`);
          expect(statSync(p).size).toBeGreaterThan(0);
        }
      }
    }
  });

  it('links static, dynamic and static-pie binaries as asked', () => {
    const st = elfInfo(fixture('hello', 'static'));
    expect(st).toEqual({ type: 2, hasInterp: false }); // ET_EXEC, no PT_INTERP
    const dyn = elfInfo(fixture('hello', 'dynamic'));
    expect(dyn.hasInterp).toBe(true);
    const pie = elfInfo(fixture('hello', 'static-pie'));
    expect(pie).toEqual({ type: 3, hasInterp: false }); // ET_DYN without an interpreter
  });

  it('returns the cached binary when nothing changed', () => {
    const p = fixture('hello', 'static-O0');
    const before = statSync(p).mtimeMs;
    expect(fixture('hello', 'static-O0')).toBe(p);
    expect(statSync(p).mtimeMs).toBe(before);
  });

  it('refuses variants a program does not declare', () => {
    expect(() => fixture('syscall_loop', 'static-O0')).toThrow(/does not declare variant static-O0/);
    expect(() => fixture('no_such_program')).toThrow(/no guest program/);
  });
});

describe('runQemu', () => {
  it('runs hello world static and dynamic', async () => {
    for (const variant of ['static', 'dynamic', 'static-pie'] as const) {
      const r = await runQemu(fixture('hello', variant));
      expect(r).toMatchObject({ stdout: 'hello, world\n', stderr: '', status: 0, signal: null, exitCode: 0 });
    }
  });

  it('fails to run a dynamic binary without the sysroot', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lichen-sysroot-'));
    try {
      const r = await runQemu(fixture('hello', 'dynamic'), { sysroot: empty });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toBe('');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('passes argv, env and stdin and captures stderr', async () => {
    const probe = fixture('probe', 'dynamic');
    expect((await runQemu(probe, { args: ['argv', 'a b', '', 'c'] })).stdout).toBe('[a b]\n[]\n[c]\n');
    const env = await runQemu(probe, { args: ['env', 'FOO', 'HOME'], env: { FOO: 'bar=baz' } });
    expect(env.stdout).toBe('FOO=bar=baz\nHOME=(unset)\n');
    const input = Buffer.alloc(200_000, 'x');
    const cat = await runQemu(probe, { args: ['cat'], stdin: input });
    expect(cat.stdoutBytes.equals(input)).toBe(true);
    const err = await runQemu(probe, { args: ['stderr', 'oops'] });
    expect(err).toMatchObject({ stdout: '', stderr: 'oops\n', exitCode: 0 });
  });

  it('reports exit statuses and signals the way a shell does', async () => {
    const probe = fixture('probe');
    expect(await runQemu(probe, { args: ['exit', '42'] })).toMatchObject({ status: 42, signal: null, exitCode: 42 });
    const segv = await runQemu(probe, { args: ['kill', '11'] });
    expect(segv).toMatchObject({ status: null, signal: 'SIGSEGV', exitCode: 139, stderr: '' });
    expect(segv.qemuMessages.join('\n')).toMatch(/uncaught target signal 11/);
    expect(await runQemu(probe, { args: ['kill', '15'] })).toMatchObject({ signal: 'SIGTERM', exitCode: 143 });
  });

  it('kills a guest at the timeout', async () => {
    const r = await runQemu(fixture('probe'), { args: ['spin'], timeoutMs: 500 });
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: 137 });
  });

  it('runs the starter programs to completion', async () => {
    const loop = await runQemu(fixture('syscall_loop', 'static'), { args: ['200'] });
    expect(loop).toMatchObject({ stdout: 'iterations 200 bytes 1290 failures 0\n', exitCode: 0 });
    const m = await runQemu(fixture('malloc', 'dynamic-O0'));
    expect(m.stdout).toMatch(/^small sum \d+\nbig sum 261120\ncalloc nonzero 0\ndone\n$/);
    const f = await runQemu(fixture('printf_float', 'static-O3'));
    expect(f.stdout).toContain('strtod(0x1.8p1) = 3\n');
    expect(f.stdout).toContain('inf=inf -inf=-inf nan=nan\n');
    const a0 = await runQemu(fixture('arith', 'static-O0'));
    const a3 = await runQemu(fixture('arith', 'static-O3'));
    expect(a0.stdout).toContain('sdiv-min -9223372036854775808 udiv-zero 0\n');
    expect(a3.stdout).toBe(a0.stdout);
  });

  it('reports failure for a file that is not an aarch64 ELF', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'lichen-'));
    const notElf = join(scratch, 'x');
    writeFileSync(notElf, 'not an elf');
    try {
      const r = await runQemu(notElf);
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout).toBe('');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    expect(existsSync(scratch)).toBe(false);
  });
});
