/**
 * Test-only harness: builds static aarch64 guest programs, loads them into a Lichen CPU with
 * a minimal ELF loader and syscall shim (the real loader and syscalls are the kernel's job),
 * and runs them under qemu-aarch64-static for comparison.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  type AddressSpaceImpl,
  type AArch64Cpu,
  HWCAP,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  StopReason,
  createAddressSpace,
  createCpu,
  createPhysicalMemory,
  guestAddr,
} from '@lichen/machine';
import { type Variant, fixture } from '../support/fixtures';

/** Path of the fixture binary test/guest/<name>.c built statically at `opt` (H5's fixture builder). */
export function buildGuest(name: string, opt: '-O0' | '-O2' | '-O3' = '-O2'): string {
  return fixture(name, `static-${opt.slice(1)}` as Variant);
}

export interface GuestResult {
  stdout: string;
  exitCode: number;
  instructions: number;
  /** Unexpected stop (fault/undefined), described. */
  error?: string;
  unknownSyscalls: number[];
}

/** Runs a binary under qemu-aarch64-static. */
export function runQemu(path: string, args: string[] = []): { stdout: string; exitCode: number } {
  const r = spawnSync('qemu-aarch64-static', [path, ...args], { encoding: 'latin1', maxBuffer: 1 << 28 });
  return { stdout: r.stdout, exitCode: r.status ?? -1 };
}

const PAGE = 4096;
const STACK_TOP = 0x7fff_f000_0000;
const STACK_SIZE = 8 << 20;
const MMAP_BASE = 0x7f00_0000_0000;

const ENOENT = 2;
const EBADF = 9;
const ENOMEM = 12;
const EINVAL = 22;
const ENOTTY = 25;
const ENOSYS = 38;

/** Loads a static ELF and runs it under the Lichen CPU with the test syscall shim. */
export function runLichen(
  path: string,
  args: string[] = [],
  opts: { memoryBytes?: number; maxInstructions?: number; onCpu?: (cpu: AArch64Cpu) => void } = {},
): GuestResult {
  const elf = readFileSync(path);
  const phys = createPhysicalMemory(opts.memoryBytes ?? 512 << 20);
  const as = createAddressSpace(phys);
  let icount = 0;
  const cpu = createCpu(as, { readCounter: () => icount, counterFrequency: 62_500_000 });
  opts.onCpu?.(cpu);
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (dv.getUint32(0, false) !== 0x7f454c46 || dv.getUint16(18, true) !== 183) throw new Error('not an aarch64 ELF');
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  let brkStart = 0;
  let phdrAddr = 0;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const type = dv.getUint32(o, true);
    const flags = dv.getUint32(o + 4, true);
    const off = Number(dv.getBigUint64(o + 8, true));
    const vaddr = Number(dv.getBigUint64(o + 16, true));
    const filesz = Number(dv.getBigUint64(o + 32, true));
    const memsz = Number(dv.getBigUint64(o + 40, true));
    if (type === 6) phdrAddr = vaddr;
    if (type !== 1) continue;
    if (off <= phoff && phoff < off + filesz) phdrAddr = vaddr + (phoff - off);
    const start = vaddr - (vaddr % PAGE);
    const end = Math.ceil((vaddr + memsz) / PAGE) * PAGE;
    let prot = 0;
    if (flags & 4) prot |= PROT_READ;
    if (flags & 2) prot |= PROT_WRITE;
    if (flags & 1) prot |= PROT_EXEC;
    as.mapAnonymous(guestAddr(start), end - start, prot);
    const fault = as.write(guestAddr(vaddr), elf.subarray(off, off + filesz));
    if (fault) throw new Error('loader write fault');
    brkStart = Math.max(brkStart, end);
  }
  // Stack with argv, envp, auxv.
  as.mapAnonymous(guestAddr(STACK_TOP - STACK_SIZE), STACK_SIZE, PROT_READ | PROT_WRITE);
  let sp = STACK_TOP;
  const putBytes = (b: Uint8Array): number => {
    sp -= b.length;
    as.write(guestAddr(sp), b);
    return sp;
  };
  const argv = [path, ...args].map((a) => putBytes(Buffer.from(a + '\0')));
  const envp = [putBytes(Buffer.from('LANG=C\0'))];
  const random = putBytes(new Uint8Array(16).map((_, i) => i * 7 + 1));
  const platform = putBytes(Buffer.from('aarch64\0'));
  sp -= sp % 16;
  const auxv: [number, number][] = [
    [3, phdrAddr], // AT_PHDR
    [4, phentsize],
    [5, phnum],
    [6, PAGE],
    [9, entry],
    [11, 0],
    [12, 0],
    [13, 0],
    [14, 0],
    [16, HWCAP],
    [17, 100],
    [23, 0],
    [25, random],
    [15, platform],
    [0, 0],
  ];
  const words: number[] = [argv.length, ...argv, 0, ...envp, 0, ...auxv.flat()];
  if (words.length % 2) words.push(0);
  sp -= words.length * 8;
  const block = new DataView(new ArrayBuffer(words.length * 8));
  words.forEach((w, i) => block.setBigUint64(i * 8, BigInt(w), true));
  as.write(guestAddr(sp), new Uint8Array(block.buffer));
  cpu.sp = guestAddr(sp);
  cpu.pc = guestAddr(entry);

  let brk = brkStart;
  let mmapNext = MMAP_BASE;
  const out: string[] = [];
  const unknown: number[] = [];
  const max = opts.maxInstructions ?? 2e9;
  const readMem = (addr: number, len: number): Uint8Array => {
    const b = new Uint8Array(len);
    if (as.read(guestAddr(addr), b)) throw new Error('EFAULT');
    return b;
  };
  const syscall = (nr: number): number | 'exit' => {
    const a0 = cpu.getXNumber(0);
    const a1 = cpu.getXNumber(1);
    const a2 = cpu.getXNumber(2);
    switch (nr) {
      case 64: // write
        if (a0 !== 1 && a0 !== 2) return -EBADF;
        if (a0 === 1) out.push(Buffer.from(readMem(a1, a2)).toString('latin1'));
        return a2;
      case 66: {
        // writev
        if (a0 !== 1 && a0 !== 2) return -EBADF;
        let total = 0;
        for (let i = 0; i < a2; i++) {
          const iov = new DataView(readMem(a1 + i * 16, 16).buffer);
          const base = Number(iov.getBigUint64(0, true));
          const len = Number(iov.getBigUint64(8, true));
          if (a0 === 1) out.push(Buffer.from(readMem(base, len)).toString('latin1'));
          total += len;
        }
        return total;
      }
      case 93:
      case 94:
        return 'exit';
      case 214: // brk
        if (a0 === 0 || a0 < brkStart) return brk;
        if (a0 > brk) as.mapAnonymous(guestAddr(brk), Math.ceil((a0 - brk) / PAGE) * PAGE, PROT_READ | PROT_WRITE);
        brk = Math.ceil(a0 / PAGE) * PAGE;
        return a0;
      case 222: {
        // mmap (anonymous only)
        const flags = cpu.getW(3);
        if ((flags & 0x20) === 0) return -ENOSYS;
        const len = Math.ceil(a1 / PAGE) * PAGE;
        if (len === 0) return -EINVAL;
        let addr = a0;
        if (!(flags & 0x10) || addr === 0) {
          addr = mmapNext;
          mmapNext += len + PAGE;
        }
        if (mmapNext > STACK_TOP - STACK_SIZE) return -ENOMEM;
        as.mapAnonymous(guestAddr(addr), len, a2 & 7);
        return addr;
      }
      case 215: // munmap
        as.unmap(guestAddr(a0), Math.ceil(a1 / PAGE) * PAGE);
        return 0;
      case 226: // mprotect
        as.protect(guestAddr(a0), Math.ceil(a1 / PAGE) * PAGE, a2 & 7);
        return 0;
      case 96: // set_tid_address
        return 1000;
      case 172: // getpid
      case 178: // gettid
        return 1000;
      case 99: // set_robust_list
      case 135: // rt_sigprocmask
      case 134: // rt_sigaction
        return 0;
      case 160: {
        // uname
        const u = new Uint8Array(65 * 6);
        ['Linux', 'lichen', '6.1.0', '#1', 'aarch64', ''].forEach((f, i) => u.set(Buffer.from(f), i * 65));
        as.write(guestAddr(a0), u);
        return 0;
      }
      case 278: {
        // getrandom: deterministic bytes
        as.write(
          guestAddr(a0),
          new Uint8Array(a1).map((_, i) => (i * 37 + 11) & 255),
        );
        return a1;
      }
      case 78: // readlinkat
      case 48: // faccessat
        return -ENOENT;
      case 29: // ioctl
        return -ENOTTY;
      case 113: {
        // clock_gettime: derived from the instruction count
        const ns = icount * 16;
        const b = new DataView(new ArrayBuffer(16));
        b.setBigUint64(0, BigInt(Math.floor(ns / 1e9)), true);
        b.setBigUint64(8, BigInt(ns % 1e9), true);
        as.write(guestAddr(a1), new Uint8Array(b.buffer));
        return 0;
      }
      default:
        unknown.push(nr);
        return -ENOSYS;
    }
  };
  for (;;) {
    const why = cpu.run(Math.min(50_000_000, max - icount));
    icount += cpu.retired;
    if (why === StopReason.Svc) {
      const nr = cpu.getXNumber(8);
      const r = syscall(nr);
      if (r === 'exit')
        return { stdout: out.join(''), exitCode: cpu.getW(0) & 255, instructions: icount, unknownSyscalls: unknown };
      cpu.setXNumber(0, r);
      continue;
    }
    if (why === StopReason.Budget) {
      if (icount >= max) return fail('instruction limit reached');
      continue;
    }
    if (why === StopReason.Fault) {
      const f = cpu.lastFault;
      return fail(`fault ${f?.cause} ${f?.access} addr=0x${f?.addr.toString(16)} pc=0x${f?.pc.toString(16)}`);
    }
    if (why === StopReason.Undefined)
      return fail(
        `undefined instruction 0x${cpu.undefinedInsn.toString(16).padStart(8, '0')} at pc=0x${cpu.pc.toString(16)}`,
      );
    return fail(`stopped: ${why} at pc=0x${cpu.pc.toString(16)}`);
  }
  function fail(error: string): GuestResult {
    return { stdout: out.join(''), exitCode: -1, instructions: icount, error, unknownSyscalls: unknown };
  }
}

/** Disassembles one instruction word (for error messages). */
export function disassemble(word: number): string {
  const r = spawnSync(
    'bash',
    [
      '-c',
      `printf '%s' "$0" | xxd -r -p > /tmp/lichen-dis.bin && aarch64-linux-gnu-objdump -D -b binary -m aarch64 /tmp/lichen-dis.bin | tail -1`,
      Buffer.from(new Uint32Array([word]).buffer).toString('hex'),
    ],
    { encoding: 'utf8' },
  );
  return r.stdout.trim();
}

export type { AddressSpaceImpl };
