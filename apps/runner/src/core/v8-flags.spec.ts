import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { interruptBudget, SERVICE_INTERRUPT_BUDGET } from './v8-flags';

describe('service V8 interrupt budget', () => {
  it('defaults to the service budget and takes LICHEN_V8_INTERRUPT_BUDGET', () => {
    expect(interruptBudget({})).toBe(SERVICE_INTERRUPT_BUDGET);
    expect(interruptBudget({ LICHEN_V8_INTERRUPT_BUDGET: '65536' })).toBe(65536);
  });

  it('keeps V8 default for 0 and leaves out-of-range values to the config check', () => {
    expect(interruptBudget({ LICHEN_V8_INTERRUPT_BUDGET: '0' })).toBeNull();
    expect(interruptBudget({ LICHEN_V8_INTERRUPT_BUDGET: '12' })).toBeNull();
    expect(() => loadConfig({ LICHEN_V8_INTERRUPT_BUDGET: '12' })).toThrow(
      /LICHEN_V8_INTERRUPT_BUDGET.*at least 1024/s,
    );
    expect(() => loadConfig({ LICHEN_V8_INTERRUPT_BUDGET: 'fast' })).toThrow(/LICHEN_V8_INTERRUPT_BUDGET/);
    expect(loadConfig({ LICHEN_V8_INTERRUPT_BUDGET: '0' })).toBeTruthy();
  });
});
