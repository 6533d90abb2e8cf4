/**
 * What the package index exports besides api.ts and cpu.ts, as plain data properties. The index
 * only re-exports with `export *`: a named re-export (`export { X } from`) makes TypeScript
 * define X as a data property and then redefine it as a getter, which turns the CommonJS exports
 * object into a slow (dictionary-mode) object, and every `machine_1.X` read of the kernel into a
 * hash lookup and a getter call V8 cannot inline. `export *` of the defining modules would
 * export their internals too, so each name is a const (and, for classes, a type) of its own.
 */
import * as dispatch from './decode/dispatch';
import * as table from './decode/table';
import * as branch from './exec/branch';
import * as memory from './memory';
import * as state from './state';

export type { DecodeRow, Handler } from './decode/types';

export const AddressSpaceImpl = memory.AddressSpaceImpl;
export type AddressSpaceImpl = memory.AddressSpaceImpl;
export const PageCode = memory.PageCode;
export type PageCode = memory.PageCode;
export const PhysicalMemoryImpl = memory.PhysicalMemoryImpl;
export type PhysicalMemoryImpl = memory.PhysicalMemoryImpl;
export const HWCAP = branch.HWCAP;
export const ID_REGISTERS = branch.ID_REGISTERS;
export const DCZ_BLOCK = branch.DCZ_BLOCK;
export const Decoder = dispatch.Decoder;
export type Decoder = dispatch.Decoder;
export const defaultDecoder = dispatch.defaultDecoder;
export const ALL_ROWS = table.ALL_ROWS;
export const BASE_ROWS = table.BASE_ROWS;
export const FAST_ROWS = table.FAST_ROWS;
export const CpuState = state.CpuState;
export type CpuState = state.CpuState;
