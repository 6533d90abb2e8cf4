/**
 * The VM side of `lichen run`. Placeholder until the kernel (libs/kernel) can boot a VM:
 * it says so plainly and fails. The kernel issue replaces this file; its contract is
 * `executeRun(options, io) → exit status` (the guest's status, 128+N on signal N, or one of
 * the quota statuses).
 */
import type { CliIo } from '../io';
import type { RunOptions } from '../run-options';

export async function executeRun(options: RunOptions, io: CliIo): Promise<number> {
  io.stderr(
    `lichen: the VM is not available yet (libs/kernel cannot boot programs in this build); ` +
      `would run ${JSON.stringify(options.argv)} on image ${options.image.requested}\n`,
  );
  return 125;
}
