import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the service. One instance per app (its own registry). */
export class ServiceMetrics {
  readonly registry: Registry;
  readonly runsTotal: Counter<'status'>;
  readonly queueWait: Histogram;
  readonly runDuration: Histogram<'status'>;
  readonly guestInstructions: Counter;
  readonly guestMips: Histogram;
  readonly syscalls: Counter<'name'>;
  readonly unsupportedSyscalls: Counter<'name'>;
  readonly imageCache: Counter<'result'>;
  readonly imageCacheBytes: Counter<'result'>;
  readonly vmMemory: Histogram;
  readonly workerCrashes: Counter<'reason'>;
  readonly vmThreadRetirements: Counter<'reason'>;
  readonly activeVms: Gauge;
  readonly vmThreadsWarming: Gauge;
  readonly httpRequests: Counter<'method' | 'route' | 'code'>;
  readonly queueDepth: Gauge<'state'>;
  private depthSource: (() => Promise<Record<string, number>>) | null = null;
  private warmingSource: (() => number) | null = null;

  constructor(app: 'api' | 'runner', opts: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    this.registry.setDefaultLabels({ app });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'lichen_' });
    const r = [this.registry];
    this.runsTotal = new Counter({
      name: 'lichen_runs_total',
      help: 'Finished runs by final status',
      labelNames: ['status'],
      registers: r,
    });
    this.queueWait = new Histogram({
      name: 'lichen_run_queue_wait_seconds',
      help: 'Time from submission to VM start',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: r,
    });
    this.runDuration = new Histogram({
      name: 'lichen_run_duration_seconds',
      help: 'VM wall time of a run by final status',
      labelNames: ['status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
      registers: r,
    });
    this.guestInstructions = new Counter({
      name: 'lichen_guest_instructions_total',
      help: 'Guest instructions retired',
      registers: r,
    });
    this.guestMips = new Histogram({
      name: 'lichen_guest_mips',
      help: 'Guest million instructions per second of each run',
      buckets: [1, 5, 10, 25, 50, 100, 200, 400, 800, 1600],
      registers: r,
    });
    this.syscalls = new Counter({
      name: 'lichen_guest_syscalls_total',
      help: 'Guest syscalls by name',
      labelNames: ['name'],
      registers: r,
    });
    this.unsupportedSyscalls = new Counter({
      name: 'lichen_guest_unsupported_syscalls_total',
      help: 'Guest syscalls answered ENOSYS (unsupported or unknown), by name',
      labelNames: ['name'],
      registers: r,
    });
    this.imageCache = new Counter({
      name: 'lichen_image_cache_requests_total',
      help: 'Image cache look-ups by result (hit, miss)',
      labelNames: ['result'],
      registers: r,
    });
    this.imageCacheBytes = new Counter({
      name: 'lichen_image_cache_bytes_total',
      help: 'Image bytes served from the cache (hit) or fetched (miss)',
      labelNames: ['result'],
      registers: r,
    });
    this.vmMemory = new Histogram({
      name: 'lichen_vm_max_memory_bytes',
      help: 'Peak guest memory of each run',
      buckets: [1, 4, 16, 32, 64, 128, 256, 512, 1024, 2048].map((m) => m * 1024 * 1024),
      registers: r,
    });
    this.workerCrashes = new Counter({
      name: 'lichen_vm_worker_crashes_total',
      help: 'VM worker threads that died (exception, heap limit, forced termination)',
      labelNames: ['reason'],
      registers: r,
    });
    this.vmThreadRetirements = new Counter({
      name: 'lichen_vm_thread_retirements_total',
      help: 'Healthy VM threads replaced: reason runs (LICHEN_VM_RUNS_PER_THREAD reached) or heap (grew past half its limit)',
      labelNames: ['reason'],
      registers: r,
    });
    this.activeVms = new Gauge({ name: 'lichen_vms_active', help: 'VMs running in this process', registers: r });
    this.httpRequests = new Counter({
      name: 'lichen_http_requests_total',
      help: 'API requests by route and status code',
      labelNames: ['method', 'route', 'code'],
      registers: r,
    });
    const warming = (): (() => number) | null => this.warmingSource;
    this.vmThreadsWarming = new Gauge({
      name: 'lichen_vm_threads_warming',
      help: 'VM threads whose JIT warm-up has not ended (they take jobs, at less than full speed)',
      registers: r,
      collect() {
        const source = warming();
        if (source) this.set(source());
      },
    });
    const depth = (): (() => Promise<Record<string, number>>) | null => this.depthSource;
    this.queueDepth = new Gauge({
      name: 'lichen_queue_jobs',
      help: 'Jobs in the run queue by state',
      labelNames: ['state'],
      registers: r,
      async collect() {
        const source = depth();
        if (!source) return;
        try {
          const counts = await source();
          for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        } catch {
          /* Redis unreachable: keep the last values */
        }
      },
    });
  }

  /** Where the warming-threads gauge reads its value (the runner's VM pool). */
  setWarmingThreadsSource(fn: () => number): void {
    this.warmingSource = fn;
  }

  /** Where the queue-depth gauge reads its counts (the BullMQ queue). */
  setQueueDepthSource(fn: () => Promise<Record<string, number>>): void {
    this.depthSource = fn;
  }

  async text(extra: Registry[] = []): Promise<string> {
    if (extra.length === 0) return this.registry.metrics();
    return Registry.merge([this.registry, ...extra]).metrics();
  }
}
