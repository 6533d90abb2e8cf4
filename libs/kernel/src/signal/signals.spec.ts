import { describe, expect, it } from 'vitest';
import { untaggedFaultAddr } from './signals';

describe('untaggedFaultAddr (Linux arm64 untagged_addr for si_addr)', () => {
  it('leaves plain user addresses alone', () => {
    expect(untaggedFaultAddr(0)).toBe(0);
    expect(untaggedFaultAddr(0xfffffe7e)).toBe(0xfffffe7e);
    expect(untaggedFaultAddr(0x0000_ffff_f7ff_e000)).toBe(0x0000_ffff_f7ff_e000);
  });
  it('clears the tag byte when bit 55 is clear', () => {
    // 0x0100000000000010: an address computation that carried into the tag byte
    expect(untaggedFaultAddr(2 ** 56 + 0x10)).toBe(0x10);
    // 0x5a00_0000_1234_5000
    expect(untaggedFaultAddr(0x5a * 2 ** 56 + 0x1234_5000)).toBe(0x1234_5000);
    // 0x0100_7fff_0000_0000 keeps bits below 56
    expect(untaggedFaultAddr(2 ** 56 + 0x7fff * 2 ** 32)).toBe(0x7fff * 2 ** 32);
  });
  it('keeps the whole address when bit 55 is set', () => {
    expect(untaggedFaultAddr(2 ** 55)).toBe(2 ** 55);
    const kernelish = 0xff80 * 2 ** 48; // 0xff80000000000000
    expect(untaggedFaultAddr(kernelish)).toBe(kernelish);
    const tagged = 0x5a80 * 2 ** 48; // 0x5a80000000000000
    expect(untaggedFaultAddr(tagged)).toBe(tagged);
  });
});
