/**
 * TEST DOUBLE of the kernel's `runVm` for service plumbing tests (queue, streams, SSE,
 * cancellation, crash isolation, batch verdict flow). It does NOT emulate anything: argv[0]
 * picks a scripted behaviour. Real guest programs are exercised by e2e-kernel.spec.ts.
 */
interface Io {
  stdin?: Uint8Array | string;
  stdout(c: Uint8Array): void;
  stderr(c: Uint8Array): void;
  signal?: AbortSignal;
}
interface Config {
  argv: string[];
  env?: string[];
  files?: { path: string; content: Uint8Array; mode?: number }[];
  limits?: { cpuSteps?: number; wallMs?: number; outputBytes?: number };
  collectArtifacts?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { writeTar } = require('../../../apps/runner/src/core/tar') as typeof import('../../../apps/runner/src/core/tar');

const enc = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function result(status: string, exitCode: number | null, signal: number | null, extra: Record<string, unknown> = {}) {
  return {
    status,
    exitCode,
    signal,
    cliExitCode: exitCode ?? 128 + (signal ?? 0),
    message: null,
    stats: {
      instructions: 1000,
      wallMs: 1,
      maxMemoryBytes: 1 << 20,
      syscalls: { write: 1, exit_group: 1 },
      unsupportedSyscalls: {},
      tasksCreated: 0,
      outputBytes: 0,
    },
    crash: null,
    artifacts: null,
    ...extra,
  };
}

function stdinText(io: Io): string {
  if (io.stdin === undefined) return '';
  return typeof io.stdin === 'string' ? io.stdin : new TextDecoder().decode(io.stdin);
}

function file(config: Config, path: string): Uint8Array | undefined {
  return config.files?.find((f) => f.path === path)?.content;
}

/** Calls of runVm in this thread so far, and memory kept on purpose (`count`, `retain`). */
let calls = 0;
const retained: number[][] = [];

export async function runVm(config: Config, io: Io) {
  const [cmd, ...args] = config.argv;
  const out = (s: string): void => io.stdout(enc.encode(s));
  calls++;
  switch (cmd) {
    case 'count':
      out(`${calls}\n`);
      return result('exited', 0, null);
    case 'retain': {
      // Keeps about MB megabytes of JS heap alive after the run (a leaking engine).
      for (let i = 0; i < Number(args[0] ?? 1) * 16; i++) retained.push(new Array(8192).fill(i + 0.5));
      return result('exited', 0, null);
    }
    case 'echo':
      out(`${args.join(' ')}\n`);
      return result('exited', 0, null);
    case 'cat':
      out(stdinText(io));
      return result('exited', 0, null);
    case 'sum': {
      const n = stdinText(io)
        .split(/\s+/)
        .filter(Boolean)
        .reduce((a, b) => a + Number(b), 0);
      out(`${n}\n`);
      return result('exited', 0, null);
    }
    case 'cat-file': {
      const f = config.files?.find((x) => x.path === args[0]);
      if (!f) {
        io.stderr(enc.encode(`cat-file: ${args[0]}: No such file\n`));
        return result('exited', 1, null);
      }
      io.stdout(f.content);
      return result('exited', 0, null);
    }
    case 'thread-id':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      out(`${(require('node:worker_threads') as typeof import('node:worker_threads')).threadId}\n`);
      return result('exited', 0, null);
    case 'exit':
      return result('exited', Number(args[0] ?? 0), null);
    case 'end-thread-later':
      // Succeeds, then ends this worker thread (not the process) MS ms later, while it is idle.
      setTimeout(() => process.exit(0), Number(args[0] ?? 50));
      return result('exited', 0, null);
    case 'chunks': {
      const n = Number(args[0] ?? 10);
      for (let i = 0; i < n; i++) {
        out(`line ${i}\n`);
        await sleep(Number(args[1] ?? 5));
      }
      return result('exited', 0, null);
    }
    case 'slow-first': {
      // Attempt-aware pacing for the runner-kill test: the first execution (no flag file yet)
      // streams slowly (~60 s, long enough to be killed), a retry streams the same lines at once.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fs = require('node:fs') as typeof import('node:fs');
      const flag = args[0] ?? '/nonexistent';
      const first = !fs.existsSync(flag);
      if (first) fs.writeFileSync(flag, 'started');
      for (let i = 0; i < 100; i++) {
        out(`line ${i}\n`);
        if (first) await sleep(600);
      }
      return result('exited', 0, null);
    }
    case 'sleep-ms': {
      const end = Date.now() + Number(args[0] ?? 1000);
      while (Date.now() < end) {
        if (io.signal?.aborted) return result('cancelled', null, null, { message: 'cancelled' });
        await sleep(10);
      }
      return result('exited', 0, null);
    }
    case 'spin':
      // Never yields: only thread termination stops it.
      for (;;) {
        /* busy */
      }
    case 'throw':
      throw new Error('scripted engine failure');
    case 'heap-hog': {
      const keep: number[][] = [];
      for (;;) keep.push(new Array(1 << 16).fill(Math.random()));
    }
    case 'segv':
      return result('signaled', null, 11, {
        crash: {
          signal: 11,
          signalName: 'SIGSEGV',
          code: 1,
          pc: '0x400100',
          faultAddress: '0x0',
          reason: 'read from unmapped address',
          tid: 1,
          x: Array(31).fill('0x0'),
          sp: '0x7ff0',
          pstate: '0x0',
        },
      });
    case 'loop':
      return result('cpu_steps_exceeded', null, null, {
        message: `lichen: CPU-step limit of ${config.limits?.cpuSteps} reached`,
      });
    case 'hog':
      return result('memory_exceeded', null, null, { message: 'out of memory' });
    case 'slow':
      return result('timed_out', null, null, { message: 'wall-time limit reached' });
    case 'build': {
      // "Compiles" /src/prog.c: its text is the behaviour of /work/prog; "syntax error" fails.
      const src = new TextDecoder().decode(file(config, '/src/prog.c') ?? new Uint8Array());
      if (src.includes('syntax error')) {
        io.stderr(enc.encode('prog.c:1: error: syntax error\n'));
        return result('exited', 1, null);
      }
      return result('exited', 0, null, {
        artifacts: writeTar([{ path: 'work/prog', mode: 0o755, content: enc.encode(src.trim()) }]),
      });
    }
    case 'prog': {
      const mode = new TextDecoder().decode(file(config, '/work/prog') ?? enc.encode('missing')).trim();
      const nums = stdinText(io).split(/\s+/).filter(Boolean).map(Number);
      const sum = nums.reduce((a, b) => a + b, 0);
      switch (mode) {
        case 'sum':
          out(`${sum}\n`);
          return result('exited', 0, null);
        case 'sum-spaces':
          out(`${sum}   \n\n`);
          return result('exited', 0, null);
        case 'wrong':
          out(`${sum + 1}\n`);
          return result('exited', 0, null);
        case 'loop':
          return result('cpu_steps_exceeded', null, null, { message: 'CPU-step limit reached' });
        case 'hog':
          return result('memory_exceeded', null, null, { message: 'out of memory' });
        case 'crash':
          return runVm({ ...config, argv: ['segv'] }, io);
        case 'fork-bomb':
          // What a fork bomb looks like under the process limit: fork fails, the program gives up.
          io.stderr(enc.encode('fork: Resource temporarily unavailable\n'));
          return result('exited', 1, null);
        case 'slow':
          return result('timed_out', null, null, { message: 'wall-time limit reached' });
        default:
          io.stderr(enc.encode(`prog: ${mode}: not runnable\n`));
          return result('exited', 126, null);
      }
    }
    case 'check': {
      // Checker protocol: argv ends with input, output, expected paths.
      const [, outPath, expPath] = args.slice(-3);
      const got = new TextDecoder().decode(file(config, outPath ?? '') ?? new Uint8Array()).trim();
      const want = new TextDecoder().decode(file(config, expPath ?? '') ?? new Uint8Array()).trim();
      if (Number(got) === Number(want)) return result('exited', 0, null);
      io.stderr(enc.encode(`expected ${want}, got ${got}\n`));
      return result('exited', 1, null);
    }
    case 'write-artifact': {
      out('wrote\n');
      return result('exited', 0, null, {
        artifacts: config.collectArtifacts
          ? writeTar([{ path: 'out.txt', mode: 0o644, content: enc.encode('artifact data\n') }])
          : null,
      });
    }
    default:
      io.stderr(enc.encode(`${cmd}: not found\n`));
      return result('exited', 127, null);
  }
}
