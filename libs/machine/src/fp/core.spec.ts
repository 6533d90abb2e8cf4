import { describe, expect, it } from 'vitest';
import {
  cvtDH,
  cvtDS,
  cvtSD,
  cvtSH,
  cvtToInt,
  D,
  DEFAULT_NAN_S,
  DZC,
  f64Bits,
  bitsHi,
  bitsLo,
  f64FromBits,
  faddD,
  faddS,
  fcmpD,
  fdivD,
  fdivS,
  fmaD,
  fmaS,
  fminmaxD,
  FPCR_AHP,
  FPCR_DN,
  FPCR_FZ,
  fmulD,
  frintD,
  fsqrtD,
  fsubD,
  IDC,
  INT_RESULT,
  intToFloat,
  IOC,
  IXC,
  OFC,
  RM,
  RN,
  RNA,
  RP,
  RZ,
  S,
  UFC,
  type FpEnv,
} from './core';

const env = (rmode = RN, extra = 0): FpEnv => ({ fpcr: ((rmode << 22) | extra) >>> 0, fpsr: 0 });
const bits64 = (x: number): string => {
  f64Bits(x);
  return bitsHi().toString(16).padStart(8, '0') + bitsLo().toString(16).padStart(8, '0');
};
const SNAN_D = f64FromBits(0x1234, 0x7ff00000); // signalling, payload 0x1234
const QNAN_D = f64FromBits(0x5678, 0x7ff80000);
const f32 = (x: number): number => {
  const b = new Float32Array([x]);
  return new Uint32Array(b.buffer)[0];
};

describe('rounding modes', () => {
  it('rounds 1/3 in binary64 per FPCR.RMode and raises Inexact', () => {
    const expected: [number, string][] = [
      [RN, '3fd5555555555555'],
      [RP, '3fd5555555555556'],
      [RM, '3fd5555555555555'],
      [RZ, '3fd5555555555555'],
    ];
    for (const [rm, hex] of expected) {
      const e = env(rm);
      expect(bits64(fdivD(e, 1, 3))).toBe(hex);
      expect(e.fpsr).toBe(IXC);
    }
    const e = env(RP);
    expect(bits64(fdivD(e, -1, 3))).toBe('bfd5555555555555');
    const m = env(RM);
    expect(bits64(fdivD(m, -1, 3))).toBe('bfd5555555555556');
  });

  it('rounds 1/3 in binary32 per mode', () => {
    expect(fdivS(env(RN), f32(1), f32(3))).toBe(0x3eaaaaab);
    expect(fdivS(env(RZ), f32(1), f32(3))).toBe(0x3eaaaaaa);
    expect(fdivS(env(RP), f32(1), f32(3))).toBe(0x3eaaaaab);
    expect(fdivS(env(RM), f32(1), f32(3))).toBe(0x3eaaaaaa);
  });

  it('breaks ties to even (RN) or away (RNA) when converting to integers', () => {
    for (const [x, rn, rna] of [
      [2.5, 2, 3],
      [3.5, 4, 4],
      [-2.5, -2, -3],
    ]) {
      cvtToInt(env(), x, 0, RN, 32, false);
      expect(INT_RESULT.lo).toBe(rn);
      cvtToInt(env(), x, 0, RNA, 32, false);
      expect(INT_RESULT.lo).toBe(rna);
    }
  });

  it('gives -0 for x - x only when rounding towards minus infinity', () => {
    expect(Object.is(fsubD(env(RN), 1.5, 1.5), 0)).toBe(true);
    expect(Object.is(fsubD(env(RM), 1.5, 1.5), -0)).toBe(true);
    expect(faddS(env(RM), f32(2), f32(-2))).toBe(0x80000000);
  });
});

describe('fused multiply-add', () => {
  it('keeps the product exact (no intermediate rounding) in binary64', () => {
    const a = 1 + 2 ** -52;
    const b = 1 - 2 ** -52;
    // a*b = 1 - 2^-104 exactly; unfused a*b rounds to 1 and the sum would be 0
    expect(fmaD(env(), -1, a, b)).toBe(-(2 ** -104));
    expect(fmulD(env(), a, b) + -1).toBe(0);
  });
  it('rounds once in binary32', () => {
    const a = f32(1 + 2 ** -23);
    const b = f32(1 - 2 ** -23);
    expect(fmaS(env(), f32(-1), a, b)).toBe(f32(-(2 ** -46)));
  });
  it('signals Invalid for inf*0 + qNaN and returns the default NaN', () => {
    const e = env();
    const r = fmaD(e, QNAN_D, Infinity, 0);
    expect(bits64(r)).toBe('7ff8000000000000');
    expect(e.fpsr & IOC).toBe(IOC);
  });
});

describe('NaN handling', () => {
  it('quietens a signalling NaN, keeps its payload and raises IOC', () => {
    const e = env();
    expect(bits64(faddD(e, SNAN_D, 1))).toBe('7ff8000000001234');
    expect(e.fpsr).toBe(IOC);
  });
  it('prefers a signalling NaN in either operand over a quiet one', () => {
    expect(bits64(faddD(env(), QNAN_D, SNAN_D))).toBe('7ff8000000001234');
    expect(bits64(faddD(env(), QNAN_D, 1))).toBe('7ff8000000005678');
  });
  it('returns the default NaN when FPCR.DN is set', () => {
    const e = env(RN, FPCR_DN);
    expect(bits64(fmulD(e, SNAN_D, 2))).toBe('7ff8000000000000');
    expect(e.fpsr).toBe(IOC);
  });
  it('converts NaN payloads between precisions', () => {
    // binary32 sNaN 0x7f800001 → binary64 qNaN with the payload at the top of the fraction
    expect(bits64(cvtSD(env(), 0x7f800001))).toBe('7ff8000020000000');
    expect(cvtDS(env(), QNAN_D)).toBe(0x7fc00000);
    expect(cvtSH(env(), 0xffc12345)).toBe(0xfe09);
  });
  it('FMAXNM prefers the number over a quiet NaN, FMAX does not', () => {
    expect(fminmaxD(env(), QNAN_D, 3, true, true)).toBe(3);
    expect(bits64(fminmaxD(env(), QNAN_D, 3, true, false))).toBe('7ff8000000005678');
  });
  it('produces the default NaN for invalid operations', () => {
    const e = env();
    expect(bits64(fsqrtD(e, -4))).toBe('7ff8000000000000');
    expect(e.fpsr).toBe(IOC);
    expect(faddS(env(), 0x7f800000, 0xff800000)).toBe(DEFAULT_NAN_S);
  });
});

describe('exception flags', () => {
  it('overflows to infinity (RN) or the largest finite number (RZ)', () => {
    const e = env();
    expect(fmulD(e, 1.7976931348623157e308, 2)).toBe(Infinity);
    expect(e.fpsr).toBe(OFC | IXC);
    const z = env(RZ);
    expect(fmulD(z, 1.7976931348623157e308, 2)).toBe(1.7976931348623157e308);
    expect(z.fpsr).toBe(OFC | IXC);
  });
  it('signals Underflow only for inexact tiny results (tininess before rounding)', () => {
    const exact = env();
    expect(fmulD(exact, 2 ** -1022, 0.5)).toBe(2 ** -1023);
    expect(exact.fpsr).toBe(0);
    const inexact = env();
    fmulD(inexact, 2 ** -1022 * (1 + 2 ** -52), 0.5);
    expect(inexact.fpsr).toBe(UFC | IXC);
  });
  it('flushes denormal inputs (IDC) and tiny results (UFC) when FPCR.FZ is set', () => {
    const e = env(RN, FPCR_FZ);
    expect(Object.is(faddD(e, 2 ** -1030, 0), 0)).toBe(true);
    expect(e.fpsr & IDC).toBe(IDC);
    const f = env(RN, FPCR_FZ);
    expect(fmulD(f, 2 ** -1000, 2 ** -30)).toBe(0);
    expect(f.fpsr).toBe(UFC);
  });
  it('raises Divide-by-zero for x/0', () => {
    const e = env();
    expect(fdivD(e, -3, 0)).toBe(-Infinity);
    expect(e.fpsr).toBe(DZC);
  });
  it('saturates float→int conversions with IOC and maps NaN to 0', () => {
    const e = env();
    cvtToInt(e, 1e20, 0, RZ, 32, false);
    expect(INT_RESULT.lo).toBe(0x7fffffff);
    expect(e.fpsr).toBe(IOC);
    cvtToInt(e, -1, 0, RZ, 64, true);
    expect([INT_RESULT.lo, INT_RESULT.hi]).toEqual([0, 0]);
    cvtToInt(e, NaN, 0, RZ, 64, false);
    expect([INT_RESULT.lo, INT_RESULT.hi]).toEqual([0, 0]);
  });
  it('FCMPE signals on quiet NaNs, FCMP only on signalling ones', () => {
    const q = env();
    expect(fcmpD(q, QNAN_D, 1, false)).toBe(0x30000000);
    expect(q.fpsr).toBe(0);
    const e = env();
    expect(fcmpD(e, QNAN_D, 1, true)).toBe(0x30000000);
    expect(e.fpsr).toBe(IOC);
    expect(fcmpD(env(), -0, 0, false)).toBe(0x60000000);
  });
});

describe('conversions and round to integral', () => {
  it('converts 64-bit integers exactly or with one rounding', () => {
    // 2^63 - 1 → 2^63 in binary64 (inexact), in binary32 too
    const e = env();
    expect(intToFloat(e, -1, 0x7fffffff, false, 0, D)).toBe(2 ** 63);
    expect(e.fpsr).toBe(IXC);
    expect(intToFloat(env(), 0, 0x80000000, false, 0, D)).toBe(-(2 ** 63));
    expect(intToFloat(env(), 3, 0, true, 1, S)).toBe(f32(1.5)); // fixed point: 3 / 2^1
  });
  it('rounds to half precision with overflow to infinity, or saturates in AHP format', () => {
    expect(cvtDH(env(), 1)).toBe(0x3c00);
    const e = env();
    expect(cvtDH(e, 65520)).toBe(0x7c00);
    expect(e.fpsr).toBe(OFC | IXC);
    const a = env(RN, FPCR_AHP);
    expect(cvtDH(a, 65520)).toBe(0x7c00); // representable in the alternative format (emax 16)
    const big = env(RN, FPCR_AHP);
    expect(cvtDH(big, 1e6)).toBe(0x7fff);
    expect(big.fpsr).toBe(IOC);
  });
  it('FRINTX raises Inexact, FRINTZ does not, and keeps the sign of zero', () => {
    const x = env();
    expect(frintD(x, 2.5, -1, true)).toBe(2);
    expect(x.fpsr).toBe(IXC);
    const z = env();
    expect(Object.is(frintD(z, -0.25, RZ, false), -0)).toBe(true);
    expect(z.fpsr).toBe(0);
    expect(frintD(env(), 2.5, RNA, false)).toBe(3);
    expect(frintD(env(), -2.5, RP, false)).toBe(-2);
  });
});
