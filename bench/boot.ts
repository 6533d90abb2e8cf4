// npm run bench:boot [-- --runs N]
// Median time from VM creation to exit for `busybox true` (static, busybox image) and
// `/usr/bin/true` (dynamic, debian image), beside qemu-aarch64-static running the same
// binaries (dumped from the images with debugfs) in the same run. Images come from the local
// store (`lichen image build busybox|debian`); a missing image is reported and skipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVm } from '@lichen/kernel';
import { LocalImageStore } from '@lichen/images';
import { FileBlockDevice } from '@lichen/vfs';

const SYSROOT = '/usr/aarch64-linux-gnu';

interface Case {
  label: string;
  image: string;
  argv: string[];
  /** Path inside the image of the binary qemu runs. */
  binary: string;
  dynamic: boolean;
}

const CASES: Case[] = [
  {
    label: 'static busybox true',
    image: 'busybox',
    argv: ['/bin/busybox', 'true'],
    binary: '/bin/busybox',
    dynamic: false,
  },
  { label: 'dynamic /usr/bin/true', image: 'debian', argv: ['/usr/bin/true'], binary: '/usr/bin/true', dynamic: true },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function lichenOnce(imagePath: string, argv: string[]): Promise<{ ms: number; code: number; insns: number }> {
  const t0 = performance.now();
  const device = await FileBlockDevice.open(imagePath);
  const r = await runVm(
    { argv, rootfs: { kind: 'ext4', device } },
    { stdout: () => undefined, stderr: () => undefined },
  );
  const ms = performance.now() - t0;
  await device.close();
  if (r.status !== 'exited') throw new Error(`${argv.join(' ')}: ${r.status} ${r.message ?? ''}`);
  return { ms, code: r.cliExitCode, insns: r.stats.instructions };
}

function qemuOnce(binary: string, args: string[], dynamic: boolean): number {
  const t0 = performance.now();
  const r = spawnSync('qemu-aarch64-static', [...(dynamic ? ['-L', SYSROOT] : []), binary, ...args], {
    stdio: 'ignore',
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`qemu ${binary}: status ${r.status}`);
  return ms;
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
  const store = new LocalImageStore();
  const work = mkdtempSync(join(tmpdir(), 'lichen-boot-'));
  console.log(`bench:boot — median of ${runs} runs, VM creation to exit (Lichen) vs process start to exit (qemu)`);
  console.log('case                     lichen ms   qemu ms   ratio   guest insns');
  try {
    for (const c of CASES) {
      const img = store.get(c.image);
      if (!img) {
        console.log(
          `${c.label.padEnd(24)} skipped: no local image '${c.image}' (run: npx lichen image build ${c.image})`,
        );
        continue;
      }
      const host = join(work, c.image + '-' + c.binary.split('/').pop());
      execFileSync('debugfs', ['-R', `dump ${c.binary} ${host}`, img.path], { stdio: 'ignore' });
      execFileSync('chmod', ['+x', host]);
      // warm-up (JIT of the VM itself, page cache)
      await lichenOnce(img.path, c.argv);
      qemuOnce(host, c.argv.slice(1), c.dynamic);
      const lt: number[] = [];
      const qt: number[] = [];
      let insns = 0;
      for (let i = 0; i < runs; i++) {
        const l = await lichenOnce(img.path, c.argv);
        insns = l.insns;
        lt.push(l.ms);
        qt.push(qemuOnce(host, c.argv.slice(1), c.dynamic));
      }
      const lm = median(lt);
      const qm = median(qt);
      console.log(
        `${c.label.padEnd(24)} ${lm.toFixed(1).padStart(9)} ${qm.toFixed(1).padStart(9)} ${(lm / qm).toFixed(2).padStart(7)}x ${String(insns).padStart(12)}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
