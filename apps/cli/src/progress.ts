import type { BuildProgress } from '@lichen/images';
import type { CliIo } from './io';

/**
 * Progress of long work on stderr: one line redrawn in place on a terminal, otherwise one
 * line per phase (so logs stay readable). `done()` ends the line.
 */
export function progressReporter(io: CliIo, quiet = false): { report: (p: BuildProgress) => void; done: () => void } {
  let lastPhase = '';
  let drawn = false;
  return {
    report(p) {
      if (quiet) return;
      const count = p.total ? ` [${p.current ?? 0}/${p.total}]` : '';
      const line = `${p.phase}: ${p.message}${count}`;
      if (io.isTTY) {
        const width = 100;
        io.stderr(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
        drawn = true;
      } else if (p.phase !== lastPhase) {
        io.stderr(`${line}\n`);
      }
      lastPhase = p.phase;
    },
    done() {
      if (drawn) io.stderr('\r\x1b[2K');
      drawn = false;
    },
  };
}
