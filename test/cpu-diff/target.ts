/** A fresh Lichen CPU for differential runs, with the harness's code and scratch pages mapped. */
import { createAddressSpace, createCpu, createPhysicalMemory } from '../../libs/machine/src/index';
import { prepareTarget, type LichenTarget } from './lichen';

export function makeLichenTarget(): LichenTarget {
  const phys = createPhysicalMemory(8 << 20);
  const space = createAddressSpace(phys);
  const cpu = createCpu(space, { readCounter: () => 0, counterFrequency: 62_500_000 });
  const t = { cpu, space };
  prepareTarget(t);
  return t;
}
