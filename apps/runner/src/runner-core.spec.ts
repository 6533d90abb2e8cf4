import { describe, expect, it } from 'vitest';
import { loadConfig } from './core/config';
import type { RunSpec } from './core/types';
import { warmupJob } from './runner-core';
import { threadJob } from './worker/run-executor';

describe('warmupJob', () => {
  const defaults = loadConfig({}).tenantDefaults.defaultLimits;
  const job = warmupJob(defaults, 'busybox', '/images/busybox.ext4');

  it('is a default run as the API would hand it to a VM thread: same fields, same order, same guest memory', () => {
    const run: RunSpec = {
      image: 'busybox',
      argv: ['echo', 'x'],
      env: [],
      cwd: '/',
      stdin: null,
      files: [],
      limits: { ...defaults },
      deterministic: null,
      artifacts: false,
      webhookUrl: null,
      batch: null,
    };
    const real = threadJob(run, '/images/busybox.ext4');
    // Optimised code that has only seen warm-up VMs of another shape is dropped at the first job.
    expect(Object.keys(job)).toEqual(Object.keys(real));
    expect(Object.keys(job.limits)).toEqual(Object.keys(real.limits));
    expect(job.limits.memoryBytes).toBe(defaults.memoryBytes);
    expect(job.rootfs).toEqual({ kind: 'ext4', path: '/images/busybox.ext4' });
  });

  it('bounds a warm-up VM to 5 s and 20M instructions', () => {
    expect(job.limits.wallMs).toBe(Math.min(defaults.wallMs, 5_000));
    expect(job.limits.cpuSteps).toBe(Math.min(defaults.cpuSteps, 20_000_000));
    expect(job.limits.wallMs).toBeLessThanOrEqual(5_000);
    expect(job.limits.cpuSteps).toBeLessThanOrEqual(20_000_000);
  });
});
