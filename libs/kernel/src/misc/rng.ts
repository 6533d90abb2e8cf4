import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for getrandom, /dev/urandom and AT_RANDOM. Seeded (deterministic mode):
 * xoshiro128** from a splitmix32-expanded seed. Unseeded: the host CSPRNG.
 */
export class Rng {
  private readonly s: Uint32Array | null;

  constructor(seed?: number) {
    if (seed === undefined) {
      this.s = null;
      return;
    }
    this.s = new Uint32Array(4);
    let x = seed >>> 0 || 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  get seeded(): boolean {
    return this.s !== null;
  }

  private next(): number {
    const s = this.s as Uint32Array;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  fill(buf: Uint8Array): void {
    if (this.s === null) {
      hostRandom(buf);
      return;
    }
    for (let i = 0; i < buf.length; i += 4) {
      const v = this.next();
      for (let j = 0; j < 4 && i + j < buf.length; j++) buf[i + j] = (v >>> (8 * j)) & 0xff;
    }
  }
}

/**
 * Host CSPRNG bytes for small requests (AT_RANDOM, getrandom of a few words) come from a
 * per-thread pool refilled 4 KiB at a time: one randomFillSync call costs tens of
 * microseconds whatever its size. Each byte is handed out once (and wiped from the pool).
 */
const POOL_BYTES = 4096;
const MAX_POOLED = 256;
const pool = new Uint8Array(POOL_BYTES);
let poolPos = POOL_BYTES;

function hostRandom(buf: Uint8Array): void {
  const n = buf.length;
  if (n > MAX_POOLED) {
    randomFillSync(buf);
    return;
  }
  if (poolPos + n > POOL_BYTES) {
    randomFillSync(pool);
    poolPos = 0;
  }
  buf.set(pool.subarray(poolPos, poolPos + n));
  pool.fill(0, poolPos, poolPos + n);
  poolPos += n;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
