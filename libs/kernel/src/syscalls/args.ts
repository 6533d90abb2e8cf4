import type { Cpu } from '@lichen/machine';
import { userAddr, type UserAddr } from '../uaccess';

/**
 * Syscall arguments (x0..x5). Read them at the top of a handler, before any `await`: once a
 * handler waits, another task owns the CPU registers.
 */
export class SyscallArgs {
  constructor(private readonly cpu: Cpu) {}
  /** Unsigned 64-bit value as a number (exact below 2^53: pointers, sizes). */
  x(n: number): number {
    return this.cpu.getXNumber(n);
  }
  /** Signed 32-bit int (fds, flags, int arguments). */
  i(n: number): number {
    return this.cpu.getW(n);
  }
  /** Unsigned 32-bit. */
  u(n: number): number {
    return this.cpu.getW(n) >>> 0;
  }
  /** Signed 64-bit value as a number (off_t, long). */
  l(n: number): number {
    return Number(BigInt.asIntN(64, this.cpu.getX(n)));
  }
  /** Full 64-bit value. */
  big(n: number): bigint {
    return this.cpu.getX(n);
  }
  /** A user pointer (a number; values beyond the user range fail in uaccess with EFAULT). */
  p(n: number): UserAddr {
    return userAddr(this.cpu.getXNumber(n));
  }
  /** size_t argument: values with the top bit set (negative ssize_t) are reported as Infinity-like huge. */
  size(n: number): number {
    return this.cpu.getXNumber(n);
  }
}
