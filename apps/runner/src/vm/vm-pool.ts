import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromWorker, RunResult, ThreadJob, ToWorker, WorkerInit } from './protocol';

/** How a VM thread ended, as seen from the runner's main thread. */
export type ThreadOutcome =
  | { kind: 'result'; result: RunResult }
  /** The thread died: exception in the engine, heap limit, unexpected exit. Only this run fails. */
  | { kind: 'crash'; reason: 'exception' | 'heap' | 'exit' | 'engine_load'; message: string }
  /** The supervisor ended the thread: cancel not honoured within the grace, or wall-time backstop. */
  | { kind: 'terminated'; reason: 'cancelled' | 'timed_out'; message: string };

export interface RunInThreadOptions {
  job: ThreadJob;
  onStdout(chunk: Uint8Array): void;
  onStderr(chunk: Uint8Array): void;
  signal?: AbortSignal;
  /** Terminate the thread when it has not ended this long after the wall limit. */
  wallBackstopMs: number;
}

export interface VmPoolOptions {
  engine: string;
  heapMb: number;
  /** Idle pre-started threads kept ready (each is used for exactly one VM). */
  warm: number;
  /** Grace between a cancel request and forced termination. */
  cancelGraceMs?: number;
  /**
   * VMs one thread runs (one after another) before it is replaced. 1 = a fresh thread per VM.
   * A thread that failed, was cancelled or was terminated is never reused.
   */
  runsPerThread?: number;
  onCrash?(reason: string): void;
}

function workerEntry(): { file: string; eval: boolean } {
  const js = join(__dirname, 'vm-worker.js');
  if (existsSync(js)) return { file: js, eval: false };
  // Running from sources (tests, tsx): load the TypeScript entry through tsx's require hook.
  const ts = join(__dirname, 'vm-worker.ts');
  return { file: `require('tsx/cjs'); require(${JSON.stringify(ts)});`, eval: true };
}

interface Warm {
  worker: Worker;
  runs: number;
  ready: Promise<FromWorker>;
  /** Messages that arrived before a job claimed the thread. */
  failed: { message: string } | null;
}

/**
 * Runs each VM in a worker thread with a heap limit. Threads are started ahead of time (engine
 * loaded) so a job does not pay the start-up. A thread runs one VM at a time; it is reused for
 * the next VM only after a clean result (never after a crash, cancel or forced stop) and is
 * replaced after `runsPerThread` VMs.
 */
export class VmPool {
  private readonly idle: Warm[] = [];
  private readonly live = new Set<Worker>();
  private closed = false;
  private readonly entry = workerEntry();

  constructor(private readonly opts: VmPoolOptions) {
    this.refill();
  }

  get activeThreads(): number {
    return this.live.size;
  }

  private spawn(): Warm {
    const worker = new Worker(this.entry.file, {
      workerData: { engine: this.opts.engine } satisfies WorkerInit,
      eval: this.entry.eval,
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb, maxYoungGenerationSizeMb: 64 },
      stdout: false,
      stderr: false,
    });
    const w: Warm = { worker, runs: 0, ready: Promise.resolve({ t: 'ready' }), failed: null };
    w.ready = new Promise<FromWorker>((resolve) => {
      const onMsg = (m: FromWorker): void => {
        if (m.t === 'ready' || m.t === 'failed') {
          worker.off('message', onMsg);
          if (m.t === 'failed') w.failed = { message: m.message };
          resolve(m);
        }
      };
      worker.on('message', onMsg);
      worker.once('error', (e) => {
        w.failed = { message: e.message };
        resolve({ t: 'failed', message: e.message, stack: null });
      });
      worker.once('exit', () => {
        if (!w.failed) w.failed = { message: 'VM thread exited before it was ready' };
        resolve({ t: 'failed', message: w.failed.message, stack: null });
      });
    });
    // An idle thread must not keep the process alive.
    worker.unref();
    return w;
  }

  private refill(): void {
    while (!this.closed && this.idle.length < this.opts.warm) this.idle.push(this.spawn());
  }

  private take(): Warm {
    const w = this.idle.shift() ?? this.spawn();
    // Fresh thread per VM: start the next one while this one runs.
    if ((this.opts.runsPerThread ?? 1) <= 1) this.refill();
    return w;
  }

  async run(o: RunInThreadOptions): Promise<ThreadOutcome> {
    if (this.closed) throw new Error('VM pool is closed');
    const w = this.take();
    const first = await w.ready;
    if (first.t === 'failed') {
      void w.worker.terminate();
      this.opts.onCrash?.('engine_load');
      return { kind: 'crash', reason: 'engine_load', message: first.message };
    }
    const worker = w.worker;
    worker.ref();
    this.live.add(worker);
    w.runs++;
    return new Promise<ThreadOutcome>((resolve) => {
      let settled = false;
      let forced: ThreadOutcome | null = null;
      const timers: NodeJS.Timeout[] = [];
      let cancelled = false;
      const finish = (out: ThreadOutcome): void => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        o.signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        this.live.delete(worker);
        if (out.kind !== 'result' && out.kind !== 'terminated') this.opts.onCrash?.(out.reason);
        if (out.kind === 'terminated') this.opts.onCrash?.(`terminated_${out.reason}`);
        const reusable =
          out.kind === 'result' &&
          !cancelled &&
          !this.closed &&
          w.runs < (this.opts.runsPerThread ?? 1) &&
          this.idle.length < this.opts.warm;
        if (reusable) {
          worker.unref();
          w.ready = Promise.resolve({ t: 'ready' });
          this.idle.unshift(w);
        } else {
          void worker.terminate();
          this.refill();
        }
        resolve(out);
      };
      const onAbort = (): void => {
        cancelled = true;
        worker.postMessage({ t: 'cancel' } satisfies ToWorker);
        timers.push(
          setTimeout(() => {
            forced = { kind: 'terminated', reason: 'cancelled', message: 'cancelled (VM thread terminated)' };
            void worker.terminate();
          }, this.opts.cancelGraceMs ?? 750),
        );
      };
      const onMessage = (m: FromWorker): void => {
        if (m.t === 'out') o.onStdout(m.d);
        else if (m.t === 'err') o.onStderr(m.d);
        else if (m.t === 'result') finish({ kind: 'result', result: m.result });
        else if (m.t === 'failed') finish({ kind: 'crash', reason: 'exception', message: m.message });
      };
      const onError = (e: Error & { code?: string }): void => {
        const heap = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
        finish({
          kind: 'crash',
          reason: heap ? 'heap' : 'exception',
          message: heap ? `VM thread exceeded its heap limit: ${e.message}` : e.message,
        });
      };
      const onExit = (code: number): void => {
        if (forced) finish(forced);
        else finish({ kind: 'crash', reason: 'exit', message: `VM thread exited (code ${code}) without a result` });
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (o.signal) {
        if (o.signal.aborted) onAbort();
        else o.signal.addEventListener('abort', onAbort, { once: true });
      }
      timers.push(
        setTimeout(() => {
          forced = {
            kind: 'terminated',
            reason: 'timed_out',
            message: 'wall-time limit reached (VM thread terminated)',
          };
          void worker.terminate();
        }, o.wallBackstopMs),
      );
      worker.postMessage({ t: 'run', job: o.job } satisfies ToWorker);
    });
  }

  /** Stops the idle threads and terminates running ones. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.map((w) => w.worker), ...this.live];
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }
}
