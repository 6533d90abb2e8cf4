/**
 * `npm run bench:cpu`: CPU-bound guest benchmarks under Lichen's CPU and qemu-aarch64-static,
 * measured in the same run. Prints guest MIPS for Lichen (wall clock and process CPU time)
 * and the wall-time ratio Lichen/qemu. Options: --only NAME[,NAME] --scale N (multiplies
 * the default rounds) --repeat N (best of N runs, default 2).
 */
import { spawnSync } from 'node:child_process';
import { buildGuest, runLichen } from '../test/cpu/guest-runner';

interface Bench {
  name: string;
  fixture: string;
  rounds: number;
  what: string;
}

const BENCHES: Bench[] = [
  { name: 'int-mix', fixture: 'cpu_bench_int', rounds: 40, what: 'xorshift/FNV hashing, table CRC32, heap sort' },
  { name: 'fp-kernel', fixture: 'cpu_bench_fp', rounds: 6, what: 'n-body steps + 48x48 double matmul' },
  { name: 'string', fixture: 'cpu_bench_str', rounds: 300, what: 'glibc memcpy/strlen/memchr/memcmp/strcmp/memset' },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function timeQemu(bin: string, args: string[]): { seconds: number; stdout: string; ok: boolean } {
  const t = process.hrtime.bigint();
  const r = spawnSync('qemu-aarch64-static', [bin, ...args], { encoding: 'latin1', maxBuffer: 1 << 26 });
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, stdout: r.stdout, ok: r.status === 0 };
}

function main(): void {
  const only = arg('only')?.split(',');
  const scale = Number(arg('scale') ?? '1');
  const repeat = Number(arg('repeat') ?? '2');
  if (!(scale > 0) || !(repeat >= 1)) throw new Error('--scale must be > 0 and --repeat >= 1');
  const rows: string[][] = [];
  for (const b of BENCHES) {
    if (only && !only.includes(b.name)) continue;
    const bin = buildGuest(b.fixture, '-O2');
    const args = [String(Math.max(1, Math.round(b.rounds * scale)))];
    let q = timeQemu(bin, args);
    for (let i = 1; i < repeat; i++) {
      const again = timeQemu(bin, args);
      if (again.seconds < q.seconds) q = again;
    }
    let best = { wall: Infinity, cpu: Infinity, insns: 0, stdout: '', error: undefined as string | undefined };
    for (let i = 0; i < repeat; i++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const r = runLichen(bin, args);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cu = process.cpuUsage(c0);
      const cpu = (cu.user + cu.system) / 1e6;
      if (r.error) {
        best = { wall, cpu, insns: r.instructions, stdout: r.stdout, error: r.error };
        break;
      }
      if (wall < best.wall) best = { wall, cpu, insns: r.instructions, stdout: r.stdout, error: undefined };
    }
    if (best.error) {
      rows.push([b.name, `FAILED: ${best.error}`, '', '', '', '', '']);
      continue;
    }
    const same = best.stdout === q.stdout && q.ok;
    rows.push([
      b.name,
      (best.insns / 1e6).toFixed(1),
      best.wall.toFixed(2),
      (best.insns / best.wall / 1e6).toFixed(1),
      (best.insns / best.cpu / 1e6).toFixed(1),
      q.seconds.toFixed(3),
      (best.wall / q.seconds).toFixed(1) + (same ? '' : ' (OUTPUT DIFFERS)'),
    ]);
  }
  const head = ['benchmark', 'guest Minsn', 'lichen s', 'MIPS wall', 'MIPS cpu', 'qemu s', 'lichen/qemu'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ');
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
  for (const b of BENCHES) if (!only || only.includes(b.name)) console.log(`  ${b.name}: ${b.what}`);
}

main();
