// The loopback network (AF_INET/AF_INET6, TCP and UDP): test/guest/sys_inet.c under Lichen
// compared with qemu-aarch64-static, whose sockets are the host's loopback sockets. Lichen
// runs in deterministic mode (reproducible ephemeral ports and interleaving) and in normal mode.
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

  it('is reproducible in deterministic mode (same output, same instruction count)', async () => {
    const a = await runLichen(bin, { deterministic: { seed: 7 } });
    const b = await runLichen(bin, { deterministic: { seed: 7 } });
    expect(a.stdout).toBe(b.stdout);
    expect(a.result.stats.instructions).toBe(b.result.stats.instructions);
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
