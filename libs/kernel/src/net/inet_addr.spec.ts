import { describe, expect, it } from 'vitest';
import { Errno, KernelError } from '../errno';
import {
  AF_INET,
  AF_INET6,
  V4_ANY,
  V4_LOOPBACK,
  V6_ANY,
  V6_LOOPBACK,
  coverage,
  covers,
  formatSockaddr,
  isLocal,
  overlaps,
  parseSockaddr,
  route,
  v4,
} from './inet_addr';

const errnoOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof KernelError ? e.errno : undefined;
  }
  return undefined;
};

describe('inet addresses', () => {
  it('parses and formats sockaddr_in and sockaddr_in6 (network byte order ports)', () => {
    const sin = Uint8Array.of(2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const p = parseSockaddr(AF_INET, sin);
    expect(p.unspec).toBe(false);
    expect(p.ep.port).toBe(8080);
    expect([...p.ep.ip]).toEqual([...V4_LOOPBACK]);
    expect([...formatSockaddr(AF_INET, p.ep)]).toEqual([...sin]);
    const six = formatSockaddr(AF_INET6, p.ep);
    expect(six.length).toBe(28);
    expect(parseSockaddr(AF_INET6, six).ep.port).toBe(8080);
    expect([...six.subarray(8, 24)]).toEqual([...V4_LOOPBACK]);
  });

  it('rejects short and foreign addresses like Linux', () => {
    expect(
      errnoOf(() =>
        parseSockaddr(
          AF_INET,
          new Uint8Array(8).fill(0).map((_, i) => (i === 0 ? 2 : 0)),
        ),
      ),
    ).toBe(Errno.EINVAL);
    expect(errnoOf(() => parseSockaddr(AF_INET, formatSockaddr(AF_INET6, { ip: V6_LOOPBACK, port: 1 })))).toBe(
      Errno.EAFNOSUPPORT,
    );
    expect(
      errnoOf(() =>
        parseSockaddr(
          AF_INET6,
          new Uint8Array(20).fill(0).map((_, i) => (i === 0 ? 10 : 0)),
        ),
      ),
    ).toBe(Errno.EINVAL);
    expect(parseSockaddr(AF_INET, Uint8Array.of(0, 0)).unspec).toBe(true);
  });

  it('knows local and reachable addresses', () => {
    expect(isLocal(v4(127, 9, 9, 9))).toBe(true);
    expect(isLocal(v4(10, 0, 0, 1))).toBe(false);
    expect(isLocal(V6_ANY)).toBe(true);
    expect([...route(V4_ANY)]).toEqual([...V4_LOOPBACK]);
    expect([...route(V6_ANY)]).toEqual([...V6_LOOPBACK]);
    expect(errnoOf(() => route(v4(10, 0, 0, 1)))).toBe(Errno.ENETUNREACH);
  });

  it('computes wildcard and dual-stack coverage', () => {
    const dual = coverage(AF_INET6, V6_ANY, false);
    const v6only = coverage(AF_INET6, V6_ANY, true);
    const any4 = coverage(AF_INET, V4_ANY, false);
    const lo4 = coverage(AF_INET, V4_LOOPBACK, false);
    expect(overlaps(dual, lo4)).toBe(true);
    expect(overlaps(v6only, any4)).toBe(false);
    expect(overlaps(lo4, coverage(AF_INET, v4(127, 0, 0, 2), false))).toBe(false);
    expect(covers(lo4, V4_LOOPBACK)).toBe(2);
    expect(covers(dual, V4_LOOPBACK)).toBe(1);
    expect(covers(v6only, V4_LOOPBACK)).toBe(0);
    expect(covers(any4, V6_LOOPBACK)).toBe(0);
  });
});
