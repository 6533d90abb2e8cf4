import type { Kernel } from '../kernel';
import type { Task } from '../task';
import type { SyscallArgs } from './args';

/** A syscall handler: a result (>= 0) or -errno, at once or after waiting. May throw KernelError. */
export type Handler = (k: Kernel, t: Task, a: SyscallArgs) => number | Promise<number>;

export type SyscallStatus = 'supported' | 'partial' | 'unsupported';

export interface SyscallDef {
  handler: Handler | null;
  status?: SyscallStatus;
  note?: string;
}

/** One family's syscalls by name (names as in the aarch64 unistd table). */
export type SyscallDefs = Record<string, SyscallDef>;

/** Returned by handlers that set the registers themselves (rt_sigreturn, execve). */
export const RETURN_NONE = -(2 ** 40);
