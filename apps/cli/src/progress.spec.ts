import { describe, expect, it } from 'vitest';
import type { CliIo } from './io';
import { progressReporter } from './progress';

function capture(isTTY: boolean): { io: CliIo; err: () => string } {
  let err = '';
  return {
    io: { stdout: () => undefined, stderr: (t) => (err += t), isTTY, env: {}, cwd: '/' },
    err: () => err,
  };
}

describe('progress', () => {
  it('redraws one line on a terminal and clears it at the end', () => {
    const c = capture(true);
    const p = progressReporter(c.io);
    p.report({ phase: 'download', message: 'a', current: 1, total: 3 });
    p.report({ phase: 'download', message: 'b', current: 2, total: 3 });
    p.done();
    expect(c.err()).toBe('\r\x1b[2Kdownload: a [1/3]\r\x1b[2Kdownload: b [2/3]\r\x1b[2K');
  });

  it('prints one plain line per phase otherwise, and nothing when quiet', () => {
    const c = capture(false);
    const p = progressReporter(c.io);
    p.report({ phase: 'download', message: 'a', current: 1, total: 3 });
    p.report({ phase: 'download', message: 'b', current: 2, total: 3 });
    p.report({ phase: 'pack', message: 'mke2fs' });
    p.done();
    expect(c.err()).toBe('download: a [1/3]\npack: mke2fs\n');
    const q = capture(true);
    progressReporter(q.io, true).report({ phase: 'x', message: 'y' });
    expect(q.err()).toBe('');
  });
});
