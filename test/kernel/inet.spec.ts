// The loopback network (AF_INET/AF_INET6, TCP and UDP): test/guest/sys_inet.c under Lichen
// compared with qemu-aarch64-static, whose sockets are the host's loopback sockets. Lichen
// runs in deterministic mode and in normal mode; two deterministic runs must give the same
// output and the same instruction count.
import { runVm } from '@lichen/kernel';
import { buildImage, LocalImageStore } from '@lichen/images';
import { FileBlockDevice } from '@lichen/vfs';
import { describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';
import { runLichen } from './lichen';

describe('loopback network (sys_inet): Lichen vs qemu', () => {
  const bin = fixture('sys_inet', 'static');

  for (const deterministic of [{ seed: 1 }, undefined]) {
    it(`TCP/UDP over 127.0.0.1 and ::1 match (${deterministic ? 'deterministic' : 'normal'} mode)`, async () => {
      const q = await runQemu(bin);
      const l = await runLichen(bin, { deterministic });
      expect(l.result.message ?? '', 'Lichen run message').not.toMatch(/internal|deadlock/);
      expect(q.stdout).toContain('done\n');
      expect(l.stdout).toBe(q.stdout);
      expect(l.stderr).toBe(q.stderr);
      expect(l.exitCode).toBe(q.exitCode);
    });
  }

  it('repeats output and instruction count exactly in deterministic mode (processes streaming over TCP)', async () => {
    const a = await runLichen(bin, { deterministic: { seed: 7 } });
    const b = await runLichen(bin, { deterministic: { seed: 7 } });
    expect(b.stdout).toBe(a.stdout);
    expect(b.result.stats.instructions).toBe(a.result.stats.instructions);
    expect(b.result.stats.syscalls).toEqual(a.result.stats.syscalls);
  });

  it('the dynamically linked build matches too (normal mode)', async () => {
    const dyn = fixture('sys_inet', 'dynamic');
    const q = await runQemu(dyn);
    const l = await runLichen(dyn);
    expect(q.stdout).toContain('done\n');
    expect(l.stdout).toBe(q.stdout);
    expect(l.exitCode).toBe(q.exitCode);
  });

  // Fixed expectation: the host qemu runs on may have a default route; the VM has none.
  it('has no route off the loopback (ENETUNREACH)', async () => {
    const l = await runLichen(bin, { args: ['noroute'] });
    expect(l.stdout).toBe(
      'connect 10.0.0.1: -1 Network is unreachable\n' +
        'udp sendto 10.0.0.1: -1 Network is unreachable\n' +
        'connect 2001:db8::1: -1 Network is unreachable\n',
    );
    expect(l.exitCode).toBe(0);
  });
});

// Real programs on the busybox image: httpd serving wget and nc, nc talking to nc. Fixed
// expectations (fixed ports are private to the VM; under qemu they would be the host's).
describe('loopback network: busybox httpd, wget and nc', () => {
  it('serves a file over HTTP and passes a line through nc (deterministic)', async () => {
    const img = new LocalImageStore().get('busybox') ?? (await buildImage('busybox'));
    const device = await FileBlockDevice.open(img.path);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const script = [
      'mkdir -p /tmp/www && echo hello-from-httpd > /tmp/www/index.html',
      'httpd -f -p 127.0.0.1:8080 -h /tmp/www & h=$!',
      'for i in 1 2 3 4 5 6 7 8; do wget -q -O - http://127.0.0.1:8080/index.html 2>/dev/null && break; sleep 0.1; done',
      'echo "GET /missing HTTP/1.0" | nc 127.0.0.1 8080 | head -1',
      'kill $h',
      'nc -l -p 9000 > /tmp/got &',
      'for i in 1 2 3 4 5 6 7 8; do echo "via nc" | nc 127.0.0.1 9000 2>/dev/null && break; sleep 0.1; done',
      'wait; echo "server got: $(cat /tmp/got)"',
    ].join('\n');
    const r = await runVm(
      {
        argv: ['/bin/busybox', 'sh', '-c', script],
        env: ['PATH=/bin:/usr/bin', 'HOME=/root'],
        rootfs: { kind: 'ext4', device },
        limits: { wallMs: 60_000 },
        deterministic: { seed: 3 },
      },
      { stdin: '', stdout: (b) => out.push(Buffer.from(b)), stderr: (b) => err.push(Buffer.from(b)) },
    );
    await device.close();
    expect(Buffer.concat(err).toString()).toBe('');
    expect(Buffer.concat(out).toString()).toBe('hello-from-httpd\nHTTP/1.1 404 Not Found\r\nserver got: via nc\n');
    expect(r.cliExitCode).toBe(0);
  }, 600_000);
});
