import type { RunSpec } from './types';

/** A small valid run spec for store and submitter tests. */
export const sampleSpec: RunSpec = {
  image: 'busybox',
  argv: ['echo', 'hi'],
  env: [],
  cwd: '/',
  stdin: null,
  files: [],
  limits: {
    cpuSteps: 1e6,
    memoryBytes: 64 << 20,
    wallMs: 1000,
    outputBytes: 1 << 20,
    processes: 8,
    openFiles: 64,
    fileSizeBytes: 1 << 20,
  },
  deterministic: null,
  artifacts: false,
  webhookUrl: null,
  batch: null,
};
