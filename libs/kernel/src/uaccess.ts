/**
 * The one checked path between kernel and guest memory. Every guest pointer is a `UserAddr`;
 * every copy goes through here and a fault (unmapped page, wrong permission, address beyond
 * the 48-bit user range) becomes EFAULT — never a host exception.
 */
import { PAGE_SIZE, PROT_READ, PROT_WRITE, guestAddr, type AddressSpace } from '@lichen/machine';
import { Errno, KernelError } from './errno';

/** A guest virtual address supplied by user space (untrusted). */
export type UserAddr = number & { readonly __brand: 'UserAddr' };
export const userAddr = (n: number): UserAddr => n as UserAddr;

/** First address above user space (48-bit VA, as Linux's TASK_SIZE on arm64 with 4K pages). */
export const USER_TOP = 2 ** 48;

const efault = (): KernelError => new KernelError(Errno.EFAULT);

function checkRange(addr: number, len: number): void {
  if (!Number.isSafeInteger(addr) || addr < 0 || len < 0 || addr + len > USER_TOP) throw efault();
}

/** Checks that every page of [addr, addr+len) is mapped with `prot` (the kernel copies ignore PROT bits). */
function checkAccess(as: AddressSpace, addr: number, len: number, prot: number): void {
  if (len === 0) return;
  let page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const end = addr + len;
  for (; page < end; page += PAGE_SIZE) {
    const q = as.query(guestAddr(page));
    if (q === undefined || (q.prot & prot) !== prot) throw efault();
  }
}

export function copyIn(as: AddressSpace, addr: UserAddr, len: number): Uint8Array {
  checkRange(addr, len);
  const buf = new Uint8Array(len);
  if (len === 0) return buf;
  checkAccess(as, addr, len, PROT_READ);
  if (as.read(guestAddr(addr), buf) !== null) throw efault();
  return buf;
}

/** Reads into an existing buffer (no allocation). */
export function copyInto(as: AddressSpace, addr: UserAddr, dst: Uint8Array): void {
  checkRange(addr, dst.length);
  if (dst.length === 0) return;
  checkAccess(as, addr, dst.length, PROT_READ);
  if (as.read(guestAddr(addr), dst) !== null) throw efault();
}

export function copyOut(as: AddressSpace, addr: UserAddr, src: Uint8Array): void {
  checkRange(addr, src.length);
  if (src.length === 0) return;
  checkAccess(as, addr, src.length, PROT_WRITE);
  if (as.write(guestAddr(addr), src) !== null) throw efault();
}

/** Kernel write that ignores PROT (loader, signal trampoline); still EFAULT on unmapped pages. */
export function pokeKernel(as: AddressSpace, addr: number, src: Uint8Array): void {
  checkRange(addr, src.length);
  if (as.write(guestAddr(addr), src) !== null) throw efault();
}

const scratch8 = new Uint8Array(8);
const scratchView = new DataView(scratch8.buffer);

export function readU32(as: AddressSpace, addr: UserAddr): number {
  copyInto(as, addr, scratch8.subarray(0, 4));
  return scratchView.getUint32(0, true);
}
export function readI32(as: AddressSpace, addr: UserAddr): number {
  copyInto(as, addr, scratch8.subarray(0, 4));
  return scratchView.getInt32(0, true);
}
/** A 64-bit value as a number (exact below 2^53; used for pointers and sizes). */
export function readU64(as: AddressSpace, addr: UserAddr): number {
  copyInto(as, addr, scratch8);
  return scratchView.getUint32(4, true) * 2 ** 32 + scratchView.getUint32(0, true);
}
export function readI64(as: AddressSpace, addr: UserAddr): number {
  copyInto(as, addr, scratch8);
  return scratchView.getInt32(4, true) * 2 ** 32 + scratchView.getUint32(0, true);
}
export function readU64Big(as: AddressSpace, addr: UserAddr): bigint {
  copyInto(as, addr, scratch8);
  return scratchView.getBigUint64(0, true);
}
export function writeU32(as: AddressSpace, addr: UserAddr, v: number): void {
  scratchView.setUint32(0, v >>> 0, true);
  copyOut(as, addr, scratch8.subarray(0, 4));
}
export function writeI32(as: AddressSpace, addr: UserAddr, v: number): void {
  scratchView.setInt32(0, v | 0, true);
  copyOut(as, addr, scratch8.subarray(0, 4));
}
/** Writes a 64-bit value given as a number (negative values are sign-extended). */
export function writeU64(as: AddressSpace, addr: UserAddr, v: number): void {
  setU64(scratchView, 0, v);
  copyOut(as, addr, scratch8);
}
export function writeU64Big(as: AddressSpace, addr: UserAddr, v: bigint): void {
  scratchView.setBigUint64(0, BigInt.asUintN(64, v), true);
  copyOut(as, addr, scratch8);
}

/** Stores a number as a 64-bit little-endian value (two's complement for negatives). */
export function setU64(view: DataView, off: number, v: number): void {
  if (v < 0) {
    view.setBigInt64(off, BigInt(Math.trunc(v)), true);
    return;
  }
  view.setUint32(off, (v % 2 ** 32) >>> 0, true);
  view.setUint32(off + 4, Math.floor(v / 2 ** 32) >>> 0, true);
}
export function getU64(view: DataView, off: number): number {
  return view.getUint32(off + 4, true) * 2 ** 32 + view.getUint32(off, true);
}

/**
 * A NUL-terminated string of at most `max` bytes (not counting the NUL). Too long:
 * `tooLong` (ENAMETOOLONG for paths, E2BIG for argv/envp).
 */
export function readCString(as: AddressSpace, addr: UserAddr, max = 4095, tooLong = Errno.ENAMETOOLONG): string {
  return utf8.decode(readCStringBytes(as, addr, max, tooLong));
}
const utf8 = new TextDecoder();

/** A path argument as the VFS wants it: one char per byte (latin1), at most PATH_MAX-1 bytes. */
export function readPath(as: AddressSpace, addr: UserAddr): string {
  const b = readCStringBytes(as, addr, 4095);
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

/** readCStringBytes reads through this (a page read per path was an allocation per path). */
const stringScratch = new Uint8Array(PAGE_SIZE);

export function readCStringBytes(
  as: AddressSpace,
  addr: UserAddr,
  max = 4095,
  tooLong = Errno.ENAMETOOLONG,
): Uint8Array {
  checkRange(addr, 0);
  const parts: Uint8Array[] = [];
  let total = 0;
  let a = addr as number;
  while (true) {
    const chunk = Math.min(PAGE_SIZE - (a % PAGE_SIZE), max + 1 - total);
    if (chunk <= 0) throw new KernelError(tooLong);
    // Read up to the page's end into the scratch page; keep copies of the string bytes only.
    const buf = stringScratch.subarray(0, chunk);
    copyInto(as, userAddr(a), buf);
    const nul = buf.indexOf(0);
    if (nul >= 0) {
      parts.push(buf.slice(0, nul));
      total += nul;
      break;
    }
    parts.push(buf.slice());
    total += chunk;
    a += chunk;
    if (total > max) throw new KernelError(tooLong);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A NULL-terminated array of string pointers (argv, envp). Linux caps the total at ARG_MAX-ish. */
export function readStringArray(as: AddressSpace, addr: UserAddr, maxTotal = 2 * 1024 * 1024): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (addr === 0) return out;
  let total = 0;
  for (let i = 0; ; i++) {
    const p = readU64(as, userAddr(addr + i * 8));
    if (p === 0) break;
    const s = readCStringBytes(as, userAddr(p), 128 * 1024, Errno.E2BIG);
    total += s.length + 1 + 8;
    if (total > maxTotal) throw new KernelError(Errno.E2BIG);
    out.push(s);
  }
  return out;
}

export interface IoVec {
  base: UserAddr;
  len: number;
}

/**
 * struct iovec[count] as import_iovec reads it: Linux limits count to UIO_MAXIOV (1024), a
 * negative (ssize_t) length is EINVAL, and then every segment must lie in user space (EFAULT).
 */
export function readIovecs(as: AddressSpace, addr: UserAddr, count: number): IoVec[] {
  if (count < 0 || count > 1024) throw new KernelError(Errno.EINVAL);
  const raw = copyIn(as, addr, count * 16);
  const v = new DataView(raw.buffer);
  const out: IoVec[] = [];
  for (let i = 0; i < count; i++) {
    if (v.getUint32(i * 16 + 12, true) >= 0x80000000) throw new KernelError(Errno.EINVAL);
    out.push({ base: userAddr(getU64(v, i * 16)), len: getU64(v, i * 16 + 8) });
  }
  for (const { base, len } of out) if (base + len > USER_TOP) throw efault();
  return out;
}
