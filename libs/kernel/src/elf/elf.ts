/**
 * ELF64 parsing and loading for aarch64 (static, static-PIE, dynamic with PT_INTERP).
 * Every header field is validated; a malformed file is ENOEXEC (or EINVAL/ENOMEM for
 * impossible layouts), never a host exception.
 */
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '@lichen/machine';
import { Errno, KernelError } from '../errno';
import { ImagePages } from '../mm/image-pages';
import { MAP_PRIVATE, TASK_SIZE, pageDown, pageUp, type Mm } from '../mm/mm';

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_AARCH64 = 183;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const PT_GNU_STACK = 0x6474e551;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  type: number;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  phdrs: ProgramHeader[];
  interp: string | null;
  bytes: Uint8Array;
}

const noexec = (why: string): KernelError => new KernelError(Errno.ENOEXEC, `bad ELF: ${why}`);

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

function u64(v: DataView, off: number): number {
  const hi = v.getUint32(off + 4, true);
  if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER; // beyond 2^53: certainly invalid
  return hi * 2 ** 32 + v.getUint32(off, true);
}

export function parseElf(bytes: Uint8Array): ElfImage {
  if (bytes.length < 64 || !isElf(bytes)) throw noexec('not an ELF file');
  if (bytes[4] !== 2) throw noexec('not ELFCLASS64');
  if (bytes[5] !== 1) throw noexec('not little-endian');
  if (bytes[6] !== 1) throw noexec('bad EI_VERSION');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getUint16(16, true);
  if (type !== ET_EXEC && type !== ET_DYN) throw noexec(`e_type ${type} is not EXEC or DYN`);
  if (v.getUint16(18, true) !== EM_AARCH64) throw noexec(`e_machine ${v.getUint16(18, true)} is not AArch64`);
  const entry = u64(v, 24);
  const phoff = u64(v, 32);
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  if (phentsize !== 56) throw noexec(`e_phentsize ${phentsize}`);
  if (phnum === 0 || phnum > 65536 / 56) throw noexec(`e_phnum ${phnum}`);
  if (phoff > bytes.length || phoff + phnum * 56 > bytes.length) throw noexec('program headers beyond end of file');
  const phdrs: ProgramHeader[] = [];
  let interp: string | null = null;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * 56;
    const ph: ProgramHeader = {
      type: v.getUint32(o, true),
      flags: v.getUint32(o + 4, true),
      offset: u64(v, o + 8),
      vaddr: u64(v, o + 16),
      filesz: u64(v, o + 32),
      memsz: u64(v, o + 40),
      align: u64(v, o + 48),
    };
    phdrs.push(ph);
    if (ph.type === PT_LOAD) {
      if (ph.filesz > ph.memsz) throw noexec('segment p_filesz > p_memsz');
      if (ph.offset + ph.filesz > bytes.length) throw noexec('segment beyond end of file');
      if (ph.vaddr + ph.memsz >= TASK_SIZE) throw noexec('segment beyond user address space');
      if (ph.offset % PAGE_SIZE !== ph.vaddr % PAGE_SIZE) throw noexec('segment offset and address not congruent');
    } else if (ph.type === PT_INTERP) {
      if (interp !== null) throw noexec('two PT_INTERP headers');
      if (ph.filesz < 2 || ph.filesz > 4096 || ph.offset + ph.filesz > bytes.length) throw noexec('bad PT_INTERP');
      const raw = bytes.subarray(ph.offset, ph.offset + ph.filesz);
      if (raw[raw.length - 1] !== 0) throw noexec('PT_INTERP not NUL-terminated');
      interp = new TextDecoder().decode(raw.subarray(0, raw.length - 1));
    }
  }
  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) throw noexec('no PT_LOAD segment');
  for (let i = 1; i < loads.length; i++) {
    if (loads[i].vaddr < loads[i - 1].vaddr) throw noexec('PT_LOAD segments not in address order');
    if (pageDown(loads[i].vaddr) < pageUp(loads[i - 1].vaddr + loads[i - 1].memsz) - PAGE_SIZE)
      throw noexec('overlapping PT_LOAD segments');
  }
  return { type, entry, phoff, phentsize, phnum, phdrs, interp, bytes };
}

export interface LoadedElf {
  /** Load bias added to every p_vaddr. */
  bias: number;
  entry: number;
  /** Address of the program headers in memory (AT_PHDR), 0 when not mapped. */
  phdrAddr: number;
  /** End of the highest segment (brk start for the main program). */
  end: number;
  /** Lowest mapped address. */
  start: number;
}

function toProt(flags: number): number {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

/** Size of the address range an image's PT_LOADs span. */
export function imageSpan(img: ElfImage): { lo: number; hi: number } {
  const loads = img.phdrs.filter((p) => p.type === PT_LOAD);
  return { lo: pageDown(loads[0].vaddr), hi: pageUp(loads[loads.length - 1].vaddr + loads[loads.length - 1].memsz) };
}

/**
 * Maps every PT_LOAD of `img` at `bias` into `mm`: pages holding file bytes are filled from
 * `img.bytes` (which must never change) on first touch, the rest is zero. Pages shared by two
 * adjacent segments get the union of their permissions and of their bytes.
 */
export function loadElf(mm: Mm, img: ElfImage, bias: number, name: string): LoadedElf {
  const { lo, hi } = imageSpan(img);
  if (bias + hi > TASK_SIZE || hi - lo > mm.quota) throw new KernelError(Errno.ENOMEM, 'image does not fit');
  const pages = ImagePages.of(img.bytes, 'elf', bias, () =>
    img.phdrs
      .filter((ph) => ph.type === PT_LOAD && ph.filesz > 0)
      .map((ph) => ({ start: bias + ph.vaddr, end: bias + ph.vaddr + ph.filesz, offset: ph.offset })),
  );
  let prevEnd = -1;
  let prevProt = 0;
  let phdrAddr = 0;
  for (const ph of img.phdrs) {
    if (ph.type !== PT_LOAD) continue;
    const prot = toProt(ph.flags);
    let start = pageDown(bias + ph.vaddr);
    const end = pageUp(bias + ph.vaddr + ph.memsz);
    if (start < prevEnd) {
      // first page shared with the previous segment: keep its contents, widen permissions
      mm.protect(start, PAGE_SIZE, prot | prevProt);
      start += PAGE_SIZE;
    }
    if (end > start)
      mm.mapAnon(start, end - start, prot, MAP_PRIVATE, name, { ino: 0, dev: 0, offset: pageDown(ph.offset) }, pages);
    if (img.phoff >= ph.offset && img.phoff + img.phnum * 56 <= ph.offset + ph.filesz) {
      phdrAddr = bias + ph.vaddr + (img.phoff - ph.offset);
    }
    prevEnd = end;
    prevProt = prot;
  }
  for (const s of pages.ranges) mm.fillFrom(pageDown(s.start), pageUp(s.end));
  const phdr = img.phdrs.find((p) => p.type === PT_PHDR);
  if (phdr) phdrAddr = bias + phdr.vaddr;
  return { bias, entry: bias + img.entry, phdrAddr, end: bias + hi, start: bias + lo };
}
