/**
 * Entry point of a VM worker thread: loads the engine, then runs jobs one at a time.
 * Anything thrown here (or a blown heap limit) ends this thread only; the pool discards
 * a thread after a failure, a cancel or a forced stop, and recycles it after N runs.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { FileBlockDevice } from '@lichen/vfs';
import type { FromWorker, OutputChunk, RunResult, ThreadJob, ToWorker, WarmupSpec, WorkerInit } from './protocol';

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

/**
 * Runs one VM of `job`. Jobs and warm-up VMs go through here alike, so the kernel sees objects of
 * the same shapes from both and V8's optimised code carries over from the warm-up to the jobs.
 */
async function runJob(
  engine: Engine,
  job: ThreadJob,
  out: (c: Uint8Array) => void,
  err: (c: Uint8Array) => void,
  signal: AbortSignal,
): Promise<RunResult> {
  const device = job.rootfs.kind === 'ext4' ? await imageDevice(job.rootfs.path) : null;
  try {
    return await engine.runVm(
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
      { stdin: job.stdin ?? undefined, stdout: out, stderr: err, signal },
    );
  } catch (e) {
    // The engine failed (not the guest): do not keep an image that may be what broke it.
    if (job.rootfs.kind === 'ext4') openImages.delete(job.rootfs.path);
    await device?.close();
    throw e;
  }
}

/**
 * Guest output on its way to the pool. Chunks are held for up to FLUSH_MS (or FLUSH_BYTES) and
 * sent together; what is held when the VM ends rides in the result message. A short run then
 * costs one message to the main thread instead of one per write(2) plus the result, and a long
 * one still streams with at most FLUSH_MS of delay.
 */
class OutputBatcher {
  static readonly FLUSH_MS = 5;
  static readonly FLUSH_BYTES = 64 * 1024;
  private held: OutputChunk[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;

  push(t: OutputChunk['t'], c: Uint8Array): void {
    // The kernel may reuse its buffer after the write returns.
    this.held.push({ t, d: c.slice() });
    this.bytes += c.length;
    if (this.bytes >= OutputBatcher.FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), OutputBatcher.FLUSH_MS);
  }

  private flush(): void {
    for (const m of this.take()) post(m);
  }

  /** Ends the batching: returns what is still held, for the result message. */
  take(): OutputChunk[] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const held = this.held;
    this.held = [];
    this.bytes = 0;
    return held;
  }
}

async function run(engine: Engine, job: ThreadJob, abort: AbortController): Promise<void> {
  const out = new OutputBatcher();
  const result = await runJob(
    engine,
    job,
    (c) => out.push('out', c),
    (c) => out.push('err', c),
    abort.signal,
  );
  post({ t: 'result', result, heapBytes: getHeapStatistics().used_heap_size, tail: out.take() });
}

const discard = (): void => undefined;

/** Progress of this thread's warm-up; null when there is none (left). */
let warming: { spec: WarmupSpec; done: number; ms: number; readySent: boolean } | null = null;
/** A VM (job or warm-up) is running: anything else waits for it. */
let busy = false;
let current: AbortController | null = null;
let pending: { job: ThreadJob; abort: AbortController } | null = null;
const init = workerData as WorkerInit;

/** Ends the warm-up: tells the pool the thread takes jobs (if not yet) and how the warm-up went. */
function endWarmup(error: string | null): void {
  if (!warming) return;
  if (!warming.readySent) post({ t: 'warm-ready' });
  post({ t: 'warmed', runs: warming.done, ms: warming.ms, error });
  warming = null;
}

/** One warm-up VM; on failure the warm-up stops (the thread still takes jobs). */
async function warmOne(engine: Engine, w: NonNullable<typeof warming>): Promise<void> {
  const t0 = performance.now();
  try {
    const r = await runJob(engine, w.spec.job, discard, discard, new AbortController().signal);
    w.ms += performance.now() - t0;
    if (r.status !== 'exited' || r.exitCode !== 0)
      throw new Error(`warm-up VM ended ${r.status} (exit code ${r.exitCode ?? 'none'}): ${r.message ?? ''}`);
    w.done++;
    if (!w.readySent && w.done >= w.spec.blockingRuns) {
      w.readySent = true;
      post({ t: 'warm-ready' });
    }
    if (w.done >= w.spec.runs) endWarmup(null);
  } catch (e) {
    endWarmup((e as Error).message);
  }
}

/**
 * Starts the next VM when none is running: a waiting job first, else the next warm-up VM.
 * Warm-up VMs are chained through setImmediate so a job posted meanwhile is seen between them.
 */
function pump(engine: Engine): void {
  if (busy) return;
  if (pending) {
    const { job, abort } = pending;
    pending = null;
    busy = true;
    current = abort;
    run(engine, job, abort).then(
      () => {
        current = null;
        busy = false;
        pump(engine);
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        post({ t: 'failed', message: e.message, stack: e.stack ?? null });
        process.exit(1);
      },
    );
  } else if (warming) {
    busy = true;
    void warmOne(engine, warming).then(() => {
      busy = false;
      setImmediate(() => pump(engine));
    });
  }
}

loadEngine(init.engine).then(
  (engine) => {
    port.on('message', (m: ToWorker) => {
      if (m.t === 'cancel') (current ?? pending?.abort)?.abort();
      else if (m.t === 'warmup') {
        // Sent once, before the thread is handed its first job.
        warming = { spec: m.spec, done: 0, ms: 0, readySent: false };
        if (m.spec.blockingRuns <= 0) {
          warming.readySent = true;
          post({ t: 'warm-ready' });
        }
        if (m.spec.runs <= 0) endWarmup(null);
        pump(engine);
      } else if (m.t === 'run') {
        // One VM at a time: the job starts when the VM in progress (if any) has ended.
        pending = { job: m.job, abort: new AbortController() };
        pump(engine);
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
