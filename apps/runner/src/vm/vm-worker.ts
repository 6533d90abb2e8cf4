/**
 * Entry point of a VM worker thread: loads the engine, then runs jobs one at a time.
 * Anything thrown here (or a blown heap limit) ends this thread only; the pool discards
 * a thread after a failure, a cancel or a forced stop, and recycles it after N runs.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { FileBlockDevice } from '@lichen/vfs';
import type { FromWorker, RunResult, ThreadJob, ToWorker, WarmupSpec, WorkerInit } from './protocol';

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

/**
 * Image files this thread keeps open between VMs, most recently used last. Image blobs are
 * content-addressed and immutable, and the kernel reuses the mounted (read-only) filesystem of
 * a device it has seen, so the next VM of the same image starts with warm caches.
 */
const openImages = new Map<string, Promise<FileBlockDevice>>();
const MAX_OPEN_IMAGES = 2;

function imageDevice(path: string): Promise<FileBlockDevice> {
  let dev = openImages.get(path);
  if (dev !== undefined) {
    openImages.delete(path);
    openImages.set(path, dev);
    return dev;
  }
  dev = FileBlockDevice.open(path);
  openImages.set(path, dev);
  dev.catch(() => openImages.delete(path));
  while (openImages.size > MAX_OPEN_IMAGES) {
    const [oldest, old] = openImages.entries().next().value as [string, Promise<FileBlockDevice>];
    openImages.delete(oldest);
    // A VM of this thread runs only after the previous one reported, so nobody uses it now.
    void old.then((d) => d.close()).catch(() => undefined);
  }
  return dev;
}

async function run(engine: Engine, job: ThreadJob, abort: AbortController): Promise<void> {
  const device = job.rootfs.kind === 'ext4' ? await imageDevice(job.rootfs.path) : null;
  let result: RunResult;
  try {
    result = await engine.runVm(
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
  } catch (e) {
    // The engine failed (not the guest): do not keep an image that may be what broke it.
    if (job.rootfs.kind === 'ext4') openImages.delete(job.rootfs.path);
    await device?.close();
    throw e;
  }
  post({ t: 'result', result, heapBytes: getHeapStatistics().used_heap_size });
}

/** Limits of one warm-up VM: a broken warm-up image cannot hold the thread for long. */
const WARMUP_LIMITS = { wallMs: 5_000, cpuSteps: 20_000_000, memoryBytes: 64 * 1024 * 1024 };

async function warmUp(engine: Engine, spec: WarmupSpec): Promise<FromWorker> {
  const t0 = performance.now();
  let runs = 0;
  try {
    const device = await imageDevice(spec.rootfsPath);
    for (; runs < spec.runs; runs++) {
      const r = await engine.runVm(
        { argv: spec.argv, env: [], cwd: '/', rootfs: { kind: 'ext4', device }, files: [], limits: WARMUP_LIMITS },
        { stdout: () => undefined, stderr: () => undefined },
      );
      if (r.status !== 'exited' || r.exitCode !== 0)
        throw new Error(`warm-up VM ended ${r.status} (exit code ${r.exitCode ?? 'none'}): ${r.message ?? ''}`);
    }
    return { t: 'warmed', runs, ms: performance.now() - t0, error: null };
  } catch (e) {
    openImages.delete(spec.rootfsPath);
    return { t: 'warmed', runs, ms: performance.now() - t0, error: (e as Error).message };
  }
}

let current: AbortController | null = null;
let pending: ThreadJob | null = null;
const init = workerData as WorkerInit;

function start(engine: Engine, job: ThreadJob): void {
  // One VM at a time; the thread may be given another job after this one reports.
  const abort = new AbortController();
  current = abort;
  run(engine, job, abort).then(
    () => {
      current = null;
      const next = pending;
      pending = null;
      if (next) start(engine, next);
    },
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ t: 'failed', message: e.message, stack: e.stack ?? null });
      process.exit(1);
    },
  );
}

loadEngine(init.engine).then(
  (engine) => {
    port.on('message', (m: ToWorker) => {
      if (m.t === 'cancel') current?.abort();
      else if (m.t === 'warmup') {
        // Sent once, before the thread is handed its first job.
        void warmUp(engine, m.spec).then(post);
      } else if (m.t === 'run') {
        if (current) pending = m.job;
        else start(engine, m.job);
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
