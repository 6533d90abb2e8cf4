/**
 * What hot kernel paths read from @lichen/machine, bound once. The machine's package index
 * re-exports by name, which leaves its exports object in V8's dictionary mode: every
 * `machine_1.PAGE_SIZE` read is a hash lookup and a getter call V8 does not inline (about 1%
 * of a short VM, mostly in page fills). These are plain properties of this module.
 */
import * as machine from '@lichen/machine';

export const PAGE_SIZE = machine.PAGE_SIZE;
export const PROT_READ = machine.PROT_READ;
export const PROT_WRITE = machine.PROT_WRITE;
export const PROT_EXEC = machine.PROT_EXEC;
export const guestAddr = machine.guestAddr;
