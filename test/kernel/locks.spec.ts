// Advisory file locks between processes of one VM (sys_locks): fcntl record locks, OFD locks
// and flock(), compared with qemu-aarch64-static (whose locks are the host kernel's).
import { describe, expect, it } from 'vitest';
import { fixture } from '../support';
import { compareWithQemu, runLichen } from './lichen';

describe('advisory locks (sys_locks): Lichen vs qemu', () => {
  it('static, deterministic mode', () => compareWithQemu('sys_locks', 'static'));
  it('repeats exactly in deterministic mode (output and instruction counts)', async () => {
    const bin = fixture('sys_locks', 'static');
    const a = await runLichen(bin, { deterministic: { seed: 5 } });
    const b = await runLichen(bin, { deterministic: { seed: 5 } });
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toContain('parent setlkw closing the cycle: EDEADLK\n');
    expect(a.result.stats.instructions).toBe(b.result.stats.instructions);
  });
});
