export * from './vm-api';
export { runVm, createVm, Vm, DEFAULT_PATH } from './vm';
export { Errno, KernelError, errnoName } from './errno';
export { SYSCALL_TABLE, type SyscallEntry } from './syscalls/table';
export { SYSCALL_NUMBERS } from './syscalls/numbers';
export { parseElf, type ElfImage } from './elf/elf';
