// splice, tee, vmsplice, copy_file_range, fadvise64, readahead and sched_rr_get_interval
// (test/guest/sys_splice.c) under Lichen and under qemu-aarch64-static (the reference,
// forwarding to the host kernel): stdout, stderr and exit status must be equal. The Lichen
// runs get 20 s of wall time: a guest left blocked by a wrong transfer fails with its output.
import { describe, expect, it } from 'vitest';
import { fixture, runQemu } from '../support';
import { compareWithQemu, runLichen } from './lichen';

const limits = { wallMs: 20_000 };

describe('splice family (sys_splice): Lichen vs qemu', () => {
  it('static, deterministic mode', () => compareWithQemu('sys_splice', 'static', [], limits));
  it('static, wall-clock mode (the blocking cases wake on real timers)', async () => {
    const bin = fixture('sys_splice', 'static');
    const [q, l] = await Promise.all([runQemu(bin), runLichen(bin, { limits })]);
    expect(l.stdout).toBe(q.stdout);
    expect(l.exitCode).toBe(q.exitCode);
  });
  it('copy_file_range copies between two filesystems (Linux 5.19+ may give EXDEV there)', async () => {
    const l = await runLichen(fixture('sys_splice', 'static'), { args: ['xdev'] });
    expect(l.stdout).toBe('copy_file_range(src, &oi, mf, NULL, 3, 0) -> 3 \nmemfd [ELF] off 4\n');
    expect(l.exitCode).toBe(0);
  });
});
