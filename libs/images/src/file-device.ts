import { open, type FileHandle } from 'node:fs/promises';
import type { BlockDevice } from '@lichen/vfs';

/**
 * A read-only BlockDevice over an already opened file. Holding the descriptor keeps the
 * bytes readable even if the cache evicts (unlinks) the file meanwhile.
 */
export class OpenFileDevice implements BlockDevice {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly onClose?: () => void,
  ) {}

  static async open(path: string, onClose?: () => void): Promise<OpenFileDevice> {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    return new OpenFileDevice(fh, st.size, onClose);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read of ${length} bytes at ${offset} is past the end of the device (${this.size} bytes)`);
    }
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`image file shrank: short read at ${offset + done}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    this.onClose?.();
    await this.fh.close();
  }
}
