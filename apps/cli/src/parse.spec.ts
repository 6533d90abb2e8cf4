import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatBytes,
  parseCount,
  parseDuration,
  parseEnvEntry,
  parseMemory,
  parseMount,
  parseOutputFile,
  parseSeed,
  parseSize,
  parseUser,
} from './parse';

const scratch = mkdtempSync(join(tmpdir(), 'lichen-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('sizes', () => {
  it.each([
    ['1048576', 1048576],
    ['512K', 512 * 1024],
    ['256M', 256 * 1024 ** 2],
    ['256m', 256 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1GiB', 1024 ** 3],
    ['1.5GB', 1.5 * 1024 ** 3],
    [' 2T ', 2 * 1024 ** 4],
  ])('%s is %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['lots', '', '-1M', '1X', '1 G B', '0x10', '1e6'])('rejects %j', (text) =>
    expect(() => parseSize(text)).toThrow(/expected a size/),
  );

  it('bounds guest memory', () => {
    expect(parseMemory('1M')).toBe(1024 * 1024);
    expect(() => parseMemory('1000')).toThrow(/between 1M and 64G/);
    expect(() => parseMemory('65G')).toThrow(/between 1M and 64G/);
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7', 7000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['soon', '10 minutes', '-5s', '1d', 's'])('rejects %j', (text) =>
    expect(() => parseDuration(text)).toThrow(/expected a duration/),
  );

  it('rejects zero', () => expect(() => parseDuration('0s')).toThrow(/positive/));
});

describe('counts and seeds', () => {
  it.each([
    ['1000000', 1e6],
    ['1_000_000', 1e6],
    ['1e9', 1e9],
    ['500M', 5e8],
    ['2k', 2000],
    ['3G', 3e9],
  ])('%s is %d', (text, n) => expect(parseCount(text)).toBe(n));

  it.each(['0', '-1', 'many', '1.5', '1e99'])('rejects %j', (text) =>
    expect(() => parseCount(text)).toThrow(/whole number/),
  );

  it('parses seeds', () => {
    expect(parseSeed('0')).toBe(0);
    expect(parseSeed('42')).toBe(42);
    expect(() => parseSeed('-1')).toThrow(/non-negative integer/);
    expect(() => parseSeed('99999999999999999999')).toThrow(/at most/);
  });
});

describe('environment entries', () => {
  it('keeps NAME=VALUE as given, including = and empty values', () => {
    expect(parseEnvEntry('A=1')).toBe('A=1');
    expect(parseEnvEntry('A=b=c')).toBe('A=b=c');
    expect(parseEnvEntry('EMPTY=')).toBe('EMPTY=');
  });

  it('copies a bare NAME from the host environment', () => {
    expect(parseEnvEntry('FOO', { FOO: 'bar' })).toBe('FOO=bar');
    expect(() => parseEnvEntry('FOO', {})).toThrow(/FOO is not set/);
  });

  it('rejects bad names', () => {
    expect(() => parseEnvEntry('=x')).toThrow(/NAME=VALUE/);
    expect(() => parseEnvEntry('1A=x')).toThrow(/NAME=VALUE/);
    expect(() => parseEnvEntry('A B=x')).toThrow(/NAME=VALUE/);
  });
});

describe('mounts', () => {
  it('parses HOST:GUEST with read-only default and :rw', () => {
    expect(parseMount(`${scratch}:/data`)).toEqual({ hostPath: scratch, guestPath: '/data', readOnly: true });
    expect(parseMount(`${scratch}:/data/:rw`)).toEqual({ hostPath: scratch, guestPath: '/data', readOnly: false });
    expect(parseMount(`.:/src:ro`, scratch)).toEqual({ hostPath: scratch, guestPath: '/src', readOnly: true });
  });

  it('explains what is wrong', () => {
    expect(() => parseMount('/tmp')).toThrow(/HOST:GUEST/);
    expect(() => parseMount(`${scratch}:data`)).toThrow(/must be absolute/);
    expect(() => parseMount(`${scratch}:/`)).toThrow(/other than \//);
    expect(() => parseMount(`${scratch}:/a/../b`)).toThrow(/normalised/);
    expect(() => parseMount(`${scratch}/nope:/data`)).toThrow(/does not exist/);
    const file = join(scratch, 'file');
    writeFileSync(file, '');
    expect(() => parseMount(`${file}:/data`)).toThrow(/not a directory/);
  });
});

describe('users and files', () => {
  it('parses UID[:GID]', () => {
    expect(parseUser('1000')).toEqual({ uid: 1000, gid: 1000 });
    expect(parseUser('1000:100')).toEqual({ uid: 1000, gid: 100 });
    expect(() => parseUser('root')).toThrow(/numeric UID/);
    expect(() => parseUser('1:2:3')).toThrow(/numeric UID/);
    expect(() => parseUser('4294967295')).toThrow(/at most/);
  });

  it('accepts output files in existing directories only', () => {
    expect(parseOutputFile('stats.json', scratch)).toBe(join(scratch, 'stats.json'));
    expect(() => parseOutputFile(join(scratch, 'no/such/dir/stats.json'))).toThrow(/does not exist/);
    expect(() => parseOutputFile(scratch)).toThrow(/is a directory/);
  });

  it('formats byte counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(15 * 1024 * 1024)).toBe('15.0 MiB');
    expect(formatBytes(130023424)).toBe('124 MiB');
  });
});
