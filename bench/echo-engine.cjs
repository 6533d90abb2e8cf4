/**
 * A stand-in VM engine for `BENCH_ENGINE=echo npm run bench:service`: it runs nothing and answers
 * `echo ARGS` with `ARGS\n` at once, so the benchmark measures the control plane alone (HTTP, auth,
 * Redis, BullMQ, runner, VM-thread messaging) — the ceiling of the service with a free VM.
 * Plain CommonJS so a VM thread of the built runner can `require` it without a TypeScript loader.
 */
/* global exports, TextEncoder */
'use strict';
const enc = new TextEncoder();

exports.runVm = async function runVm(config, io) {
  const args = config.argv.slice(1);
  const out = enc.encode(`${args.join(' ')}\n`);
  io.stdout(out);
  return {
    status: 'exited',
    exitCode: 0,
    signal: null,
    cliExitCode: 0,
    message: null,
    stats: {
      instructions: 0,
      wallMs: 0,
      maxMemoryBytes: 0,
      syscalls: {},
      unsupportedSyscalls: {},
      tasksCreated: 0,
      outputBytes: out.length,
    },
    crash: null,
    artifacts: null,
  };
};
