/**
 * A BlockDevice over a local file. By default reads are synchronous pread(2) calls: a VM runs
 * in its own worker thread and a local image is mostly in the page cache, where a thread-pool
 * round trip per read costs more than the read (bench:vfs). `{ sync: false }` uses async I/O.
 */
import * as fs from 'node:fs';
import type { BlockDevice } from './block-device';
import { Errno, err } from './errno';

/** Optional fast path a device may offer: read straight into the caller's buffer. */
export interface ReadIntoDevice {
  readInto(offset: number, target: Uint8Array): Promise<void>;
}
export function hasReadInto(dev: BlockDevice): dev is BlockDevice & ReadIntoDevice {
  return typeof (dev as Partial<ReadIntoDevice>).readInto === 'function';
}

export class FileBlockDevice implements BlockDevice, ReadIntoDevice {
  private closed = false;
  private constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly writable: boolean,
    private readonly sync: boolean,
  ) {}

  static async open(path: string, opts: { writable?: boolean; sync?: boolean } = {}): Promise<FileBlockDevice> {
    const fd = await new Promise<number>((res, rej) =>
      fs.open(path, opts.writable ? 'r+' : 'r', (e, f) => (e ? rej(e) : res(f))),
    );
    const st = fs.fstatSync(fd);
    return new FileBlockDevice(fd, st.size, !!opts.writable, opts.sync ?? true);
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw err(Errno.EIO, 'device closed');
    if (offset < 0 || length < 0 || !Number.isSafeInteger(offset + length) || offset + length > this.size) {
      throw err(Errno.EIO, `read ${offset}+${length} past the end of the device (${this.size})`);
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    await this.readInto(offset, buf);
    return buf;
  }

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    this.check(offset, target.length);
    let done = 0;
    while (done < target.length) {
      const n = this.sync
        ? fs.readSync(this.fd, target, done, target.length - done, offset + done)
        : await new Promise<number>((res, rej) =>
            fs.read(this.fd, target, done, target.length - done, offset + done, (e, k) => (e ? rej(e) : res(k))),
          );
      if (n === 0) throw err(Errno.EIO, 'short read');
      done += n;
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    if (!this.writable) throw err(Errno.EROFS);
    let done = 0;
    while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/** Wraps a device and counts reads (tests: a cached path walk must not read blocks). */
export class CountingBlockDevice implements BlockDevice {
  reads = 0;
  bytes = 0;
  constructor(private readonly inner: BlockDevice) {}
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.reads++;
    this.bytes += length;
    return this.inner.read(offset, length);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A device held in memory (tests, fuzzing). */
export class MemoryBlockDevice implements BlockDevice, ReadIntoDevice {
  constructor(readonly data: Uint8Array) {}
  get size(): number {
    return this.data.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.data.length) throw err(Errno.EIO, 'read past the end');
    return this.data.slice(offset, offset + length);
  }
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    if (offset < 0 || offset + target.length > this.data.length) throw err(Errno.EIO, 'read past the end');
    target.set(this.data.subarray(offset, offset + target.length));
  }
  async close(): Promise<void> {}
}
