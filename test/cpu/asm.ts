/** Test helper: assembles AArch64 snippets with binutils and runs them on a fresh CPU. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type AArch64Cpu,
  type AddressSpaceImpl,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  StopReason,
  createAddressSpace,
  createCpu,
  createPhysicalMemory,
  guestAddr,
} from '@lichen/machine';

const CACHE = resolve(__dirname, '../../.cache/cpu-asm');

/** Machine code for an assembly snippet (cached by source hash). */
export function assemble(source: string): Uint8Array {
  const key = createHash('sha256').update(source).digest('hex').slice(0, 20);
  mkdirSync(CACHE, { recursive: true });
  const bin = join(CACHE, `${key}.bin`);
  if (!existsSync(bin)) {
    const s = join(CACHE, `${key}.s`);
    const o = join(CACHE, `${key}.o`);
    writeFileSync(s, `.text\n.globl _start\n_start:\n${source}\n`);
    execFileSync('aarch64-linux-gnu-as', ['-march=armv8.1-a+crc', '-o', o, s]);
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', '-j', '.text', o, bin + '.tmp']);
    execFileSync('mv', [bin + '.tmp', bin]);
  }
  return new Uint8Array(readFileSync(bin));
}

export const CODE = 0x10000;
export const DATA = 0x40000; // 2 pages RW
export const STACK_TOP = 0x80000;

export interface AsmRun {
  cpu: AArch64Cpu;
  as: AddressSpaceImpl;
  reason: StopReason;
}

/** Runs `source` (end it with `brk #0`) with X registers preset from `regs`. */
export function runAsm(
  source: string,
  regs: Record<number, bigint | number> = {},
  budget = 1_000_000,
  opts: { jit?: boolean; writableCode?: boolean } = {},
): AsmRun {
  const code = assemble(source);
  const phys = createPhysicalMemory(16 << 20);
  const as = createAddressSpace(phys);
  as.mapAnonymous(
    guestAddr(CODE),
    Math.ceil(code.length / 4096) * 4096 || 4096,
    PROT_READ | PROT_EXEC | (opts.writableCode ? PROT_WRITE : 0),
  );
  as.write(guestAddr(CODE), code);
  as.mapAnonymous(guestAddr(DATA), 2 * 4096, PROT_READ | PROT_WRITE);
  as.mapAnonymous(guestAddr(STACK_TOP - 0x10000), 0x10000, PROT_READ | PROT_WRITE);
  const cpu = createCpu(as, { readCounter: () => 12345, counterFrequency: 1000 });
  cpu.jit = opts.jit ?? true;
  cpu.pc = guestAddr(CODE);
  cpu.sp = guestAddr(STACK_TOP);
  for (const [k, v] of Object.entries(regs)) cpu.setX(Number(k), BigInt.asUintN(64, BigInt(v)));
  const reason = cpu.run(budget);
  return { cpu, as, reason };
}

/** X[n] as a signed bigint. */
export function sx(cpu: AArch64Cpu, n: number): bigint {
  return BigInt.asIntN(64, cpu.getX(n));
}
