// Pseudo-terminals (test/guest/sys_pty.c) under Lichen and under qemu-aarch64-static (the
// reference, forwarding to the host kernel's ptys): stdout and exit status must be equal. The
// Lichen runs get 20 s of wall time: a guest left blocked by a missing wakeup fails with its output.
import { describe, expect, it } from 'vitest';
import { fixture } from '../support';
import { compareWithQemu, runLichen } from './lichen';

const limits = { wallMs: 20_000 };

describe('pseudo-terminals (sys_pty): Lichen vs qemu', () => {
  it('static', () => compareWithQemu('sys_pty', 'static', [], limits));
  // qemu-user does not forward TIOCGSID (tcgetsid), so this line has a fixed expectation.
  it('TIOCGSID of the controlling terminal is the session (Lichen only)', async () => {
    const l = await runLichen(fixture('sys_pty', 'static'), { limits, env: { LICHEN_ONLY: '1' } });
    expect(l.stdout).toContain('child: /dev/tty 1\nchild: TIOCGSID is self 1\nchild: grandchild signaled 1 sig 2\n');
    expect(l.exitCode).toBe(0);
  });
});
