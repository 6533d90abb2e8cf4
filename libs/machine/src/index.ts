export * from './api';
export { AArch64Cpu, createAddressSpace, createCpu, createPhysicalMemory } from './cpu';
export { AddressSpaceImpl, PageCode, PhysicalMemoryImpl } from './memory';
export { HWCAP, ID_REGISTERS, DCZ_BLOCK } from './exec/branch';
export { Decoder, defaultDecoder } from './decode/dispatch';
export { ALL_ROWS, BASE_ROWS, FAST_ROWS } from './decode/table';
export type { DecodeRow, Handler } from './decode/types';
export { CpuState } from './state';
