/**
 * Parsers for command-line values. Each throws InvalidArgumentError with a message saying
 * what is accepted; commander prefixes it with the flag and the rejected value.
 */
import { InvalidArgumentError } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Smallest and largest guest memory `--memory` accepts. */
export const MIN_MEMORY_BYTES = 1024 * 1024;
export const MAX_MEMORY_BYTES = 64 * 1024 ** 3;

/**
 * A byte size: a number of bytes, or a number with a binary unit K, M, G, T (optionally
 * followed by `i`, `B` or `iB`, any case): `1048576`, `256M`, `1G`, `1.5GiB`.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new InvalidArgumentError('expected a size such as 1048576 (bytes), 512K, 256M or 1G');
  const bytes = Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError('size is too large');
  return bytes;
}

export function parseMemory(text: string): number {
  const bytes = parseSize(text);
  if (bytes < MIN_MEMORY_BYTES || bytes > MAX_MEMORY_BYTES) {
    throw new InvalidArgumentError('guest memory must be between 1M and 64G (e.g. 256M, 1G, 1048576)');
  }
  return bytes;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration: `500ms`, `10s`, `2m`, `1h`, `1.5s`; a bare number means seconds. Returns milliseconds (> 0). */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError('expected a duration such as 500ms, 10s, 2m or 1h (a bare number is seconds)');
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']);
  if (ms <= 0) throw new InvalidArgumentError('the duration must be positive (at least 1ms)');
  if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError('duration is too long');
  return ms;
}

/**
 * A positive instruction count: `1000000`, `1_000_000`, `1e9`, or with a decimal suffix
 * k (10^3), M (10^6), G (10^9): `500M`.
 */
export function parseCount(text: string): number {
  const t = text.trim().replace(/_/g, '');
  const m = /^(\d+(?:\.\d+)?)(?:e(\d+))?([kKmMgG]?)$/.exec(t);
  if (!m) throw new InvalidArgumentError('expected a positive whole number such as 1000000, 1e9 or 500M');
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[3].toLowerCase()] ?? 1;
  const n = Number(m[1]) * 10 ** Number(m[2] ?? 0) * scale;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a whole number between 1 and ${Number.MAX_SAFE_INTEGER}`);
  }
  return n;
}

/** A non-negative integer seed below 2^53. */
export function parseSeed(text: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new InvalidArgumentError('expected a non-negative integer such as 42');
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`the seed must be at most ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

/** `K=V` (value may be empty or contain `=`), or `K` alone to pass the host's value of K. */
export function parseEnvEntry(text: string, hostEnv: NodeJS.ProcessEnv = process.env): string {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new InvalidArgumentError(
      'expected NAME=VALUE with NAME made of letters, digits and _ (not starting with a digit)',
    );
  }
  if (text.includes('\0')) throw new InvalidArgumentError('the value must not contain NUL bytes');
  if (eq >= 0) return text;
  const host = hostEnv[name];
  if (host === undefined) throw new InvalidArgumentError(`no '=' given and ${name} is not set in this environment`);
  return `${name}=${host}`;
}

export interface MountSpec {
  /** Absolute host directory. */
  hostPath: string;
  /** Absolute guest path. */
  guestPath: string;
  readOnly: boolean;
}

/** `HOST:GUEST[:ro|rw]`: an existing host directory mounted at an absolute guest path; read-only unless `:rw`. */
export function parseMount(text: string, cwd = process.cwd()): MountSpec {
  const parts = text.split(':');
  let mode: 'ro' | 'rw' = 'ro';
  if (parts.length >= 3 && (parts[parts.length - 1] === 'ro' || parts[parts.length - 1] === 'rw')) {
    mode = parts.pop() as 'ro' | 'rw';
  }
  if (parts.length < 2) throw new InvalidArgumentError('expected HOST:GUEST[:ro|rw], e.g. ./data:/data:ro');
  const guest = parts.pop() as string;
  const host = parts.join(':');
  if (!host) throw new InvalidArgumentError('the host directory is empty (expected HOST:GUEST[:ro|rw])');
  if (!guest.startsWith('/')) throw new InvalidArgumentError(`the guest path '${guest}' must be absolute, e.g. /data`);
  if (guest === '/' || guest.split('/').some((c) => c === '..' || c === '.')) {
    throw new InvalidArgumentError(`the guest path '${guest}' must be a normalised absolute path other than /`);
  }
  const hostPath = isAbsolute(host) ? host : resolve(cwd, host);
  if (!existsSync(hostPath)) throw new InvalidArgumentError(`the host directory ${hostPath} does not exist`);
  if (!statSync(hostPath).isDirectory()) throw new InvalidArgumentError(`${hostPath} is not a directory`);
  return { hostPath, guestPath: guest.replace(/\/+$/, '').replace(/\/{2,}/g, '/'), readOnly: mode === 'ro' };
}

export interface UserSpec {
  uid: number;
  gid: number;
}

/** `UID[:GID]` (numeric, 0..4294967294); the group defaults to the user id. */
export function parseUser(text: string): UserSpec {
  const m = /^(\d+)(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError('expected numeric UID or UID:GID, e.g. 1000 or 1000:1000');
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? uid : Number(m[2]);
  const max = 0xfffffffe;
  if (uid > max || gid > max) throw new InvalidArgumentError(`ids must be at most ${max}`);
  return { uid, gid };
}

/** A file path whose directory exists (the file itself is created or replaced). */
export function parseOutputFile(text: string, cwd = process.cwd()): string {
  if (!text) throw new InvalidArgumentError('expected a file path');
  const p = isAbsolute(text) ? text : resolve(cwd, text);
  const dir = dirname(p);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InvalidArgumentError(`directory ${dir} does not exist`);
  if (existsSync(p) && statSync(p).isDirectory()) throw new InvalidArgumentError(`${p} is a directory`);
  return p;
}

/** Commander collector for repeatable options. */
export function collect<T>(parse: (text: string) => T): (text: string, previous: T[] | undefined) => T[] {
  return (text, previous) => [...(previous ?? []), parse(text)];
}

/** `1.5 GiB`-style rendering of a byte count. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}
