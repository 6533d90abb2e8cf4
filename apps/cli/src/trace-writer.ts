import { closeSync, openSync, writeSync } from 'node:fs';

/** Where `lichen run --trace` lines go: a file (buffered, written in 64 KiB blocks) or stderr. */
export interface TraceWriter {
  line(text: string): void;
  /** Writes what is buffered and closes the file. */
  close(): void;
}

const FLUSH_AT = 64 * 1024;

export function openTraceWriter(target: string, stderr: (text: string) => void): TraceWriter {
  if (target === '-') return { line: (text) => stderr(`${text}\n`), close: () => undefined };
  const fd = openSync(target, 'w');
  let pending: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    writeSync(fd, pending.join(''));
    pending = [];
    size = 0;
  };
  return {
    line(text) {
      pending.push(`${text}\n`);
      size += text.length + 1;
      if (size >= FLUSH_AT) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}
