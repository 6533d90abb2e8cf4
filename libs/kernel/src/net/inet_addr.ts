/**
 * Addresses of the loopback network. Every IP is kept in IPv6 form (16 bytes; IPv4 as the
 * v4-mapped ::ffff:a.b.c.d), with sockaddr_in/sockaddr_in6 parsing and formatting, the
 * rules for which addresses are local (bind) and reachable (connect/sendto), and what a
 * bound socket covers (wildcards, dual-stack) for port conflicts and delivery.
 */
import { Errno, KernelError } from '../errno';

export const AF_INET = 2;
export const AF_INET6 = 10;
const AF_UNSPEC = 0;
const SIN_LEN = 16;
const SIN6_LEN = 28;
/** Linux accepts the 24-byte RFC 2133 sockaddr_in6 (no scope id). */
const SIN6_LEN_RFC2133 = 24;

export type Ip = Uint8Array;

export interface Endpoint {
  ip: Ip;
  port: number;
}

export function v4(a: number, b: number, c: number, d: number): Ip {
  return Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d);
}
export const V4_ANY = v4(0, 0, 0, 0);
export const V4_LOOPBACK = v4(127, 0, 0, 1);
export const V6_ANY = new Uint8Array(16);
export const V6_LOOPBACK = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

export function isMapped(ip: Ip): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}
export function ipEqual(a: Ip, b: Ip): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
export const isV4Any = (ip: Ip): boolean => ipEqual(ip, V4_ANY);
export const isV6Any = (ip: Ip): boolean => ipEqual(ip, V6_ANY);
export const isAny = (ip: Ip): boolean => isV4Any(ip) || isV6Any(ip);
const isV4Loopback = (ip: Ip): boolean => isMapped(ip) && ip[12] === 127;

/** Whether a socket may bind `ip` (a local address of this VM). */
export function isLocal(ip: Ip): boolean {
  return isAny(ip) || isV4Loopback(ip) || ipEqual(ip, V6_LOOPBACK);
}

/**
 * The address a packet to `ip` arrives at, or ENETUNREACH: loopback addresses, and the
 * wildcards, which Linux treats as "this host" (0.0.0.0 → 127.0.0.1, :: → ::1).
 */
export function route(ip: Ip): Ip {
  if (isV4Any(ip)) return V4_LOOPBACK;
  if (isV6Any(ip)) return V6_LOOPBACK;
  if (isV4Loopback(ip) || ipEqual(ip, V6_LOOPBACK)) return ip;
  throw new KernelError(Errno.ENETUNREACH);
}

/** The source address for a destination (the loopback interface's own address). */
export function sourceFor(dst: Ip): Ip {
  return isMapped(dst) ? V4_LOOPBACK : V6_LOOPBACK;
}

export interface ParsedAddr {
  /** AF_UNSPEC (connect: dissolve the association) or a usable endpoint. */
  unspec: boolean;
  ep: Endpoint;
}

/** A sockaddr given to a socket of `family` (EINVAL when short, EAFNOSUPPORT when foreign). */
export function parseSockaddr(family: number, b: Uint8Array): ParsedAddr {
  if (b.length < 2) throw new KernelError(Errno.EINVAL);
  const fam = b[0] | (b[1] << 8);
  if (fam === AF_UNSPEC) return { unspec: true, ep: { ip: family === AF_INET ? V4_ANY : V6_ANY, port: 0 } };
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (family === AF_INET) {
    if (b.length < SIN_LEN) throw new KernelError(Errno.EINVAL);
    if (fam !== AF_INET) throw new KernelError(Errno.EAFNOSUPPORT);
    return { unspec: false, ep: { ip: v4(b[4], b[5], b[6], b[7]), port: v.getUint16(2) } };
  }
  if (b.length < SIN6_LEN_RFC2133) throw new KernelError(Errno.EINVAL);
  if (fam !== AF_INET6) throw new KernelError(Errno.EAFNOSUPPORT);
  return { unspec: false, ep: { ip: b.slice(8, 24), port: v.getUint16(2) } };
}

/** sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes) for a socket of `family`. */
export function formatSockaddr(family: number, ep: Endpoint): Uint8Array {
  const out = new Uint8Array(family === AF_INET ? SIN_LEN : SIN6_LEN);
  const v = new DataView(out.buffer);
  v.setUint16(0, family, true);
  v.setUint16(2, ep.port);
  if (family === AF_INET) out.set(ep.ip.subarray(12, 16), 4);
  else out.set(ep.ip, 8);
  return out;
}

/**
 * What a bound address covers: the v4 and v6 destinations it receives. A v4 socket covers
 * v4 only; a v6 wildcard also covers v4 unless IPV6_V6ONLY.
 */
export interface Coverage {
  v4: 'all' | Ip | null;
  v6: 'all' | Ip | null;
}

export function coverage(family: number, ip: Ip, v6only: boolean): Coverage {
  if (family === AF_INET) return { v4: isV4Any(ip) ? 'all' : ip, v6: null };
  if (isV6Any(ip)) return { v4: v6only ? null : 'all', v6: 'all' };
  if (isMapped(ip)) return { v4: isV4Any(ip) ? 'all' : ip, v6: null };
  return { v4: null, v6: ip };
}

function partOverlaps(a: 'all' | Ip | null, b: 'all' | Ip | null): boolean {
  if (a === null || b === null) return false;
  return a === 'all' || b === 'all' || ipEqual(a, b);
}

export function overlaps(a: Coverage, b: Coverage): boolean {
  return partOverlaps(a.v4, b.v4) || partOverlaps(a.v6, b.v6);
}

/** 2: the exact address, 1: through a wildcard, 0: not covered. */
export function covers(c: Coverage, dst: Ip): number {
  const part = isMapped(dst) ? c.v4 : c.v6;
  if (part === null) return 0;
  if (part === 'all') return 1;
  return ipEqual(part, dst) ? 2 : 0;
}
