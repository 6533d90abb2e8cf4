/**
 * Runs a guest binary in a Lichen VM the way the qemu helper runs it under qemu: the binary's
 * directory is mounted read-only at /t, the cross sysroot's /lib at /lib (dynamic programs),
 * on an empty tmpfs root with /proc, /dev, /sys and /tmp.
 */
import { basename, dirname } from 'node:path';
import { expect } from 'vitest';
import { runVm, type RunResult, type VmConfig } from '@lichen/kernel';
import { CROSS_SYSROOT, fixture, runQemu, type Variant } from '../support';

export interface LichenRun {
  result: RunResult;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  exitCode: number;
}

export interface LichenOptions {
  args?: string[];
  env?: Record<string, string>;
  stdin?: string | Uint8Array;
  limits?: VmConfig['limits'];
  deterministic?: { seed: number };
  signal?: AbortSignal;
}

export async function runLichen(binary: string, opts: LichenOptions = {}): Promise<LichenRun> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const guestPath = `/t/${basename(binary)}`;
  const result = await runVm(
    {
      argv: [guestPath, ...(opts.args ?? [])],
      env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      rootfs: { kind: 'tmpfs' },
      mounts: [
        { hostPath: dirname(binary), guestPath: '/t', readOnly: true },
        { hostPath: `${CROSS_SYSROOT}/lib`, guestPath: '/lib', readOnly: true },
      ],
      limits: { wallMs: 60_000, ...(opts.limits ?? {}) },
      deterministic: opts.deterministic,
    },
    {
      stdin: opts.stdin ?? new Uint8Array(0),
      signal: opts.signal,
      stdout: (b) => out.push(Buffer.from(b)),
      stderr: (b) => err.push(Buffer.from(b)),
    },
  );
  const stdoutBytes = Buffer.concat(out);
  return {
    result,
    stdout: stdoutBytes.toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    stdoutBytes,
    exitCode: result.cliExitCode,
  };
}

/**
 * Runs fixture `name` under qemu-aarch64-static and under Lichen and expects the same stdout,
 * stderr and exit status. Lichen runs the static variant in deterministic mode (seed 1: the
 * programs' short sleeps that order parent and child then hold whatever the host load) and the
 * others in normal mode. `limits` (e.g. a wall-clock limit below the test's timeout, so that a
 * guest stuck waiting fails with its output compared) go to the Lichen run.
 */
export async function compareWithQemu(
  name: string,
  variant: Variant,
  args: string[] = [],
  limits?: VmConfig['limits'],
): Promise<void> {
  const bin = fixture(name, variant);
  const q = await runQemu(bin, { args });
  const l = await runLichen(bin, { args, limits, deterministic: variant === 'static' ? { seed: 1 } : undefined });
  expect(l.result.message ?? '', 'Lichen run message').not.toMatch(/internal|deadlock/);
  expect(l.stdout).toBe(q.stdout);
  expect(l.stderr).toBe(q.stderr);
  expect(l.exitCode).toBe(q.exitCode);
}
