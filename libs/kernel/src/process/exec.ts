/**
 * execve/execveat: `#!` scripts, ELF (static, static-PIE, dynamic with PT_INTERP), the
 * initial stack (argv, envp, auxv with HWCAP, AT_RANDOM, AT_EXECFN, …) and the point of no
 * return (new address space, CLOEXEC, signal dispositions).
 */
import { HWCAP, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, guestAddr, type Cpu } from '@lichen/machine';
import { AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, type OpenFile, type PathRef } from '@lichen/vfs';
import { Errno, KernelError } from '../errno';
import { imageSpan, isElf, loadElf, parseElf, ET_DYN, type ElfImage } from '../elf/elf';
import type { Kernel } from '../kernel';
import { ELF_ET_DYN_BASE, MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_PRIVATE, Mm, SIGTRAMP_ADDR, pageUp } from '../mm/mm';
import { SIG_DFL, SIG_IGN } from '../signal/signals';
import type { SyscallDefs } from '../syscalls/types';
import { RETURN_NONE } from '../syscalls/types';
import { RLIMIT_STACK, type Task } from '../task';
import { pokeKernel, readPath, readStringArray, type UserAddr } from '../uaccess';
import { dirfdRef } from '../fs/paths';
import { exitPosixTimers } from '../time/posix-timers';
import { exitRobustList } from './futex';
import { releasePosixLocks } from '../fs/locks';

/** Largest executable or interpreter read into memory. */
const MAX_IMAGE = 512 * 1024 * 1024;
const MAX_SHEBANG_DEPTH = 4;

const AT_NULL = 0;
const AT_PHDR = 3;
const AT_PHENT = 4;
const AT_PHNUM = 5;
const AT_PAGESZ = 6;
const AT_BASE = 7;
const AT_FLAGS = 8;
const AT_ENTRY = 9;
const AT_UID = 11;
const AT_EUID = 12;
const AT_GID = 13;
const AT_EGID = 14;
const AT_PLATFORM = 15;
const AT_HWCAP = 16;
const AT_CLKTCK = 17;
const AT_SECURE = 23;
const AT_RANDOM = 25;
const AT_HWCAP2 = 26;
const AT_EXECFN = 31;
const AT_MINSIGSTKSZ = 51;

/** movz x8, #139 (rt_sigreturn); svc #0 */
const SIGTRAMP_CODE = new Uint8Array([0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4]);

async function readWhole(k: Kernel, f: OpenFile): Promise<Uint8Array> {
  const size = f.stat().size;
  if (size > MAX_IMAGE) throw new KernelError(Errno.ENOMEM, 'executable too large');
  const buf = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = await k.hostIo(f.pread(buf.subarray(got), got));
    if (n <= 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Executables and interpreters whose bytes can never change (files of the read-only image,
 * not copied up), kept between execs. The mounted image is shared by the VMs of a runner
 * thread, so its file nodes, and this cache, serve them all: a shell script's every exec of
 * /bin/busybox, or every VM of a batch, reads the binary once. Parsing and loading only read
 * these bytes. LRU, bounded.
 */
const executables = new Map<object, Uint8Array>();
let executableBytes = 0;
const MAX_CACHED_EXECUTABLES_BYTES = 64 * 1024 * 1024;
const MAX_CACHED_EXECUTABLE_BYTES = 16 * 1024 * 1024;

async function readExecutable(k: Kernel, f: OpenFile): Promise<Uint8Array> {
  const key = f.contentKey();
  if (key === null) return readWhole(k, f);
  const hit = executables.get(key);
  if (hit !== undefined) {
    executables.delete(key);
    executables.set(key, hit);
    return hit;
  }
  const bytes = await readWhole(k, f);
  if (bytes.length <= MAX_CACHED_EXECUTABLE_BYTES) {
    executables.set(key, bytes);
    executableBytes += bytes.length;
    for (const [old, b] of executables) {
      if (executableBytes <= MAX_CACHED_EXECUTABLES_BYTES) break;
      executables.delete(old);
      executableBytes -= b.length;
    }
  }
  return bytes;
}

/**
 * The bytes of a regular file that can never change, through the executable cache, when it
 * is small enough to be kept there (the shared libraries ld.so maps); null otherwise.
 */
export async function immutableBytes(k: Kernel, f: OpenFile): Promise<Uint8Array | null> {
  const st = f.stat();
  if ((st.mode & 0o170000) !== 0o100000 || st.size > MAX_CACHED_EXECUTABLE_BYTES || f.contentKey() === null)
    return null;
  return readExecutable(k, f);
}

/** Parsed headers of executables by their bytes (which never change: see above). */
const parsedImages = new WeakMap<Uint8Array, ElfImage>();

function parseImage(bytes: Uint8Array): ElfImage {
  let img = parsedImages.get(bytes);
  if (img === undefined) {
    img = parseElf(bytes);
    parsedImages.set(bytes, img);
  }
  return img;
}

export interface ExecRequest {
  at: PathRef | undefined;
  path: string;
  argv: Uint8Array[];
  envp: Uint8Array[];
  flags: number;
}

interface Prepared {
  main: ElfImage;
  interp: ElfImage | null;
  argv: Uint8Array[];
  execPath: string;
  exePath: string;
}

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');
/** AT_PLATFORM's string. */
const PLATFORM = enc('aarch64');

/** Resolves the file, follows `#!` lines, parses the ELF and its interpreter. No side effects. */
async function prepare(k: Kernel, t: Task, req: ExecRequest): Promise<Prepared> {
  let { at, path, argv } = req;
  let flags = req.flags;
  for (let depth = 0; ; depth++) {
    const ctx = t.process.fs.ctx;
    const f = await k.hostIo(k.vfs.openExec(ctx, at, path, flags));
    const bytes = await readExecutable(k, f);
    const exePath = k.vfs.pathOf(f.path, ctx.root);
    await f.release();
    if (bytes.length >= 2 && bytes[0] === 0x23 && bytes[1] === 0x21) {
      if (depth >= MAX_SHEBANG_DEPTH) throw new KernelError(Errno.ELOOP);
      let end = bytes.indexOf(0x0a);
      if (end < 0) end = Math.min(bytes.length, 256);
      if (end > 256) throw new KernelError(Errno.ENOEXEC);
      const line = Buffer.from(bytes.subarray(2, end))
        .toString('latin1')
        .replace(/[ \t\r]+$/, '')
        .replace(/^[ \t]+/, '');
      if (line === '') throw new KernelError(Errno.ENOEXEC);
      const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) throw new KernelError(Errno.ENOEXEC);
      const interp = m[1];
      const arg = m[2];
      const rest = argv.slice(1);
      argv = [enc(interp), ...(arg !== undefined && arg !== '' ? [enc(arg)] : []), enc(path), ...rest];
      path = interp;
      at = undefined;
      flags = 0;
      continue;
    }
    if (!isElf(bytes)) throw new KernelError(Errno.ENOEXEC);
    const main = parseImage(bytes);
    let interp: ElfImage | null = null;
    if (main.interp !== null) {
      const fi = await k.hostIo(k.vfs.openExec(ctx, undefined, main.interp, 0)).catch((e: unknown) => {
        // Linux reports a missing interpreter as ENOENT of the program
        throw e;
      });
      const ib = await readExecutable(k, fi);
      await fi.release();
      interp = parseImage(ib);
      if (interp.interp !== null) throw new KernelError(Errno.ENOEXEC, 'interpreter has an interpreter');
    }
    return { main, interp, argv, execPath: req.path, exePath };
  }
}

/** Builds the new image in a fresh address space; returns entry, sp and the new Mm. */
function buildImage(k: Kernel, t: Task, p: Prepared, envp: Uint8Array[]): { mm: Mm; entry: number; sp: number } {
  const mm = new Mm(k.machine.newAddressSpace());
  mm.quota = k.memoryLimit;
  mm.stackLimit = Math.min(t.process.rlimits[RLIMIT_STACK].cur, 256 * 1024 * 1024);
  try {
    const mainBias = p.main.type === ET_DYN ? ELF_ET_DYN_BASE - imageSpan(p.main).lo : 0;
    const main = loadElf(mm, p.main, mainBias, p.exePath);
    mm.brkStart = mm.brk = pageUp(main.end);
    // reserve the brk area so mmap never lands right after the program
    let entry = main.entry;
    let interpBase = 0;
    if (p.interp) {
      const span = imageSpan(p.interp);
      const at = mm.findFree(span.hi - span.lo);
      const li = loadElf(mm, p.interp, at - span.lo, p.main.interp ?? '');
      interpBase = li.start;
      entry = li.entry;
    }
    // stack
    const stackLow = mm.stackTop - mm.stackLimit;
    mm.mapAnon(stackLow, mm.stackLimit, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, '[stack]');
    // sigreturn trampoline
    mm.mapAnon(SIGTRAMP_ADDR, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, '[vdso]');
    pokeKernel(mm.as, SIGTRAMP_ADDR, SIGTRAMP_CODE);
    const random = new Uint8Array(16);
    k.rng.fill(random);
    const c = t.process.creds;
    const sp = buildStack(mm, p.argv, envp, p.execPath, random, [
      [AT_HWCAP, HWCAP],
      [AT_PAGESZ, PAGE_SIZE],
      [AT_CLKTCK, 100],
      [AT_PHDR, main.phdrAddr],
      [AT_PHENT, 56],
      [AT_PHNUM, p.main.phnum],
      [AT_BASE, interpBase],
      [AT_FLAGS, 0],
      [AT_ENTRY, main.entry],
      [AT_UID, c.uid],
      [AT_EUID, c.euid],
      [AT_GID, c.gid],
      [AT_EGID, c.egid],
      [AT_SECURE, 0],
      [AT_HWCAP2, 0],
      [AT_MINSIGSTKSZ, 5120],
    ]);
    return { mm, entry, sp };
  } catch (e) {
    mm.destroy();
    throw e;
  }
}

let stackScratch = new Uint8Array(4096);

/**
 * `n` zero bytes to stage what buildStack writes to guest memory (pokeKernel copies them), in
 * one buffer kept for the thread: a fresh buffer of that size was an off-heap allocation.
 * Huge argument lists get a buffer of their own, so the thread does not keep it.
 */
function scratch(n: number): Uint8Array {
  if (n > 64 * 1024) return new Uint8Array(n);
  if (n > stackScratch.length) stackScratch = new Uint8Array(64 * 1024);
  const b = stackScratch.subarray(0, n);
  b.fill(0);
  return b;
}

/**
 * Lays out the initial stack like Linux's create_elf_tables: strings at the top (argv, envp,
 * the execfn), "aarch64", 16 random bytes, then argc, argv[], NULL, envp[], NULL, auxv.
 */
export function buildStack(
  mm: Mm,
  argv: Uint8Array[],
  envp: Uint8Array[],
  execfn: string,
  random: Uint8Array,
  aux: [number, number][],
): number {
  // Addresses first (strings downwards from the top: execfn, envp and argv last to first,
  // the platform, then AT_RANDOM's bytes 16-aligned), then one write of all of them.
  const top = mm.stackTop - 8;
  const execfnBytes = enc(execfn);
  let sp = top - (execfnBytes.length + 1);
  const execfnAddr = sp;
  const envAddrs: number[] = new Array<number>(envp.length);
  for (let i = envp.length - 1; i >= 0; i--) envAddrs[i] = sp -= envp[i].length + 1;
  mm.envStart = envAddrs.length ? envAddrs[0] : sp;
  mm.envEnd = execfnAddr;
  const argAddrs: number[] = new Array<number>(argv.length);
  for (let i = argv.length - 1; i >= 0; i--) argAddrs[i] = sp -= argv[i].length + 1;
  mm.argStart = argAddrs.length ? argAddrs[0] : sp;
  mm.argEnd = mm.envStart;
  const platform = (sp -= PLATFORM.length + 1);
  sp -= sp % 16;
  const randomAddr = (sp -= random.length);
  // The bytes between are zeros (string terminators, alignment), as the fresh stack has.
  const strings = scratch(top - randomAddr);
  strings.set(random, 0);
  strings.set(PLATFORM, platform - randomAddr);
  for (let i = 0; i < argv.length; i++) strings.set(argv[i], argAddrs[i] - randomAddr);
  for (let i = 0; i < envp.length; i++) strings.set(envp[i], envAddrs[i] - randomAddr);
  strings.set(execfnBytes, execfnAddr - randomAddr);
  pokeKernel(mm.as, randomAddr, strings);

  // auxv: `aux`, then AT_PLATFORM, AT_RANDOM, AT_EXECFN and AT_NULL
  const words = 1 + argAddrs.length + 1 + envAddrs.length + 1 + (aux.length + 4) * 2;
  sp = Math.floor((sp - words * 8) / 16) * 16;
  const table = scratch(words * 8);
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  let o = 0;
  // Every word is an integer below 2^53 in magnitude: two 32-bit halves (two's complement,
  // as setBigUint64 wrote them), no BigInt.
  const w = (x: number): void => {
    v.setUint32(o, x >>> 0, true);
    v.setUint32(o + 4, Math.floor(x / 0x1_0000_0000), true);
    o += 8;
  };
  w(argAddrs.length);
  for (const a of argAddrs) w(a);
  w(0);
  for (const a of envAddrs) w(a);
  w(0);
  for (let i = 0; i < aux.length; i++) {
    w(aux[i][0]);
    w(aux[i][1]);
  }
  w(AT_PLATFORM);
  w(platform);
  w(AT_RANDOM);
  w(randomAddr);
  w(AT_EXECFN);
  w(execfnAddr);
  w(AT_NULL);
  w(0);
  pokeKernel(mm.as, sp, table);
  return sp;
}

function resetRegisters(cpu: Cpu, entry: number, sp: number): void {
  for (let i = 0; i < 31; i++) cpu.setXNumber(i, 0);
  const zero = new Uint8Array(16);
  for (let i = 0; i < 32; i++) cpu.setV(i, zero);
  cpu.sp = guestAddr(sp);
  cpu.pc = guestAddr(entry);
  cpu.nzcv = 0;
  cpu.fpcr = 0;
  cpu.fpsr = 0;
  cpu.tpidrEl0 = 0n;
  cpu.clearExclusive();
}

/** The whole of execve for task `t`. Resolves RETURN_NONE (registers set) or rejects. */
export async function doExec(k: Kernel, t: Task, req: ExecRequest): Promise<number> {
  const prepared = await prepare(k, t, req);
  if (t.state === 'dead') return RETURN_NONE;
  const img = buildImage(k, t, prepared, req.envp);
  // ---- point of no return ----
  const p = t.process;
  for (const th of [...p.threads]) if (th !== t) k.exitTask(th, 0);
  exitRobustList(k, t); // Linux exec_mm_release: robust futexes of the old image
  exitPosixTimers(k, p);
  const oldMm = t.mm;
  p.maxRssPages = Math.max(p.maxRssPages, oldMm.as.peakResidentPages);
  t.mm = img.mm;
  if (--oldMm.users === 0) oldMm.destroy();
  if (p.vforkDone) {
    p.vforkDone.wakeAll();
    p.vforkDone = null;
  }
  if (t.files.users > 1) {
    t.files.users--;
    t.files = t.files.clone();
  }
  for (const f of t.files.takeCloexec()) {
    releasePosixLocks(k, p, f);
    f.flush(p);
    k.closeFile(f);
  }
  if (t.sighand.users > 1) {
    t.sighand.users--;
    t.sighand = t.sighand.clone();
  }
  for (const act of t.sighand.actions) {
    if (act.handler !== SIG_IGN) {
      act.handler = SIG_DFL;
      act.flags = 0;
      act.mask = 0n;
      act.restorer = 0;
    }
  }
  t.altstack = { sp: 0, size: 0, flags: 2 };
  t.clearChildTid = 0;
  t.robustList = 0;
  const base = prepared.exePath.slice(prepared.exePath.lastIndexOf('/') + 1);
  p.comm = t.comm = base.slice(0, 15);
  p.exePath = prepared.exePath;
  p.argv = prepared.argv;
  p.envp = req.envp;
  k.withRegs(t, (cpu) => {
    cpu.addressSpace = t.mm.as;
    resetRegisters(cpu, img.entry, img.sp);
  });
  return RETURN_NONE;
}

async function sysExecve(
  k: Kernel,
  t: Task,
  dirfd: number,
  pathPtr: UserAddr,
  argvPtr: UserAddr,
  envPtr: UserAddr,
  flags: number,
): Promise<number> {
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -Errno.EINVAL;
  const as = t.mm.as;
  const path = readPath(as, pathPtr);
  const argv = readStringArray(as, argvPtr);
  const envp = readStringArray(as, envPtr);
  if (path === '' && !(flags & AT_EMPTY_PATH)) return -Errno.ENOENT;
  const at = dirfd === -100 ? undefined : dirfdRef(t, dirfd);
  return doExec(k, t, { at, path, argv, envp, flags });
}

export const execSyscalls: SyscallDefs = {
  execve: {
    handler: (k, t, a) => sysExecve(k, t, -100, a.p(0), a.p(1), a.p(2), 0),
    note: 'static, static-PIE and dynamic ELF, #! scripts (4 levels)',
  },
  execveat: { handler: (k, t, a) => sysExecve(k, t, a.i(0), a.p(1), a.p(2), a.p(3), a.i(4)) },
};
