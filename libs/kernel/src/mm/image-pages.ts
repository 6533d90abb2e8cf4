/**
 * Page contents of immutable file bytes laid out at guest addresses: the ELF loader's segments
 * and MAP_PRIVATE mappings of files that can never change. Mappings over them are "filled"
 * (AddressSpace.mapFilled): a page is copied from the bytes on first touch, not at map time.
 */
import { PAGE_SIZE, PageCode } from '@lichen/machine';
import type { PageSource } from './mm';

/** A range [start, end) of guest addresses holding file bytes from `offset` on. */
export interface FileRange {
  start: number;
  end: number;
  offset: number;
}

/**
 * One layout of some bytes: the same object for the same bytes, kind and bias in this thread,
 * so VMAs over it merge like plain mappings of one file and its executable pages keep their
 * decoded code (PageCode) for every VM that maps them again.
 */
export class ImagePages implements PageSource {
  private readonly codes = new Map<number, PageCode>();
  private constructor(
    private readonly bytes: Uint8Array,
    /** Guest address ranges of file bytes, in the order they are copied (a page may hold two). */
    readonly ranges: readonly FileRange[],
  ) {}

  /**
   * The layout `kind` of `bytes` at `bias` (which with the kind decides `ranges`: `layout`
   * computes them the first time). `bytes` must never change.
   */
  static of(bytes: Uint8Array, kind: 'elf' | 'file', bias: number, layout: () => FileRange[]): ImagePages {
    let byKey = layouts.get(bytes);
    if (byKey === undefined) layouts.set(bytes, (byKey = new Map()));
    const key = `${kind}:${bias}`;
    let pages = byKey.get(key);
    if (pages === undefined) byKey.set(key, (pages = new ImagePages(bytes, layout())));
    return pages;
  }

  fill(page: number, dst: Uint8Array, at: number, exec: boolean, held: PageCode | undefined): PageCode | undefined {
    let code: PageCode | undefined;
    if (exec) {
      code = this.codes.get(page);
      if (code === undefined) this.codes.set(page, (code = new PageCode()));
    }
    // The frame still holds this very page (same bytes): nothing to copy. Any other page:
    // the space zeroes the frame and asks again.
    if (held !== undefined) return code === held ? code : undefined;
    for (const s of this.ranges) {
      const lo = Math.max(s.start, page);
      const hi = Math.min(s.end, page + PAGE_SIZE);
      if (lo < hi) dst.set(this.bytes.subarray(s.offset + (lo - s.start), s.offset + (hi - s.start)), at + (lo - page));
    }
    return code;
  }
}

const layouts = new WeakMap<Uint8Array, Map<string, ImagePages>>();
