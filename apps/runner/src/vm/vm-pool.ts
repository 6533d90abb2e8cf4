import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromWorker, OutputChunk, RunResult, ThreadJob, ToWorker, WarmupSpec, WorkerInit } from './protocol';

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
  /**
   * A fresh thread's JIT warm-up (its blocking part runs before the thread takes jobs, the rest
   * while it has none), asked once per pool; null or a failure: no warm-up. The end of each
   * thread's warm-up is reported through `onWarmup`.
   */
  warmup?: () => Promise<WarmupSpec | null>;
  /**
   * VMs running at once; a run beyond it waits (first come, first served) for one to end, and
   * ends `cancelled` without a VM if its signal fires meanwhile. Unset: no limit. A runner takes
   * more jobs than it runs VMs so one thread runs VMs back to back while the main thread does
   * the jobs' Redis work (LICHEN_RUNNER_VM_THREADS).
   */
  maxRunning?: number;
  onWarmup?(report: { runs: number; ms: number; error: string | null }): void;
  onCrash?(reason: string): void;
  /** A healthy thread was retired: it ran `runsPerThread` VMs, or its JS heap grew past half its limit. */
  onRetire?(reason: 'runs' | 'heap'): void;
}

/** A thread whose JS heap is above this share of its limit after a run is replaced. */
const RETIRE_HEAP_SHARE = 0.5;
/**
 * When a reused thread has this share of its `runsPerThread` left (at most STANDBY_MAX_LEAD
 * runs), its successor is started (a standby): it loads the engine and runs its whole JIT
 * warm-up while idle, and takes over when the old thread retires. Without it the successor was
 * started only then, and that runner's jobs waited for its engine load and blocking warm-up.
 */
const STANDBY_SHARE = 0.2;
const STANDBY_MAX_LEAD = 5000;

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
  /** The thread has ended (an idle or standby thread is then never handed a job). */
  exited: boolean;
}

/**
 * Runs each VM in a worker thread with a heap limit. Threads are started ahead of time (engine
 * loaded, optionally JIT-warmed by VMs of a warm-up image, see WarmupSpec) so a job does not pay
 * the start-up. A thread runs one VM at a time; it is reused for the next VM only after a clean
 * result (never after a crash, cancel or forced stop) and is replaced after `runsPerThread`
 * VMs, or earlier when its JS heap has grown past half its limit.
 */
export class VmPool {
  private readonly idle: Warm[] = [];
  /** The successor of a thread close to its `runsPerThread`, warming while idle (see STANDBY_SHARE). */
  private standby: Warm | null = null;
  private readonly live = new Set<Worker>();
  private closed = false;
  private readonly entry = workerEntry();
  private warmupSpec: Promise<WarmupSpec | null> | null = null;
  private warming = 0;

  constructor(private readonly opts: VmPoolOptions) {
    this.refill();
  }

  get activeThreads(): number {
    return this.live.size;
  }

  /** Threads whose warm-up has not ended yet (they take jobs, but are not at full speed). */
  get warmingThreads(): number {
    return this.warming;
  }

  /**
   * Counts a thread as warming from its start (when the pool warms threads at all) until its
   * warm-up ends (reported), turns out not to happen (`settle` called), or the thread exits. A
   * thread still loading its engine counts too, so a fresh pool never reads as warm too early.
   */
  private countWarming(worker: Worker): () => void {
    this.warming++;
    let counted = true;
    const settle = (): void => {
      if (!counted) return;
      counted = false;
      this.warming--;
      worker.off('message', onMessage);
      worker.off('exit', settle);
    };
    const onMessage = (m: FromWorker): void => {
      if (m.t !== 'warmed') return;
      settle();
      this.opts.onWarmup?.({ runs: m.runs, ms: m.ms, error: m.error });
    };
    worker.on('message', onMessage);
    worker.on('exit', settle);
    return settle;
  }

  private spawn(): Warm {
    const worker = new Worker(this.entry.file, {
      workerData: { engine: this.opts.engine } satisfies WorkerInit,
      eval: this.entry.eval,
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb, maxYoungGenerationSizeMb: 64 },
      stdout: false,
      stderr: false,
    });
    const w: Warm = { worker, runs: 0, ready: Promise.resolve({ t: 'ready' }), exited: false };
    worker.once('exit', () => (w.exited = true));
    // Resolves with the first of the listed messages, or `failed` when the thread errs or exits.
    const next = (wanted: FromWorker['t'][]): Promise<FromWorker> =>
      new Promise<FromWorker>((resolve) => {
        const done = (m: FromWorker): void => {
          worker.off('message', onMsg);
          worker.off('error', onError);
          worker.off('exit', onExit);
          resolve(m);
        };
        const onMsg = (m: FromWorker): void => {
          if (wanted.includes(m.t) || m.t === 'failed') done(m);
        };
        const onError = (e: Error): void => done({ t: 'failed', message: e.message, stack: null });
        const onExit = (): void => done({ t: 'failed', message: 'VM thread exited before it was ready', stack: null });
        worker.on('message', onMsg);
        worker.once('error', onError);
        worker.once('exit', onExit);
      });
    const notWarming = this.opts.warmup ? this.countWarming(worker) : () => undefined;
    w.ready = next(['ready']).then(async (first) => {
      if (first.t !== 'ready' || !this.opts.warmup) {
        notWarming();
        return first;
      }
      this.warmupSpec ??= this.opts.warmup().catch(() => null);
      const spec = await this.warmupSpec;
      if (!spec || spec.runs <= 0) {
        notWarming();
        return first;
      }
      const ready = next(['warm-ready']);
      worker.postMessage({ t: 'warmup', spec } satisfies ToWorker);
      const m = await ready;
      return m.t === 'warm-ready' ? first : m;
    });
    // An idle thread must not keep the process alive.
    worker.unref();
    return w;
  }

  /** The standby successor, unless it has ended meanwhile (then it is dropped). */
  private liveStandby(): Warm | null {
    if (this.standby?.exited) this.standby = null;
    return this.standby;
  }

  private refill(): void {
    const standby = this.liveStandby();
    if (!this.closed && standby && this.idle.length < this.opts.warm) {
      this.idle.push(standby);
      this.standby = null;
    }
    while (!this.closed && this.idle.length < this.opts.warm) this.idle.push(this.spawn());
  }

  /** VMs a thread runs before it is replaced (`runsPerThread`; 1, a fresh thread per VM, when unset). */
  private get runsPerThread(): number {
    return this.opts.runsPerThread ?? 1;
  }

  /** Starts the successor of a reused thread that has run `runs` VMs, once it nears its end. */
  private prepareSuccessor(runs: number): void {
    const limit = this.runsPerThread;
    const lead = Math.min(Math.ceil(limit * STANDBY_SHARE), STANDBY_MAX_LEAD);
    if (this.closed || this.liveStandby() || limit <= 1 || runs < limit - lead) return;
    this.standby = this.spawn();
  }

  /** Whether a standby successor is warming up or waiting (for tests). */
  get hasStandby(): boolean {
    return this.standby !== null;
  }

  private take(): Warm {
    let w = this.idle.shift();
    while (w?.exited) w = this.idle.shift();
    w ??= this.spawn();
    // Fresh thread per VM: start the next one while this one runs.
    if (this.runsPerThread <= 1) this.refill();
    return w;
  }

  /** Runs waiting for a VM slot (maxRunning), oldest first. */
  private readonly turns: ((ok: boolean) => void)[] = [];
  private running = 0;

  /** Takes a VM slot, waiting for one when maxRunning are in use; false: cancelled or closed meanwhile. */
  private takeTurn(signal: AbortSignal | undefined): Promise<boolean> {
    const max = this.opts.maxRunning;
    if (max === undefined || this.running < max) {
      this.running++;
      return Promise.resolve(true);
    }
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const turn = (ok: boolean): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = (): void => {
        const i = this.turns.indexOf(turn);
        if (i >= 0) this.turns.splice(i, 1);
        turn(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.turns.push(turn);
    });
  }

  /** Gives the slot to the oldest waiting run (it stays taken), or frees it. */
  private endTurn(): void {
    const next = this.turns.shift();
    if (next) next(true);
    else this.running--;
  }

  /** Waiting runs (for a VM slot). */
  get waiting(): number {
    return this.turns.length;
  }

  async run(o: RunInThreadOptions): Promise<ThreadOutcome> {
    if (this.closed) throw new Error('VM pool is closed');
    if (!(await this.takeTurn(o.signal))) {
      if (this.closed) throw new Error('VM pool is closed');
      return { kind: 'terminated', reason: 'cancelled', message: 'cancelled before its VM started' };
    }
    try {
      return await this.runInThread(o);
    } finally {
      this.endTurn();
    }
  }

  private async runInThread(o: RunInThreadOptions): Promise<ThreadOutcome> {
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
      let heapBytes = 0;
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
        const limit = this.runsPerThread;
        const healthy = out.kind === 'result' && !cancelled && !this.closed;
        const spent = w.runs >= limit;
        const grown = heapBytes >= this.opts.heapMb * 1024 * 1024 * RETIRE_HEAP_SHARE;
        // A thread per VM (runsPerThread 1) is not a retirement worth counting.
        if (healthy && limit > 1 && (spent || grown)) this.opts.onRetire?.(grown ? 'heap' : 'runs');
        const reusable = healthy && !spent && !grown && this.idle.length < this.opts.warm;
        if (reusable) {
          worker.unref();
          w.ready = Promise.resolve({ t: 'ready' });
          this.idle.unshift(w);
          this.prepareSuccessor(w.runs);
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
      const deliver = (c: OutputChunk): void => (c.t === 'out' ? o.onStdout(c.d) : o.onStderr(c.d));
      const onMessage = (m: FromWorker): void => {
        if (m.t === 'out' || m.t === 'err') deliver(m);
        else if (m.t === 'result') {
          for (const c of m.tail) deliver(c);
          heapBytes = m.heapBytes;
          finish({ kind: 'result', result: m.result });
        } else if (m.t === 'failed') finish({ kind: 'crash', reason: 'exception', message: m.message });
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
    for (const turn of this.turns.splice(0)) turn(false);
    const all = [...this.idle.map((w) => w.worker), ...this.live];
    if (this.standby) all.push(this.standby.worker);
    this.standby = null;
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }
}
