// `lichen run` end to end: the real CLI process boots an ext4 image (made here with
// mke2fs -d from guest fixtures) through the overlay root, with stdio, exit status,
// --env, --mount, --stats, quotas and --deterministic.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';

const ROOT = resolve(__dirname, '..', '..');
let work: string;
let image: string;

function lichen(args: string[], input?: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'apps/cli/src/main.ts'), 'run', '--image', image, ...args],
    {
      cwd: ROOT,
      input: input ?? '',
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, TERM: 'xterm-test' },
    },
  );
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lichen-cli-run-'));
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  mkdirSync(join(tree, 'etc'), { recursive: true });
  copyFileSync(fixture('sys_limits', 'static'), join(tree, 'bin', 'limits'));
  copyFileSync(fixture('sys_process', 'static'), join(tree, 'bin', 'process'));
  copyFileSync(fixture('cat_env', 'static'), join(tree, 'bin', 'cat_env'));
  copyFileSync(fixture('poll_stdin', 'static'), join(tree, 'bin', 'poll_stdin'));
  writeFileSync(join(tree, 'etc', 'motd'), 'from the image\n');
  image = join(work, 'root.ext4');
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', tree, image, '16M'], { stdio: 'ignore' });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('lichen run', () => {
  it('runs a program from the image with stdin, stdout, env defaults and its exit status', () => {
    const r = lichen(['--env', 'A=1', '--', 'cat_env', '/etc/motd', '-'], 'piped input\n');
    expect(r.stdout).toBe(
      'from the image\npiped input\nA=1\nHOME=/root\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nTERM=xterm-test\n',
    );
    expect(r.status).toBe(5);
  });
  it('wakes a program that polls piped stdin when the input arrives (as qemu does)', async () => {
    const q = await runQemu(fixture('poll_stdin', 'static'), { stdin: 'late line\n' });
    const r = lichen(['--', 'poll_stdin'], 'late line\n');
    expect(r.stdout).toBe('poll=1 revents_in=1\nlate line\n');
    expect(r.stdout).toBe(q.stdout);
    expect(r.status).toBe(0);
  });

  it('exits 128+N when the program dies from signal N', () => {
    const r = lichen(['--', '/bin/cat_env', '--kill']);
    expect(r.status).toBe(128 + 11);
  });
  it('ends an endless loop at --cpu-steps with exit 152 and the message', () => {
    const r = lichen(['--cpu-steps', '1000000', '--', '/bin/limits', 'spin']);
    expect(r.status).toBe(152);
    expect(r.stderr).toContain('lichen: CPU-step limit of 1000000 reached');
  });
  it('OOM-kills a memory hog under --memory with exit 137', () => {
    const r = lichen(['--memory', '16m', '--', '/bin/limits', 'hog']);
    expect(r.status).toBe(137);
    expect(r.stderr).toContain('memory limit');
  });
  it('writes --stats JSON and is reproducible with --deterministic', () => {
    const s1 = join(work, 's1.json');
    const s2 = join(work, 's2.json');
    const a = lichen(['--deterministic', '--seed', '3', '--stats', s1, '--', '/bin/process']);
    const b = lichen(['--deterministic', '--seed', '3', '--stats', s2, '--', '/bin/process']);
    expect(a.stdout).toBe(b.stdout);
    expect(a.status).toBe(3);
    const j1 = JSON.parse(readFileSync(s1, 'utf8'));
    const j2 = JSON.parse(readFileSync(s2, 'utf8'));
    expect(j1.instructions).toBeGreaterThan(1000);
    expect(j1.instructions).toBe(j2.instructions);
    expect(j1.syscalls.clone).toBeGreaterThan(0);
    expect(j1.unsupportedSyscalls).toEqual(j2.unsupportedSyscalls);
    for (const key of ['wallMs', 'maxMemoryBytes', 'syscalls', 'unsupportedSyscalls']) expect(j1).toHaveProperty(key);
  });
  it('writes a syscall trace with --trace FILE, and to stderr with --trace -', () => {
    const file = join(work, 'trace.txt');
    const r = lichen(['--trace', file, '--', 'cat_env', '/etc/motd', '/nope']);
    expect(r.status).toBe(1);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toContain('1 openat(AT_FDCWD, "/etc/motd", 0x0, 00) = 3');
    expect(lines).toContain('1 write(1, "from the image\\n", 15) = 15');
    expect(lines).toContain('1 openat(AT_FDCWD, "/nope", 0x0, 00) = -1 ENOENT');
    expect(lines.slice(-3)).toEqual(['1 exit_group(1) = ?', '1 +++ exited with 1 +++', '']);
    const toStderr = lichen(['--trace', '-', '--', 'cat_env', '--kill']);
    expect(toStderr.status).toBe(139);
    expect(toStderr.stderr).toContain('1 --- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x0} ---\n');
    expect(toStderr.stderr).toContain('1 +++ killed by SIGSEGV +++\n');
  });
  it('mounts a host directory with --mount', () => {
    const host = join(work, 'hostdir');
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, 'note.txt'), 'mounted\n');
    const r = lichen(['--mount', `${host}:/data:ro`, '--', 'cat_env', '/data/note.txt']);
    expect(r.stdout.split('\n')[0]).toBe('mounted');
  });
  it('says clearly when the program does not exist', () => {
    const r = lichen(['--', '/bin/nope']);
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('/bin/nope');
  });
});

describe('artifacts', () => {
  it('exports files the program wrote as a tar of the overlay upper layer', async () => {
    const { runVm } = await import('@lichen/kernel');
    const { FileBlockDevice } = await import('@lichen/vfs');
    const device = await FileBlockDevice.open(image);
    const r = await runVm(
      {
        argv: ['/bin/cat_env', '/etc/motd'],
        rootfs: { kind: 'ext4', device },
        files: [{ path: '/out/result.txt', content: Buffer.from('artifact body\n') }],
        collectArtifacts: true,
      },
      { stdout: () => undefined, stderr: () => undefined },
    );
    await device.close();
    expect(r.cliExitCode).toBe(5);
    const tar = Buffer.from(r.artifacts ?? new Uint8Array(0)).toString('latin1');
    expect(tar).toContain('out/result.txt');
    expect(tar).toContain('artifact body');
    expect(tar).not.toContain('from the image');
  });
});
