import { createAddressSpace, createPhysicalMemory, guestAddr, PROT_READ, PROT_WRITE } from '@lichen/machine';
import { describe, expect, it } from 'vitest';
import { copyIn, copyOut, userAddr } from '../uaccess';
import { MAP_ANONYMOUS, MAP_SHARED, Mm } from './mm';
import { SharedPages } from './shared';

const RW = PROT_READ | PROT_WRITE;
const A = 0x10000000;
const PG = 4096;

function setup(): { mm: Mm; obj: SharedPages; free: number } {
  const memory = createPhysicalMemory(4 << 20);
  const mm = new Mm(createAddressSpace(memory));
  const free = memory.freeFrames;
  const obj = SharedPages.anonymous(memory, 4 * PG);
  mm.mapShared(A, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, '/dev/zero (deleted)', obj, 0);
  return { mm, obj, free };
}
const put = (mm: Mm, at: number, s: string): void => copyOut(mm.as, userAddr(at), new TextEncoder().encode(s));
const get = (mm: Mm, at: number, n: number): string => new TextDecoder().decode(copyIn(mm.as, userAddr(at), n));

describe('shared anonymous objects in Mm', () => {
  it('share frames with a forked map, allocate only touched pages and free them with the last map', () => {
    const { mm, free } = setup();
    const memory = mm.as.memory;
    expect(memory.freeFrames).toBe(free); // nothing allocated at mmap time
    put(mm, A, 'before');
    const child = mm.fork();
    expect(get(child, A, 6)).toBe('before');
    put(child, A + 3 * PG, 'child'); // a page nobody had touched before the fork
    expect(get(mm, A + 3 * PG, 5)).toBe('child');
    expect(free - memory.freeFrames).toBe(2); // two object pages, counted once for both maps
    mm.destroy();
    expect(get(child, A, 6)).toBe('before');
    child.destroy();
    expect(memory.freeFrames).toBe(free);
  });

  it('keep the object alive across partial munmap and a second mapping, and refault after DONTNEED', () => {
    const { mm, obj, free } = setup();
    put(mm, A + PG, 'one');
    mm.unmap(A, PG);
    expect(obj.users.has(mm)).toBe(true);
    mm.mapShared(A + 8 * PG, 2 * PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, '', obj, PG);
    expect(get(mm, A + 8 * PG, 3)).toBe('one');
    mm.discard(A + PG, A + 2 * PG);
    expect(mm.as.query(guestAddr(A + PG))?.frame).toBe(-1);
    expect(get(mm, A + PG, 3)).toBe('one');
    mm.unmap(A, 4 * PG);
    expect(obj.users.has(mm)).toBe(true); // still mapped at A + 8 pages
    mm.unmap(A + 8 * PG, 2 * PG);
    expect(obj.users.size).toBe(0);
    expect(mm.as.memory.freeFrames).toBe(free);
  });

  it('report pages past the object size as bus errors and refuse PROT_WRITE on noWrite mappings', () => {
    const { mm, obj } = setup();
    mm.mapShared(A + 16 * PG, 8 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, '', obj, 0);
    expect(mm.as.read(guestAddr(A + 20 * PG), new Uint8Array(1))?.fault.cause).toBe('bus');
    mm.mapShared(A + 32 * PG, PG, PROT_READ, MAP_SHARED, '/f', obj, 0, { ino: 1, dev: 1, noWrite: true });
    expect(() => mm.protect(A + 32 * PG, PG, RW)).toThrow();
    mm.protect(A + 32 * PG, PG, PROT_READ);
  });
});
