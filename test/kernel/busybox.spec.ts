// Busybox workloads on the busybox image (built by the test when missing): shell scripts (pipelines, subshells, command
// substitution, here-docs, background jobs and wait, traps and kill) and applets, run under
// Lichen on the image and under qemu-aarch64-static with the same busybox binary (dumped
// from the image); outputs and exit statuses must be equal.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVm } from '@lichen/kernel';
import { buildImage, LocalImageStore } from '@lichen/images';
import { FileBlockDevice } from '@lichen/vfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQemu } from '../support';

let imagePath: string;
let work: string;
let busybox: string;

beforeAll(async () => {
  const store = new LocalImageStore();
  const img = store.get('busybox') ?? (await buildImage('busybox'));
  imagePath = img.path;
  work = mkdtempSync(join(tmpdir(), 'lichen-bb-'));
  busybox = join(work, 'busybox');
  execFileSync('debugfs', ['-R', `dump /bin/busybox ${busybox}`, imagePath], { stdio: 'ignore' });
  chmodSync(busybox, 0o755);
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function lichenSh(
  script: string,
  stdin = '',
  deterministic?: { seed: number },
): Promise<{ stdout: string; stderr: string; code: number }> {
  const device = await FileBlockDevice.open(imagePath);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const r = await runVm(
    {
      argv: ['/bin/busybox', 'sh', '-c', script],
      env: ['PATH=/bin:/usr/bin', 'HOME=/root'],
      rootfs: { kind: 'ext4', device },
      limits: { wallMs: 60_000 },
      deterministic,
    },
    { stdin, stdout: (b) => out.push(Buffer.from(b)), stderr: (b) => err.push(Buffer.from(b)) },
  );
  await device.close();
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: r.cliExitCode };
}

const WORKDIR = '/tmp/lichen-bb-work';
const wrap = (body: string): string =>
  `set -e; rm -rf ${WORKDIR}; mkdir ${WORKDIR}; cd ${WORKDIR}\n${body}\ncd /; rm -rf ${WORKDIR}`;

const SCRIPTS: Record<string, string> = {
  'pipelines and command substitution': `
    seq 1 20 | sort -rn | head -3
    echo "sum: $(seq 1 100 | awk '{s+=$1} END {print s}')"
    printf 'b\\na\\nc\\n' | sort | tr 'a-c' 'A-C' | cut -c1
    echo $(( (7 + 5) * 3 % 11 ))`,
  'subshells, here-docs, functions and exit codes': `
    f() { echo "in f: $1"; return 3; }
    f arg || echo "f returned $?"
    (cd /; pwd; exit 4) || echo "subshell exit $?"
    pwd | sed 's,.*/,,'
    cat <<END
here $((1+1))
doc
END
    x=outer; (x=inner; echo $x); echo $x`,
  'background jobs, wait, traps and kill': `
    sleep 0.05 & p1=$!
    (sleep 0.01; exit 7) & p2=$!
    wait $p2; echo "job2 exit $?"
    wait $p1; echo "job1 exit $?"
    trap 'echo caught USR1' USR1
    kill -USR1 $$
    sh -c 'kill -TERM $$' || echo "child killed: $?"
    trap - USR1`,
  'files, find, sha256sum, dd, wc': `
    mkdir -p a/b; echo one > a/1.txt; echo two > a/b/2.txt; ln -s 1.txt a/link
    find a -type f | sort
    find a -name '*.txt' | sort | while read f; do cat $f; done
    echo hello | sha256sum
    dd if=/dev/zero bs=1024 count=8 2>/dev/null | wc -c
    ls -1 a | sort
    readlink a/link
    rm -r a; ls`,
  'SIGPIPE from head and yes': `
    yes | head -3
    seq 1 100000 | head -1
    echo status $?`,
};

describe('busybox on the busybox image: Lichen vs qemu', () => {
  for (const [name, body] of Object.entries(SCRIPTS)) {
    it(name, async () => {
      const script = wrap(body);
      const q = await runQemu(busybox, { args: ['sh', '-c', script], env: { PATH: '/bin:/usr/bin', HOME: '/root' } });
      const l = await lichenSh(script);
      expect(l.stdout).toBe(q.stdout);
      expect(l.stderr).toBe(q.stderr);
      expect(l.code).toBe(q.exitCode);
    });
  }
  it('runs xargs (exec of applets; fixed expectation: qemu-user cannot exec aarch64 children)', async () => {
    const l = await lichenSh('printf "1\\n2\\n" | xargs echo got; echo x | xargs -I{} sh -c "echo {}{}"');
    expect(l.stdout).toBe('got 1 2\nxx\n');
  });
  it('reads stdin', async () => {
    const l = await lichenSh('wc -l; cat /etc/passwd | head -1 | cut -d: -f1', 'a\nb\nc\n');
    expect(l.stdout).toBe('3\nroot\n');
  });
});

describe('deterministic mode on the busybox image', () => {
  it('every mount is stamped by the VM clock: /sys, /dev, /proc and /tmp times repeat and are not the host time', async () => {
    const script = 'stat -c "%n %Y %Z" /sys /sys/devices /dev /dev/null /proc /tmp';
    const a = await lichenSh(script, '', { seed: 5 });
    await new Promise((r) => setTimeout(r, 1100));
    const b = await lichenSh(script, '', { seed: 5 });
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const hostNow = Date.now() / 1000;
    for (const line of a.stdout.trim().split('\n')) {
      const [, mtime] = line.split(' ');
      expect(Math.abs(Number(mtime) - hostNow), line).toBeGreaterThan(86_400);
    }
  });
});

describe('VMs sharing one open image device (as a runner thread does)', () => {
  it('each VM sees the image, its own writes only, and none of the previous VM’s', async () => {
    const device = await FileBlockDevice.open(imagePath);
    const run = async (script: string): Promise<string> => {
      const out: Buffer[] = [];
      await runVm(
        { argv: ['/bin/busybox', 'sh', '-c', script], env: ['PATH=/bin'], rootfs: { kind: 'ext4', device } },
        { stdout: (b) => out.push(Buffer.from(b)), stderr: (b) => out.push(Buffer.from(b)) },
      );
      return Buffer.concat(out).toString();
    };
    try {
      const first = await run('echo secret > /etc/leak; rm /etc/passwd; ls /etc/leak /etc/passwd 2>&1; echo done');
      expect(first).toContain('/etc/leak');
      expect(first).toMatch(/passwd.*No such file/);
      const second = await run('ls /etc/leak 2>&1; head -1 /etc/passwd | cut -d: -f1');
      expect(second).toMatch(/leak.*No such file/);
      expect(second).toContain('root\n');
    } finally {
      await device.close();
    }
  });
});
