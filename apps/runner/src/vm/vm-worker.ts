/**
 * Entry point of a VM worker thread: loads the engine, then runs jobs one at a time.
 * Anything thrown here (or a blown heap limit) ends this thread only; the pool discards
 * a thread after a failure, a cancel or a forced stop, and recycles it after N runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileBlockDevice } from './file-block-device';
import type { FromWorker, RunResult, ThreadJob, ToWorker, WorkerInit } from './protocol';

interface Engine {
  runVm(config: Record<string, unknown>, io: Record<string, unknown>): Promise<RunResult>;
}

const port = parentPort;
if (!port) throw new Error('vm-worker must run in a worker thread');
const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

async function loadEngine(spec: string): Promise<Engine> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(spec) as Partial<Engine> & { default?: Partial<Engine> };
  const runVm = mod.runVm ?? mod.default?.runVm;
  if (typeof runVm !== 'function') throw new Error(`VM engine ${spec} does not export runVm(config, io)`);
  return { runVm };
}

async function run(engine: Engine, job: ThreadJob, abort: AbortController): Promise<void> {
  const device = job.rootfs.kind === 'ext4' ? await FileBlockDevice.open(job.rootfs.path) : null;
  try {
    const result = await engine.runVm(
      {
        argv: job.argv,
        env: job.env,
        cwd: job.cwd,
        rootfs: device ? { kind: 'ext4', device } : { kind: 'tmpfs' },
        files: job.files,
        limits: job.limits,
        deterministic: job.deterministic ?? undefined,
        collectArtifacts: job.collectArtifacts,
      },
      {
        stdin: job.stdin ?? undefined,
        stdout: (c: Uint8Array) => post({ t: 'out', d: c.slice() }),
        stderr: (c: Uint8Array) => post({ t: 'err', d: c.slice() }),
        signal: abort.signal,
      },
    );
    post({ t: 'result', result });
  } finally {
    await device?.close();
  }
}

let current: AbortController | null = null;
const init = workerData as WorkerInit;
loadEngine(init.engine).then(
  (engine) => {
    port.on('message', (m: ToWorker) => {
      if (m.t === 'cancel') current?.abort();
      else if (m.t === 'run' && !current) {
        // One VM at a time; the thread may be given another job after this one reports.
        const abort = new AbortController();
        current = abort;
        run(engine, m.job, abort).then(
          () => {
            current = null;
          },
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            post({ t: 'failed', message: e.message, stack: e.stack ?? null });
            process.exit(1);
          },
        );
      }
    });
    post({ t: 'ready' });
  },
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ t: 'failed', message: `cannot load VM engine: ${e.message}`, stack: e.stack ?? null });
    process.exit(1);
  },
);
