/**
 * The VM side of `lichen run`: boots the image in libs/kernel's VM with the run's stdio and
 * limits, and returns the exit status (the guest's code, 128+N on signal N, 152 CPU-step
 * limit, 137 memory, 124 timeout, 125 when the program could not start).
 */
import { writeFile } from 'node:fs/promises';
import { DEFAULT_PATH, runVm, type RunResult, type VmConfig, type VmIo } from '@lichen/kernel';
import { processIo, type CliIo } from '../io';
import type { RunOptions } from '../run-options';
import { openTraceWriter } from '../trace-writer';

/** The guest environment: defaults (PATH, HOME, TERM from the host) for names --env does not give. */
export function guestEnv(options: RunOptions, hostEnv: NodeJS.ProcessEnv): string[] {
  const env = [...options.env];
  const has = (name: string): boolean => env.some((e) => e.startsWith(`${name}=`));
  if (!has('PATH')) env.unshift(`PATH=${DEFAULT_PATH}`);
  if (!has('HOME')) env.push('HOME=/root');
  if (!has('TERM') && hostEnv.TERM) env.push(`TERM=${hostEnv.TERM}`);
  return env;
}

/** The --stats JSON document. */
export function statsDocument(options: RunOptions, r: RunResult): Record<string, unknown> {
  return {
    status: r.status,
    exitCode: r.exitCode,
    signal: r.signal,
    cliExitCode: r.cliExitCode,
    instructions: r.stats.instructions,
    wallMs: r.stats.wallMs,
    maxMemoryBytes: r.stats.maxMemoryBytes,
    syscalls: r.stats.syscalls,
    unsupportedSyscalls: r.stats.unsupportedSyscalls,
    tasksCreated: r.stats.tasksCreated,
    outputBytes: r.stats.outputBytes,
    imageBytesFetched: options.image.bytesFetched(),
    message: r.message,
    crash: r.crash,
  };
}

export async function executeRun(options: RunOptions, io: CliIo): Promise<number> {
  const direct = io === processIo;
  const trace = options.traceFile === undefined ? null : openTraceWriter(options.traceFile, io.stderr);
  const device = await options.image.open();
  const config: VmConfig = {
    argv: options.argv,
    env: guestEnv(options, io.env),
    cwd: '/',
    uid: options.user?.uid ?? 0,
    gid: options.user?.gid ?? 0,
    rootfs: { kind: 'ext4', device },
    mounts: options.mounts.map((m) => ({ hostPath: m.hostPath, guestPath: m.guestPath, readOnly: m.readOnly })),
    limits: { cpuSteps: options.cpuSteps, memoryBytes: options.memoryBytes, wallMs: options.timeoutMs },
    deterministic: options.deterministic,
    tty:
      direct && process.stdout.isTTY
        ? { rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 }
        : undefined,
    trace: trace === null ? undefined : (line) => trace.line(line),
  };
  // raw bytes go straight to the process streams; a test CliIo gets decoded text
  const outDecoder = new TextDecoder();
  const errDecoder = new TextDecoder();
  const vmIo: VmIo = {
    stdin: direct ? (process.stdin as AsyncIterable<Uint8Array>) : undefined,
    stdout: direct ? (b) => process.stdout.write(b) : (b) => io.stdout(outDecoder.decode(b, { stream: true })),
    stderr: direct ? (b) => process.stderr.write(b) : (b) => io.stderr(errDecoder.decode(b, { stream: true })),
  };
  const abort = new AbortController();
  vmIo.signal = abort.signal;
  const onSigint = (): void => abort.abort();
  if (direct) process.once('SIGINT', onSigint);
  let result: RunResult;
  try {
    result = await runVm(config, vmIo);
  } finally {
    if (direct) {
      process.removeListener('SIGINT', onSigint);
      process.stdin.pause();
      process.stdin.unref?.();
    }
    await device.close();
    trace?.close();
  }
  if (result.message && result.status !== 'exited') io.stderr(`${result.message}\n`);
  if (options.statsFile)
    await writeFile(options.statsFile, JSON.stringify(statsDocument(options, result), null, 2) + '\n');
  return result.cliExitCode;
}
