import { createAddressSpace, createPhysicalMemory, guestAddr, PROT_READ, PROT_WRITE } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { Errno, KernelError } from './errno';
import {
  copyIn,
  copyOut,
  readCString,
  readCStringBytes,
  readIovecs,
  readPath,
  readStringArray,
  readU64,
  userAddr,
  writeU64,
  USER_TOP,
} from './uaccess';

function space() {
  const as = createAddressSpace(createPhysicalMemory(1 << 20));
  as.mapAnonymous(guestAddr(0x10000), 0x2000, PROT_READ | PROT_WRITE);
  as.mapAnonymous(guestAddr(0x12000), 0x1000, PROT_READ);
  return as;
}
const efault = (fn: () => unknown): void => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).errno).toBe(Errno.EFAULT);
    return;
  }
  throw new Error('expected EFAULT');
};

describe('uaccess', () => {
  it('copies in and out across a page boundary', () => {
    const as = space();
    const data = Uint8Array.from({ length: 100 }, (_, i) => i);
    copyOut(as, userAddr(0x10fd0), data);
    expect(copyIn(as, userAddr(0x10fd0), 100)).toEqual(data);
  });
  it('gives EFAULT for unmapped, read-only (on write), null and out-of-range pointers', () => {
    const as = space();
    efault(() => copyIn(as, userAddr(0x20000), 4));
    efault(() => copyIn(as, userAddr(0), 1));
    efault(() => copyOut(as, userAddr(0x12000), new Uint8Array(4)));
    efault(() => copyOut(as, userAddr(0x11ffe), new Uint8Array(4))); // crosses into the read-only page
    efault(() => copyIn(as, userAddr(USER_TOP - 2), 4));
    efault(() => copyIn(as, userAddr(-8), 4));
    expect(copyIn(as, userAddr(0x12000), 4)).toEqual(new Uint8Array(4));
  });
  it('reads strings with length limits and string arrays', () => {
    const as = space();
    copyOut(as, userAddr(0x10ffe), new TextEncoder().encode('hello\0'));
    expect(readCString(as, userAddr(0x10ffe))).toBe('hello');
    expect(() => readCString(as, userAddr(0x10ffe), 3)).toThrow(KernelError);
    writeU64(as, userAddr(0x10100), 0x10ffe);
    writeU64(as, userAddr(0x10108), 0);
    expect(readStringArray(as, userAddr(0x10100)).map((b) => Buffer.from(b).toString())).toEqual(['hello']);
    expect(readU64(as, userAddr(0x10100))).toBe(0x10ffe);
  });
  it('returns strings of their own: later reads and guest writes do not change them', () => {
    const as = space();
    copyOut(as, userAddr(0x10ffc), new TextEncoder().encode('/etc/passwd\0'));
    copyOut(as, userAddr(0x10100), new TextEncoder().encode('short\0'));
    const long = readCStringBytes(as, userAddr(0x10ffc));
    const short = readCStringBytes(as, userAddr(0x10100));
    copyOut(as, userAddr(0x10ffc), new TextEncoder().encode('XXXXXXXXXXX\0'));
    expect(Buffer.from(long).toString()).toBe('/etc/passwd');
    expect(Buffer.from(short).toString()).toBe('short');
    expect(readPath(as, userAddr(0x10ffc))).toBe('XXXXXXXXXXX');
    // a string running into an unmapped page without its NUL
    as.mapAnonymous(guestAddr(0x20000), 0x1000, PROT_READ | PROT_WRITE);
    copyOut(as, userAddr(0x20000), new Uint8Array(0x1000).fill(0x41));
    efault(() => readCStringBytes(as, userAddr(0x20ff0)));
  });
  it('validates iovec counts and lengths', () => {
    const as = space();
    writeU64(as, userAddr(0x10200), 0x10000);
    writeU64(as, userAddr(0x10208), 16);
    expect(readIovecs(as, userAddr(0x10200), 1)).toEqual([{ base: 0x10000, len: 16 }]);
    expect(() => readIovecs(as, userAddr(0x10200), 1025)).toThrow(KernelError);
    writeU64(as, userAddr(0x10208), -1);
    expect(() => readIovecs(as, userAddr(0x10200), 1)).toThrow(KernelError);
    // import_iovec: a negative length anywhere is EINVAL before any segment is found outside user space
    writeU64(as, userAddr(0x10208), 2 ** 62);
    efault(() => readIovecs(as, userAddr(0x10200), 1));
    writeU64(as, userAddr(0x10210), 0x10000);
    writeU64(as, userAddr(0x10218), -1);
    expect(() => readIovecs(as, userAddr(0x10200), 2)).toThrow(expect.objectContaining({ errno: Errno.EINVAL }));
    writeU64(as, userAddr(0x10200), 2 ** 48 - 8);
    writeU64(as, userAddr(0x10208), 9);
    efault(() => readIovecs(as, userAddr(0x10200), 1));
    writeU64(as, userAddr(0x10208), 8);
    expect(readIovecs(as, userAddr(0x10200), 1)).toEqual([{ base: 2 ** 48 - 8, len: 8 }]);
  });
});
