import { parseImageRef } from '@lichen/images';
import type { LichenConfig, Limits, TenantPolicy } from '../../../runner/src/core/config';
import { LIMIT_NAMES } from '../../../runner/src/core/config';
import { SCRATCH_IMAGE } from '../../../runner/src/core/images';
import type { RunFile } from '../../../runner/src/core/types';
import { badRequest } from '../common/api-error';

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function decodeBase64(field: string, s: string): Buffer {
  const clean = s.replace(/\s+/g, '');
  if (!B64.test(clean)) throw badRequest('invalid_base64', `${field} is not valid base64`);
  return Buffer.from(clean, 'base64');
}

/** Normalises a guest path; rejects NUL, empty and anything that climbs above `/`. */
export function guestPath(field: string, p: string, base = '/'): string {
  if (p.length === 0) throw badRequest('invalid_path', `${field} is empty`);
  if (p.includes('\0')) throw badRequest('invalid_path', `${field} contains a NUL byte`);
  const parts: string[] = [];
  const start = p.startsWith('/') ? [] : base.split('/').filter(Boolean);
  parts.push(...start);
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0)
        throw badRequest('path_escapes_root', `${field} ${JSON.stringify(p)} escapes the root directory`);
      parts.pop();
      continue;
    }
    if (seg.length > 255) throw badRequest('invalid_path', `${field} has a component longer than 255 bytes`);
    parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

export function checkImage(image: string): string {
  if (image === SCRATCH_IMAGE) return image;
  try {
    parseImageRef(image);
  } catch (e) {
    throw badRequest('invalid_image', (e as Error).message);
  }
  return image;
}

export function checkArgv(cfg: LichenConfig, field: string, argv: unknown): string[] {
  if (!Array.isArray(argv) || argv.length === 0)
    throw badRequest('invalid_argv', `${field} must be a non-empty array of strings`);
  if (argv.length > cfg.request.maxArgv)
    throw badRequest('too_many_args', `${field} has ${argv.length} entries; the maximum is ${cfg.request.maxArgv}`);
  for (const a of argv) {
    if (typeof a !== 'string') throw badRequest('invalid_argv', `${field} entries must be strings`);
    if (a.includes('\0')) throw badRequest('invalid_argv', `${field} entries must not contain NUL bytes`);
  }
  if ((argv[0] as string).length === 0) throw badRequest('invalid_argv', `${field}[0] (the program) is empty`);
  return argv as string[];
}

export function checkEnv(cfg: LichenConfig, env: Record<string, unknown> | undefined): string[] {
  if (env === undefined) return [];
  const entries = Object.entries(env);
  if (entries.length > cfg.request.maxEnv)
    throw badRequest('too_many_env', `env has ${entries.length} variables; the maximum is ${cfg.request.maxEnv}`);
  return entries.map(([k, v]) => {
    if (!ENV_NAME.test(k))
      throw badRequest('invalid_env', `env name ${JSON.stringify(k)} is not a valid variable name`);
    if (typeof v !== 'string') throw badRequest('invalid_env', `env ${k} must be a string`);
    if (v.includes('\0')) throw badRequest('invalid_env', `env ${k} contains a NUL byte`);
    return `${k}=${v}`;
  });
}

export function checkArgBytes(cfg: LichenConfig, argv: string[], env: string[]): void {
  const n = [...argv, ...env].reduce((s, a) => s + Buffer.byteLength(a) + 1, 0);
  if (n > cfg.request.maxArgBytes)
    throw badRequest('args_too_large', `argv and env take ${n} bytes; the maximum is ${cfg.request.maxArgBytes}`);
}

export function checkFiles(
  cfg: LichenConfig,
  field: string,
  files: { path: string; content: string; mode?: number }[] | undefined,
  budget = { bytes: 0 },
): RunFile[] {
  if (!files) return [];
  if (files.length > cfg.request.maxFiles)
    throw badRequest('too_many_files', `${field} has ${files.length} entries; the maximum is ${cfg.request.maxFiles}`);
  const seen = new Set<string>();
  return files.map((f, i) => {
    const path = guestPath(`${field}[${i}].path`, f.path);
    if (path === '/') throw badRequest('invalid_path', `${field}[${i}].path names the root directory`);
    if (seen.has(path)) throw badRequest('duplicate_path', `${field} has ${path} twice`);
    seen.add(path);
    const bytes = decodeBase64(`${field}[${i}].content`, f.content);
    budget.bytes += bytes.length;
    if (budget.bytes > cfg.request.maxFilesBytes) {
      throw badRequest('files_too_large', `files take more than ${cfg.request.maxFilesBytes} bytes decoded`);
    }
    return { path, content: bytes.toString('base64'), mode: f.mode ?? 0o644 };
  });
}

export function checkStdin(
  cfg: LichenConfig,
  text: string | undefined,
  b64: string | undefined,
  field = 'stdin',
): string | null {
  if (text !== undefined && b64 !== undefined)
    throw badRequest('invalid_stdin', `give ${field} or ${field}Base64, not both`);
  let bytes: Buffer | null = null;
  if (text !== undefined) bytes = Buffer.from(text, 'utf8');
  if (b64 !== undefined) bytes = decodeBase64(`${field}Base64`, b64);
  if (bytes && bytes.length > cfg.request.maxStdinBytes) {
    throw badRequest(
      'stdin_too_large',
      `${field} is ${bytes.length} bytes; the maximum is ${cfg.request.maxStdinBytes}`,
    );
  }
  return bytes ? bytes.toString('base64') : null;
}

/** Tenant defaults filled in; anything above the tenant's maximum is refused (nothing queued). */
export function resolveLimits(policy: TenantPolicy, asked: Partial<Limits> | undefined): Limits {
  const out = { ...policy.defaultLimits };
  const over: { limit: string; asked: number; max: number }[] = [];
  for (const k of LIMIT_NAMES) {
    const v = asked?.[k];
    if (v === undefined || v === null) continue;
    if (v > policy.maxLimits[k]) over.push({ limit: k, asked: v, max: policy.maxLimits[k] });
    else out[k] = v;
  }
  if (over.length > 0) {
    throw badRequest(
      'limit_exceeds_maximum',
      `limits above your maximum: ${over.map((o) => `${o.limit} ${o.asked} > ${o.max}`).join(', ')}`,
      over,
    );
  }
  return out;
}

export function checkWebhook(url: string | undefined): string | null {
  if (url === undefined) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badRequest('invalid_webhook', 'webhookUrl is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw badRequest('invalid_webhook', 'webhookUrl must be http or https');
  return u.toString();
}
