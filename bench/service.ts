/**
 * npm run bench:service — the service end to end on this machine.
 *
 * Builds the API and runner (tsc -b), starts the API and TWO runner processes against the local
 * Redis (a private key prefix), submits 500 `busybox echo` runs from 50 concurrent clients
 * (POST /v1/runs?wait=…), checks every run completed exactly once with the right output, and
 * prints throughput and p50/p95/p99 end-to-end latency, next to the latency of running the same
 * busybox echo directly under qemu-aarch64-static measured in the same run.
 *
 * Before measuring, it waits for the runners' VM-thread JIT warm-up and primes the service with
 * runs of the same kind, checked but not timed, in windows of BENCH_PRIME_WINDOW (1000): at least
 * BENCH_PRIME_RUNS (3000), until two windows in a row no longer beat the best earlier one's rate
 * by more than 5% (at most BENCH_PRIME_MAX_RUNS, 12000). Each window's rate and p50 are printed:
 * the service from just after a start to warm.
 *
 * Options (env): BENCH_RUNS (500), BENCH_CLIENTS (50), BENCH_PRIME_RUNS (3000), BENCH_PRIME_WINDOW,
 * BENCH_PRIME_MAX_RUNS,
 * BENCH_RUNNER_CONCURRENCY (jobs a runner holds; default: cores), LICHEN_RUNNER_VM_THREADS (VMs a
 * runner runs at once; default: half the cores), BENCH_PIN_RUNNERS (1: each runner pinned to its half
 * of the CPUs with LICHEN_RUNNER_CPUS, as docs/operations.md advises for runner hosts; 0: unpinned),
 * BENCH_ENGINE=echo (VM threads run
 * bench/echo-engine.cjs, which answers at once instead of running a VM: the control plane's own
 * ceiling), BENCH_SKIP_BUILD=1 (use the existing dist/), BENCH_LOG_DIR (write each process's stdout,
 * e.g. its log or V8 traces, to DIR/api.log, DIR/runner-1.log, …), BENCH_LOG_LEVEL (warn),
 * BENCH_NODE_ARGS (extra node flags for the API and runner processes, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { buildImage, defaultImageDir, LocalImageStore } from '@lichen/images';
import { BenchHttpConnection } from './http-client';

const ROOT = resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 500);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const PRIME = Number(process.env.BENCH_PRIME_RUNS ?? 3000);
const PRIME_WINDOW = Number(process.env.BENCH_PRIME_WINDOW ?? 1000);
const PRIME_MAX = Math.max(PRIME, Number(process.env.BENCH_PRIME_MAX_RUNS ?? 12000));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ENGINE = process.env.BENCH_ENGINE ?? 'kernel';
if (ENGINE !== 'kernel' && ENGINE !== 'echo') throw new Error(`BENCH_ENGINE must be kernel or echo, not ${ENGINE}`);
const KEY = `bench-${randomBytes(12).toString('hex')}`;
const PREFIX = `lichen-bench-${process.pid}-${randomBytes(3).toString('hex')}`;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

/** Waits until a runner's metrics say none of its VM threads is still JIT-warming. */
async function waitWarm(metricsUrl: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const text = await (await fetch(metricsUrl)).text();
    if (/^lichen_vm_threads_warming(\{[^}]*\})? 0$/m.test(text)) return;
    if (Date.now() > end) throw new Error(`${metricsUrl}: VM threads still warming after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** The parts of a run's view (GET /v1/runs/:id) the bench reads. */
interface Done {
  id: string;
  status: string;
  stdout: string;
  attempt: number;
  message?: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  stats: { wallMs: number; queueMs: number; instructions: number } | null;
}
type Result = Done & { text: string; latency: number };

/** A run ended as it should: succeeded, and printed exactly its own text. */
const rightRun = (r: Result): boolean => r.status === 'succeeded' && r.stdout === `${r.text}\n`;
/** How a run that is not `rightRun` ended, for the report. */
const howWrong = (r: Result): string =>
  `${r.id}: ${r.status}${r.message ? ` (${r.message})` : ''} stdout=${JSON.stringify(r.stdout)}`;
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (n: number): string => `${n.toFixed(1)} ms`;

async function waitHttp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** CPU time redis-server has used (INFO cpu, all of the server, not only this bench's keys). */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string): number => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
  return (get('used_cpu_sys') + get('used_cpu_user')) * 1000;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.ping().catch((e: Error) => {
    throw new Error(`Redis at ${REDIS_URL} is not reachable (${e.message}); start redis-server or set REDIS_URL`);
  });
  if (process.env.BENCH_SKIP_BUILD !== '1') {
    process.stderr.write('building api and runner (tsc -b)…\n');
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'apps/api/tsconfig.json', 'apps/runner/tsconfig.json'],
      { cwd: ROOT, stdio: 'inherit' },
    );
  }
  const store = new LocalImageStore(defaultImageDir());
  if (!store.get('busybox')) {
    process.stderr.write('building the busybox image…\n');
    await buildImage('busybox', { store });
  }
  const busybox = store.get('busybox');
  if (!busybox) throw new Error('no busybox image');

  const apiPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lichen-bench-'));
  const ncpu = cpus().length;
  const half = Math.floor(ncpu / 2);
  const perRunner = Number(process.env.BENCH_RUNNER_CONCURRENCY ?? ncpu);
  // Each runner holds `perRunner` jobs but runs VMs on its share of the cores only (one thread
  // per core runs VMs back to back while the main thread does the other jobs' Redis work).
  const vmThreads = Math.min(perRunner, Number(process.env.LICHEN_RUNNER_VM_THREADS || Math.max(1, half)));
  // Runner i on the i-th half of the CPUs (2 cores: runner-1 on CPU 0, runner-2 on CPU 1).
  const pin = process.env.BENCH_PIN_RUNNERS !== '0' && ncpu >= 2;
  const cpuList = (lo: number, hi: number): string => (lo === hi ? `${lo}` : `${lo}-${hi}`);
  const runnerCpus = pin ? [cpuList(0, half - 1), cpuList(half, ncpu - 1)] : ['', ''];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL,
    LICHEN_REDIS_PREFIX: PREFIX,
    LICHEN_API_KEYS: `bench=${KEY}`,
    LICHEN_API_PORT: String(apiPort),
    LICHEN_API_HOST: '127.0.0.1',
    LICHEN_IMAGE_DIR: defaultImageDir(),
    LICHEN_ARTIFACT_DIR: join(dir, 'artifacts'),
    LICHEN_RUNNER_CONCURRENCY: String(perRunner),
    LICHEN_RUNNER_VM_THREADS: String(vmThreads),
    LICHEN_VM_ENGINE: ENGINE === 'echo' ? join(ROOT, 'bench/echo-engine.cjs') : '',
    LICHEN_TENANT_CONCURRENCY: '1000',
    LICHEN_TENANT_RATE_LIMIT: '1000000',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  };
  const children: ChildProcess[] = [];
  const start = (what: string, entry: string, extra: NodeJS.ProcessEnv = {}): ChildProcess => {
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a);
    const logDir = process.env.BENCH_LOG_DIR;
    const stdout = logDir ? openSync(join(logDir, `${what}.log`), 'w') : 'ignore';
    const c = spawn(process.execPath, [...nodeArgs, entry], {
      cwd: ROOT,
      env: { ...env, ...extra },
      stdio: ['ignore', stdout, 'inherit'],
    });
    c.on('exit', (code, sig) => {
      if (!stopping) process.stderr.write(`${what} exited (${code ?? sig})\n`);
    });
    children.push(c);
    return c;
  };
  let stopping = false;
  const runnerPorts = [await freePort(), await freePort()];
  // One kept-alive connection per client, for the prime and the measured runs alike.
  const conns = Array.from({ length: CLIENTS }, () => new BenchHttpConnection('127.0.0.1', apiPort, KEY));
  try {
    start('api', join(ROOT, 'apps/api'));
    start('runner-1', join(ROOT, 'apps/runner'), {
      LICHEN_RUNNER_METRICS_PORT: String(runnerPorts[0]),
      LICHEN_RUNNER_CPUS: runnerCpus[0],
    });
    start('runner-2', join(ROOT, 'apps/runner'), {
      LICHEN_RUNNER_METRICS_PORT: String(runnerPorts[1]),
      LICHEN_RUNNER_CPUS: runnerCpus[1],
    });
    const base = `http://127.0.0.1:${apiPort}`;
    await waitHttp(`${base}/readyz`, 120_000);
    for (const p of runnerPorts) await waitHttp(`http://127.0.0.1:${p}/healthz`, 120_000);

    const submit = async (conn: BenchHttpConnection, text: string): Promise<Done & { latency: number }> => {
      const t0 = performance.now();
      const r = await conn.request('POST', '/v1/runs?wait=60', { image: 'busybox', argv: ['echo', text] });
      let body = r.body as Done & { error?: unknown };
      if (r.status === 202 && body.id) {
        // Still running when ?wait ran out (queue backed up): follow it until it is final.
        for (;;) {
          await new Promise((res) => setTimeout(res, 100));
          body = (await conn.request('GET', `/v1/runs/${body.id}`)).body as Done;
          if (body.status !== 'queued' && body.status !== 'running') break;
        }
      } else if (r.status !== 200) throw new Error(`run ${text}: HTTP ${r.status} ${JSON.stringify(body)}`);
      return { ...body, latency: performance.now() - t0 };
    };

    // The runners' VM threads JIT-warm themselves while idle (LICHEN_VM_WARMUP_RUNS); measure the
    // service once that is over, as it runs after its first seconds.
    process.stderr.write('waiting for the runners’ VM-thread warm-up…\n');
    const warm0 = performance.now();
    await Promise.all(runnerPorts.map((p) => waitWarm(`http://127.0.0.1:${p}/metrics`, 300_000)));
    const warmupWait = (performance.now() - warm0) / 1000;
    /** `n` runs from CLIENTS clients in a closed loop (each submits its next run when one ends). */
    const closedLoop = async (n: number, tag: string): Promise<{ results: Result[]; errors: string[] }> => {
      const results: Result[] = [];
      const errors: string[] = [];
      let next = 0;
      await Promise.all(
        conns.map(async (conn) => {
          for (;;) {
            const i = next++;
            if (i >= n) return;
            const text = `${tag}-${i}-${randomBytes(4).toString('hex')}`;
            try {
              results.push({ text, ...(await submit(conn, text)) });
            } catch (e) {
              errors.push((e as Error).message);
            }
          }
        }),
      );
      return { results, errors };
    };

    // Then the service is primed the way it is measured, until it is warm: windows of
    // BENCH_PRIME_WINDOW runs (output checked, not timed), at least BENCH_PRIME_RUNS in all, until
    // two windows in a row no longer beat the best earlier window's rate by more than 5% (at most
    // BENCH_PRIME_MAX_RUNS). A freshly started API and runner main thread take a few thousand runs
    // to reach their steady rate (V8 still compiling their hot code on helper threads: see
    // docs/decisions.md, "the service's JIT warm-up"); every prime window's figures are printed.
    process.stderr.write(`priming (at least ${PRIME} runs, until the rate is steady)…\n`);
    const windows: { runs: number; secs: number; p50: number }[] = [];
    let primed = 0;
    let best = 0;
    let flat = 0;
    while (primed < PRIME_MAX) {
      const w0 = performance.now();
      const win = await closedLoop(Math.max(PRIME_WINDOW, perRunner * 4), 'prime');
      const secs = (performance.now() - w0) / 1000;
      const wrongRuns = win.results.filter((r) => !rightRun(r));
      const bad = win.errors.length + wrongRuns.length;
      if (bad) {
        const wrongOnes = wrongRuns.slice(0, 3).map(howWrong);
        throw new Error(`${bad} of the prime runs failed: ${[...win.errors.slice(0, 3), ...wrongOnes].join(' | ')}`);
      }
      primed += win.results.length;
      const wl = win.results.map((r) => r.latency).sort((a, b) => a - b);
      const rate = win.results.length / secs;
      windows.push({ runs: win.results.length, secs, p50: pct(wl, 50) });
      flat = windows.length > 1 && rate <= best * 1.05 ? flat + 1 : 0;
      best = Math.max(best, rate);
      if (primed >= PRIME && flat >= 2) break;
    }
    const primeSteady = flat >= 2;
    process.stderr.write(`submitting ${RUNS} runs from ${CLIENTS} clients…\n`);
    const cpu0 = children.map((c) => cpuMs(c.pid));
    const redisCpu0 = await redisCpuMs(redis);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const { results, errors } = await closedLoop(RUNS, 'run');
    const elapsed = (performance.now() - t0) / 1000;
    const selfCpu = process.cpuUsage(self0);
    const cpuUsed = children.map((c, i) => cpuMs(c.pid) - (cpu0[i] ?? NaN));
    const redisCpu = (await redisCpuMs(redis)) - redisCpu0;

    // Exactly once: one final status event per run, attempt 1, right output, no extra runs.
    let wrong = 0;
    let dup = 0;
    const wrongWhy: string[] = [];
    for (const r of results) {
      if (!rightRun(r)) {
        wrong++;
        wrongWhy.push(howWrong(r));
      }
      const events = await redis.xrange(`${PREFIX}:run:${r.id}:events`, '-', '+');
      const finals = events.filter(([, f]) => /"type":"status","status":"(?!queued|running)/.test(f[1] ?? '')).length;
      const starts = events.filter(([, f]) => /"status":"running"/.test(f[1] ?? '')).length;
      if (finals !== 1 || starts !== 1 || r.attempt !== 1) dup++;
    }
    const ids = new Set(results.map((r) => r.id));
    let executed = 0;
    for (const p of runnerPorts) {
      const m = await (await fetch(`http://127.0.0.1:${p}/metrics`)).text();
      for (const line of m.split('\n')) {
        const mm = /^lichen_runs_total\{status="([a-z_]+)".*\} (\d+)/.exec(line);
        if (mm) executed += Number(mm[2]);
      }
    }
    const lat = results.map((r) => r.latency).sort((a, b) => a - b);

    // Reference: the same program under qemu-aarch64-static, started directly (no VM service).
    const qemu: number[] = [];
    const bbPath = join(dir, 'busybox');
    execFileSync('debugfs', ['-R', `dump /bin/busybox ${bbPath}`, busybox.path], { stdio: 'ignore' });
    chmodSync(bbPath, 0o755);
    for (let i = 0; i < 30; i++) {
      const q0 = performance.now();
      const r = spawnSync('qemu-aarch64-static', [bbPath, 'echo', 'x']);
      if (r.status !== 0) break;
      qemu.push(performance.now() - q0);
    }
    qemu.sort((a, b) => a - b);

    console.log(
      `\nbench:service — ${RUNS} × busybox echo, ${CLIENTS} clients, API + 2 runners × ${perRunner} jobs / ${vmThreads} VM thread${vmThreads === 1 ? '' : 's'} (${ncpu} cores; ${pin ? `runners pinned to CPUs ${runnerCpus.join(' | ')}` : 'runners not pinned'})`,
    );
    if (ENGINE === 'echo')
      console.log(
        '  ENGINE = echo: no VM runs (bench/echo-engine.cjs answers at once); this is the control plane alone',
      );
    console.log(
      `  completed        ${results.length}/${RUNS}   errors ${errors.length}   wrong output/status ${wrong}   not exactly-once ${dup}   distinct ids ${ids.size}`,
    );
    console.log(
      `  warm-up          VM threads' JIT warm-up waited for ${warmupWait.toFixed(1)} s; then ${primed} prime runs in windows of ${windows[0]?.runs ?? 0}, ${primeSteady ? 'until the rate was steady' : `NOT steady at the ${PRIME_MAX}-run cap`}:`,
    );
    console.log(
      `                   ${windows.map((w) => `${(w.runs / w.secs).toFixed(0)}/s p50 ${w.p50.toFixed(0)}`).join(' → ')} (runs/s, ms)`,
    );
    console.log(`  runs executed (runner metrics, incl. the prime runs): ${executed}`);
    console.log(`  throughput       ${(results.length / elapsed).toFixed(1)} runs/s  (${elapsed.toFixed(1)} s)`);
    console.log(
      `  latency          p50 ${ms(pct(lat, 50))}   p95 ${ms(pct(lat, 95))}   p99 ${ms(pct(lat, 99))}   max ${ms(lat[lat.length - 1] ?? NaN)}`,
    );
    const per = (n: number): string => `${(n / Math.max(1, results.length)).toFixed(1)} ms`;
    console.log(
      `  CPU per run      api ${per(cpuUsed[0] ?? NaN)}   runners (incl. VM threads) ${per((cpuUsed[1] ?? NaN) + (cpuUsed[2] ?? NaN))}   redis-server ${per(redisCpu)}   bench clients ${per((selfCpu.user + selfCpu.system) / 1000)}   (machine: ${(((cpuUsed.reduce((a, b) => a + b, 0) + redisCpu) / 1000 / elapsed / ncpu) * 100).toFixed(0)}% of ${ncpu} cores used by the service)`,
    );
    const vm = results.map((r) => r.stats?.wallMs ?? NaN).sort((a, b) => a - b);
    const queue = results.map((r) => r.stats?.queueMs ?? NaN).sort((a, b) => a - b);
    const instr = results.map((r) => r.stats?.instructions ?? NaN).sort((a, b) => a - b);
    console.log(
      `  inside the run   VM wall p50 ${ms(pct(vm, 50))}   queue wait p50 ${ms(pct(queue, 50))}   guest instructions p50 ${pct(instr, 50)}`,
    );
    // Where a run's time goes: API → runner claim (queue wait), claim → outcome written (VM and
    // runner), outcome → client has the response (notice, read, HTTP); the rest is before the
    // record existed (HTTP, auth, validation).
    const at = (iso: string | null): number => (iso ? Date.parse(iso) : NaN);
    const inRunner = results.map((r) => at(r.finishedAt) - at(r.startedAt)).sort((a, b) => a - b);
    const inService = results.map((r) => at(r.finishedAt) - at(r.createdAt)).sort((a, b) => a - b);
    console.log(
      `  run record       created → finished p50 ${ms(pct(inService, 50))}   claimed → finished p50 ${ms(pct(inRunner, 50))}   (client latency − created→finished p50 ≈ ${ms(pct(lat, 50) - pct(inService, 50))}: HTTP, auth, queueing the job, completion notice, reading the result)`,
    );
    if (qemu.length) {
      const q50 = pct(qemu, 50);
      console.log(
        `  qemu-aarch64-static busybox echo (process start, same machine): p50 ${ms(q50)}  → service p50 / qemu p50 = ${(pct(lat, 50) / q50).toFixed(1)}×`,
      );
    }
    console.log(`  target p50 ≤ 100 ms: ${pct(lat, 50) <= 100 ? 'met' : 'NOT met'}`);
    if (errors.length) console.log(`  first errors: ${errors.slice(0, 3).join(' | ')}`);
    if (wrongWhy.length) console.log(`  wrong runs: ${wrongWhy.slice(0, 3).join(' | ')}`);
    process.exitCode = errors.length || wrong || dup || results.length !== RUNS ? 1 : 0;
  } finally {
    stopping = true;
    for (const c of conns) c.close();
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    let cursor = '0';
    do {
      const [n, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
      cursor = n;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:service: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
