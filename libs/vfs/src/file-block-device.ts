/** A BlockDevice over a local file (read-only unless opened writable). */
import { open, type FileHandle } from 'node:fs/promises';
import type { BlockDevice } from './block-device';
import { Errno, err } from './errno';

export class FileBlockDevice implements BlockDevice {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly writable: boolean,
  ) {}

  static async open(path: string, opts: { writable?: boolean } = {}): Promise<FileBlockDevice> {
    const fh = await open(path, opts.writable ? 'r+' : 'r');
    const st = await fh.stat();
    return new FileBlockDevice(fh, st.size, !!opts.writable);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || !Number.isSafeInteger(offset + length) || offset + length > this.size) {
      throw err(Errno.EIO, `read ${offset}+${length} past the end of the device (${this.size})`);
    }
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw err(Errno.EIO, 'short read');
      done += bytesRead;
    }
    return buf;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    if (!this.writable) throw err(Errno.EROFS);
    await this.fh.write(data, 0, data.length, offset);
  }

  async close(): Promise<void> {
    await this.fh.close();
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
export class MemoryBlockDevice implements BlockDevice {
  constructor(readonly data: Uint8Array) {}
  get size(): number {
    return this.data.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.data.length) throw err(Errno.EIO, 'read past the end');
    return this.data.slice(offset, offset + length);
  }
  async close(): Promise<void> {}
}
