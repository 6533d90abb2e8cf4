/**
 * Runs an aarch64 guest program under `qemu-aarch64-static`: the reference implementation that
 * CPU, kernel and workload tests compare Lichen against.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export const QEMU = process.env.LICHEN_QEMU ?? 'qemu-aarch64-static';
/** Debian's cross sysroot (libc6-dev-arm64-cross / libc6-arm64-cross): ld-linux-aarch64.so.1 and libc.so.6. */
export const CROSS_SYSROOT = '/usr/aarch64-linux-gnu';

export interface QemuOptions {
  /** Guest argv[1..]; argv[0] is `argv0` or the binary path. */
  args?: readonly string[];
  argv0?: string;
  /**
   * The guest's whole environment (qemu-user passes its own environment to the guest, so this
   * is also qemu's). Default: empty, so results do not depend on the host's environment.
   */
  env?: Readonly<Record<string, string>>;
  /** Bytes written to the guest's stdin, then closed. Default: stdin is empty (closed). */
  stdin?: string | Uint8Array;
  /**
   * Directory qemu uses as the guest's root for the ELF interpreter and libraries (`-L`).
   * Default: the cross sysroot, which dynamically linked fixtures need (harmless for static ones).
   */
  sysroot?: string;
  /** qemu `-cpu` model, e.g. `max,sve=off` or `cortex-a72`. Default: qemu's own default (`max`). */
  cpu?: string;
  /** Host working directory of the qemu process (the guest's cwd). Default: the current one. */
  cwd?: string;
  /** Wall-clock limit; the process is killed with SIGKILL after it. Default 30 s. */
  timeoutMs?: number;
  /** Kill the guest when stdout+stderr exceed this many bytes. Default 64 MiB. */
  maxOutputBytes?: number;
}

export interface QemuResult {
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  stderrBytes: Buffer;
  /** Exit status when the guest exited normally, otherwise null. */
  status: number | null;
  /** Signal name (e.g. `SIGSEGV`) when the guest was killed by a signal, otherwise null. */
  signal: NodeJS.Signals | null;
  /** The shell's view: `status`, or 128 + signal number. Also what `lichen run` exits with. */
  exitCode: number;
  /** True when the helper killed the guest at `timeoutMs`. */
  timedOut: boolean;
  /** True when the helper killed the guest for exceeding `maxOutputBytes`. */
  outputExceeded: boolean;
  /**
   * Lines qemu itself printed on stderr (e.g. `qemu: uncaught target signal 11 (Segmentation
   * fault) - core dumped`), removed from `stderr` so it holds only what the guest wrote.
   */
  qemuMessages: string[];
  wallMs: number;
}

const QEMU_LINE = /^(?:qemu: uncaught target signal \d+ .*|qemu-aarch64(?:-static)?: .*)$/;

function splitQemuMessages(raw: Buffer): { guest: Buffer; messages: string[] } {
  const lines = raw.toString('latin1').split('\n');
  const messages = lines.filter((line) => QEMU_LINE.test(line));
  if (messages.length === 0) return { guest: raw, messages };
  const kept = lines.filter((line) => !QEMU_LINE.test(line));
  return { guest: Buffer.from(kept.join('\n'), 'latin1'), messages };
}

/** Runs `binary` under qemu-aarch64-static and captures everything. Never rejects for guest failures. */
export function runQemu(binary: string, opts: QemuOptions = {}): Promise<QemuResult> {
  const qemuArgs: string[] = ['-L', opts.sysroot ?? CROSS_SYSROOT];
  if (opts.cpu) qemuArgs.push('-cpu', opts.cpu);
  if (opts.argv0 !== undefined) qemuArgs.push('-0', opts.argv0);
  qemuArgs.push(binary, ...(opts.args ?? []));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxOutput = opts.maxOutputBytes ?? 64 << 20;
  const started = performance.now();

  return new Promise((resolvePromise, reject) => {
    const child = spawn(QEMU, qemuArgs, {
      cwd: opts.cwd,
      env: { ...(opts.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let total = 0;
    let timedOut = false;
    let outputExceeded = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const collect = (sink: Buffer[]) => (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxOutput) {
        if (!outputExceeded) {
          outputExceeded = true;
          child.kill('SIGKILL');
        }
        return;
      }
      sink.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new Error(`${QEMU} not found: install qemu-user-static (bash scripts/setup.sh)`)
          : new Error(`cannot start ${QEMU}: ${e.message}`),
      );
    });
    // A guest that exits without reading its stdin closes the pipe: not an error of the helper.
    child.stdin.on('error', () => undefined);
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else child.stdin.end();
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      const { guest, messages } = splitQemuMessages(Buffer.concat(err));
      const signum = signal ? (constants.signals[signal] ?? 0) : 0;
      resolvePromise({
        stdout: stdoutBytes.toString('utf8'),
        stderr: guest.toString('utf8'),
        stdoutBytes,
        stderrBytes: guest,
        status,
        signal,
        exitCode: status ?? 128 + signum,
        timedOut,
        outputExceeded,
        qemuMessages: messages,
        wallMs: performance.now() - started,
      });
    });
  });
}
