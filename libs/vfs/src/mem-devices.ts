/**
 * The "mem" character devices (major 1): null (3), zero (5), full (7), random (8),
 * urandom (9). Registered by every Vfs; devfs only creates the nodes.
 */
import { randomFillSync } from 'node:crypto';
import { Errno, err } from './errno';
import type { CharDevice } from './fs';

/** Fills `buf` with random bytes (deterministic mode supplies a seeded generator). */
export type RandomSource = (buf: Uint8Array) => void;

export const hostRandom: RandomSource = (buf) => {
  randomFillSync(buf);
};

const POLLIN = 1;
const POLLOUT = 4;

export class MemDevices {
  constructor(private readonly random: RandomSource = hostRandom) {}

  devices(): [number, CharDevice][] {
    const ready = (_f: unknown, ev: number): number => ev & (POLLIN | POLLOUT);
    const nul: CharDevice = {
      read: () => 0,
      write: (_f, d) => d.length,
      poll: ready,
      seekable: true,
      size: () => 0,
    };
    const zero: CharDevice = {
      read: (_f, buf) => {
        buf.fill(0);
        return buf.length;
      },
      write: (_f, d) => d.length,
      poll: ready,
      seekable: true,
      size: () => 0,
    };
    const full: CharDevice = {
      read: (_f, buf) => {
        buf.fill(0);
        return buf.length;
      },
      write: (_f, d) => {
        if (d.length === 0) return 0;
        throw err(Errno.ENOSPC);
      },
      poll: ready,
      seekable: true,
      size: () => 0,
    };
    const rnd: CharDevice = {
      read: (_f, buf) => {
        this.random(buf);
        return buf.length;
      },
      write: (_f, d) => d.length,
      poll: ready,
      seekable: true,
      size: () => 0,
    };
    return [
      [3, nul],
      [5, zero],
      [7, full],
      [8, rnd],
      [9, { ...rnd }],
    ];
  }
}
