import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from './io';
import { createProgram, main } from './program';
import type { RunOptions } from './run-options';

// The VM side is the kernel's (commands/run-vm.ts); here we check what the CLI hands to it.
const handedOver: RunOptions[] = [];
vi.mock('./commands/run-vm', () => ({
  executeRun: async (options: RunOptions) => {
    handedOver.push(options);
    return 42;
  },
}));
beforeEach(() => {
  handedOver.length = 0;
});

const scratch = mkdtempSync(join(tmpdir(), 'lichen-cli-'));
const imageFile = join(scratch, 'root.ext4');
writeFileSync(imageFile, Buffer.alloc(4096));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    isTTY: false,
    env: { LICHEN_IMAGE_DIR: join(scratch, 'images'), HOME: scratch },
    cwd: scratch,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('lichen run argument validation', () => {
  it('rejects --memory lots with a message about --memory', async () => {
    const r = await cli('run', '--memory', 'lots', '--', '/bin/true');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/option '--memory <size>' argument 'lots' is invalid/);
    expect(r.err).toMatch(/256M/);
  });

  it.each([
    [['--timeout', 'forever'], /--timeout <duration>.*'forever'.*expected a duration/],
    [['--cpu-steps', '-5'], /--cpu-steps <n>.*'-5'.*whole number/],
    [['--env', '1X=2'], /--env <NAME=VALUE>.*'1X=2'.*NAME=VALUE/],
    [['--mount', 'nohost:/x'], /--mount .*'nohost:\/x'.*does not exist/],
    [['--user', 'root'], /--user .*'root'.*numeric UID/],
    [['--seed', 'x', '--deterministic'], /--seed <n>.*'x'.*non-negative integer/],
    [['--stats', '/no/such/dir/s.json'], /--stats <file>.*does not exist/],
    [['--seed', '1'], /--seed only applies with --deterministic/],
    [['--bogus'], /unknown option '--bogus'/],
  ])('rejects %j', async (flags, message) => {
    const r = await cli('run', ...flags, '--', '/bin/true');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });

  it('requires a program', async () => {
    const r = await cli('run', '--memory', '1G');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing required argument 'program'/);
  });

  it('hands the validated options to the VM and returns its exit status', async () => {
    const r = await cli(
      'run',
      '--image',
      imageFile,
      '--memory',
      '256M',
      '--timeout',
      '10s',
      '--cpu-steps',
      '1e9',
      '-e',
      'A=1',
      '--env',
      'B=x=y',
      '--mount',
      `${scratch}:/data:rw`,
      '--deterministic',
      '--seed',
      '7',
      '--stats',
      'stats.json',
      '--user',
      '1000:100',
      '--',
      '/bin/echo',
      '--not-an-option',
      'x',
    );
    expect(r).toMatchObject({ code: 42, err: '', out: '' });
    expect(handedOver).toHaveLength(1);
    const { image, ...rest } = handedOver[0];
    expect(image).toMatchObject({ requested: imageFile, origin: 'file', path: imageFile, size: 4096 });
    expect(rest).toEqual({
      argv: ['/bin/echo', '--not-an-option', 'x'],
      env: ['A=1', 'B=x=y'],
      cpuSteps: 1e9,
      memoryBytes: 256 * 1024 * 1024,
      timeoutMs: 10_000,
      mounts: [{ hostPath: scratch, guestPath: '/data', readOnly: false }],
      deterministic: { seed: 7 },
      statsFile: join(scratch, 'stats.json'),
      user: { uid: 1000, gid: 100 },
    });
  });

  it('uses defaults when no options are given', async () => {
    const r = await cli('run', '--image', imageFile, 'true');
    expect(r.code).toBe(42);
    const { image: _image, ...rest } = handedOver[0];
    expect(rest).toEqual({ argv: ['true'], env: [], mounts: [] });
  });

  it('treats options after PROGRAM as the program arguments even without --', async () => {
    const r = await cli('run', '--image', imageFile, 'ls', '-l', '--memory', 'lots');
    expect(r.code).toBe(42);
    expect(handedOver[0].argv).toEqual(['ls', '-l', '--memory', 'lots']);
  });

  it('says clearly when an image cannot be found', async () => {
    const missing = await cli('run', '--image', './missing.ext4', '--', '/bin/true');
    expect(missing).toMatchObject({ code: 125 });
    expect(missing.err).toMatch(/image file .*missing\.ext4 does not exist/);
    const unknown = await cli('run', '--image', 'nosuchimage:v1', '--', '/bin/true');
    expect(unknown.code).toBe(125);
    expect(unknown.err).toMatch(/image nosuchimage:v1 not found.*lichen image build/);
    const bad = await cli('run', '--image', 'Bad Name', '--', '/bin/true');
    expect(bad.err).toMatch(/--image: invalid image name/);
  });
});

describe('lichen help and image commands', () => {
  it.each([
    [['--help']],
    [['run', '--help']],
    [['image', '--help']],
    [['image', 'build', '--help']],
    [['image', 'ls', '--help']],
  ])('%j prints usage with an example', async (argv) => {
    const r = await cli(...argv);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: lichen/);
    expect(r.out).toMatch(/Examples:\n {2}\$ lichen /);
  });

  it('every command and subcommand has --help with an example', async () => {
    const paths: string[][] = [];
    const walk = (cmd: ReturnType<typeof createProgram>, prefix: string[]): void => {
      for (const sub of cmd.commands) {
        paths.push([...prefix, sub.name()]);
        walk(sub, [...prefix, sub.name()]);
      }
    };
    walk(createProgram(), []);
    expect(paths).toEqual(expect.arrayContaining([['run'], ['image'], ['image', 'build'], ['image', 'ls']]));
    for (const path of paths) {
      const r = await cli(...path, '--help');
      expect(r.code, path.join(' ')).toBe(0);
      expect(r.out, path.join(' ')).toMatch(/Examples:\n {2}\$ .*lichen /);
    }
  });

  it('rejects an unknown image recipe naming the choices', async () => {
    const r = await cli('image', 'build', 'fedora');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/'fedora' is invalid.*busybox, debian/);
  });

  it('lists an empty store as text and JSON', async () => {
    expect((await cli('image', 'ls')).out).toMatch(/no images in .*images/);
    const r = await cli('image', 'ls', '--json');
    expect(JSON.parse(r.out)).toEqual([]);
  });

  it('fails on an unknown command', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command 'frobnicate'/);
  });
});
