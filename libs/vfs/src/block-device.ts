/**
 * The block-device abstraction every disk filesystem reads through.
 * Implementations: a local file (libs/vfs), S3 objects read lazily by range (libs/images).
 */
export interface BlockDevice {
  /** Size of the device in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset` into a new buffer. Reads past the end reject with an
   * error (the filesystem reports corruption as EIO, never hangs).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: devices opened read-only do not have it. */
  write?(offset: number, data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
