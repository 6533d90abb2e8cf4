import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** A read-only block device over a local image file (the `BlockDevice` contract of libs/vfs). */
export class FileBlockDevice {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileBlockDevice> {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    return new FileBlockDevice(fh, st.size);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new Error(`read of ${length} bytes at ${offset} past the end of the device (${this.size} bytes)`);
    }
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`short read at ${offset + done}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
