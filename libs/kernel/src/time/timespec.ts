import type { AddressSpace } from '@lichen/machine';
import { Errno, KernelError } from '../errno';
import { copyIn, copyOut, type UserAddr } from '../uaccess';

export interface Timespec {
  sec: number;
  nsec: number;
}

/** struct timespec (16 bytes); EINVAL for a negative or out-of-range tv_nsec. */
export function readTimespec(as: AddressSpace, addr: UserAddr, allowSpecial = false): Timespec {
  const b = copyIn(as, addr, 16);
  const v = new DataView(b.buffer);
  const sec = Number(v.getBigInt64(0, true));
  const nsec = Number(v.getBigInt64(8, true));
  if (!allowSpecial && (nsec < 0 || nsec >= 1e9 || sec < 0)) throw new KernelError(Errno.EINVAL);
  return { sec, nsec };
}

export function writeTimespec(as: AddressSpace, addr: UserAddr, ts: Timespec): void {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(Math.floor(ts.sec)), true);
  v.setBigInt64(8, BigInt(Math.floor(ts.nsec)), true);
  copyOut(as, addr, b);
}

export function nsToTimespec(ns: number): Timespec {
  const sec = Math.floor(ns / 1e9);
  return { sec, nsec: Math.floor(ns - sec * 1e9) };
}

/** struct timeval (16 bytes). */
export function writeTimeval(as: AddressSpace, addr: UserAddr, sec: number, usec: number): void {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(Math.floor(sec)), true);
  v.setBigInt64(8, BigInt(Math.floor(usec)), true);
  copyOut(as, addr, b);
}

export function readTimeval(as: AddressSpace, addr: UserAddr): { sec: number; usec: number } {
  const b = copyIn(as, addr, 16);
  const v = new DataView(b.buffer);
  const sec = Number(v.getBigInt64(0, true));
  const usec = Number(v.getBigInt64(8, true));
  if (usec < 0 || usec >= 1e6 || sec < 0) throw new KernelError(Errno.EINVAL);
  return { sec, usec };
}
