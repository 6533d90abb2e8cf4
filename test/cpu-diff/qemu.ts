/**
 * Builds the guest harness (cached by source hash, never committed) and runs batches of cases
 * under qemu-aarch64-static.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { decodeResults, encodeCases, type CaseResult, type TestCase } from './protocol';

const here = __dirname;
const buildDir = join(here, 'build');

/** The qemu CPU model: v8.2-class with LSE and FP16 conversions, no SVE (keeps the signal frame plain). */
export const QEMU_CPU = process.env.LICHEN_DIFF_QEMU_CPU ?? 'max,sve=off,sme=off,pauth=off';

export function buildHarness(): string {
  const src = readFileSync(join(here, 'harness.c'));
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const out = join(buildDir, `harness-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${out}.tmp${process.pid}`;
  const r = spawnSync(
    'aarch64-linux-gnu-gcc',
    ['-O2', '-static', '-fno-stack-protector', '-Wall', '-o', tmp, join(here, 'harness.c')],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`building the cpu-diff harness failed:\n${r.stderr}${r.error ?? ''}`);
  renameSync(tmp, out);
  return out;
}

/** Runs the cases in one qemu process and returns one result per case. */
export function runQemu(harness: string, cases: readonly TestCase[]): CaseResult[] {
  const input = encodeCases(cases);
  const r = spawnSync('qemu-aarch64-static', ['-cpu', QEMU_CPU, harness], {
    input,
    maxBuffer: 1 << 30,
    timeout: 600_000,
  });
  if (r.error) throw new Error(`qemu-aarch64-static: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`harness exited with status ${r.status} signal ${r.signal}: ${r.stderr.toString()}`);
  }
  return decodeResults(r.stdout, cases.length);
}

/** Same as runQemu without blocking the event loop (for test runners that need heartbeats). */
export function runQemuAsync(harness: string, cases: readonly TestCase[]): Promise<CaseResult[]> {
  const input = encodeCases(cases);
  return new Promise((resolve, reject) => {
    const p = spawn('qemu-aarch64-static', ['-cpu', QEMU_CPU, harness], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', (e) => reject(new Error(`qemu-aarch64-static: ${e.message}`)));
    p.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`harness exited with status ${code} signal ${signal}: ${Buffer.concat(err).toString()}`));
        return;
      }
      try {
        resolve(decodeResults(Buffer.concat(out), cases.length));
      } catch (e) {
        reject(e);
      }
    });
    p.stdin.end(input);
  });
}
