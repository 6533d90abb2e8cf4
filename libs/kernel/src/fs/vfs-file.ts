/** An fd that refers to a VFS open file (regular files, directories, devices, procfs, fifos). */
import type { OpenFile, Stat } from '@lichen/vfs';
import type { Kernel } from '../kernel';
import { cachedPagesOf, type SharedPages } from '../mm/shared';
import type { Task } from '../task';
import { KFile } from './file';

/** Largest single read/write moved through a kernel buffer. */
export const MAX_IO = 16 * 1024 * 1024;

export class VfsFile extends KFile {
  constructor(
    readonly k: Kernel,
    readonly file: OpenFile,
  ) {
    super(file.flags);
  }

  override get flags(): number {
    return this.file?.flags ?? 0;
  }
  override set flags(v: number) {
    if (this.file) this.file.flags = v;
  }

  describe(): string {
    return this.file.vfs.pathOf(this.file.path);
  }
  override get vfsFile(): OpenFile {
    return this.file;
  }

  private clamp(len: number): number {
    let n = Math.min(len, MAX_IO);
    if (!this.file.ops) {
      const st = this.file.stat();
      if ((st.mode & 0o170000) === 0o100000) n = Math.min(n, Math.max(0, st.size - this.file.pos));
    }
    return n;
  }

  /** The page-cache object of this file while it is mapped MAP_SHARED (read/write stay coherent with it). */
  private mapped(): SharedPages | undefined {
    return this.file.ops ? undefined : cachedPagesOf(this.k.memory, this.file.node);
  }

  override async read(_t: Task, len: number): Promise<Uint8Array> {
    const buf = new Uint8Array(this.clamp(len));
    const n = await this.k.hostIo(this.file.read(buf));
    this.mapped()?.overlay(this.file.pos - n, buf.subarray(0, n));
    return buf.subarray(0, n);
  }
  override async pread(_t: Task, len: number, pos: number): Promise<Uint8Array> {
    const buf = new Uint8Array(Math.min(len, MAX_IO));
    const n = await this.k.hostIo(this.file.pread(buf, pos));
    this.mapped()?.overlay(pos, buf.subarray(0, n));
    return buf.subarray(0, n);
  }
  override async write(_t: Task, data: Uint8Array): Promise<number> {
    const n = await this.k.hostIo(this.file.write(data));
    await this.wrote(this.file.pos - n, data.subarray(0, n));
    return n;
  }
  override async pwrite(_t: Task, data: Uint8Array, pos: number): Promise<number> {
    const n = await this.k.hostIo(this.file.pwrite(data, pos));
    await this.wrote(pos, data.subarray(0, n));
    return n;
  }
  /** Shared mappings of the file see what write(2) wrote (pages not cached yet are read in). */
  private async wrote(pos: number, data: Uint8Array): Promise<void> {
    const obj = this.mapped();
    if (obj === undefined || data.length === 0) return;
    obj.update(pos, data);
    const last = Math.floor((pos + data.length - 1) / 4096);
    try {
      for (let i = Math.floor(pos / 4096); i <= last; i++) if (!obj.has(i)) await this.k.hostIo(obj.load(i));
    } catch {
      // the write itself succeeded; a page that cannot be read in faults in as zero later
    }
  }
  override seek(offset: number, whence: number): Promise<number> {
    return this.file.seek(offset, whence);
  }
  override ioctl(_t: Task, cmd: number, arg: number): Promise<number> {
    return this.file.ioctl(cmd, arg);
  }
  override poll(events: number): number {
    return this.file.poll(events);
  }
  stat(): Stat {
    return this.file.stat();
  }
  override getdents(size: number): Promise<Uint8Array> {
    return this.k.hostIo(this.file.getdents64(size));
  }
  override release(): Promise<void> {
    return this.file.release();
  }
}
