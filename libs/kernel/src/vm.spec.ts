import { describe, expect, it } from 'vitest';
import { Errno } from './errno';
import { createVm } from './vm';

describe('the end of a run', () => {
  it('drops the kernel references to tasks, processes, timers and the namespace (Kernel.release)', async () => {
    const vm = createVm(
      { argv: ['/no/such/program'], rootfs: { kind: 'tmpfs' } },
      { stdout: () => undefined, stderr: () => undefined },
    );
    const k = vm.kernel;
    const r = await vm.run();
    expect(r.status).toBe('internal_error');
    expect(r.cliExitCode).toBe(127);
    expect(k.tasks.size).toBe(0);
    expect(k.processes.size).toBe(0);
    expect(k.init).toBeNull();
    expect(k.current).toBeNull();
    expect(k.timers.size).toBe(0);
    // a late operation fails cleanly (ENOENT) instead of reaching the old namespace
    expect(() => k.vfs.newContext()).toThrow(expect.objectContaining({ errno: Errno.ENOENT }));
  });
});
