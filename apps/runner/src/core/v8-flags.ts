import { setFlagsFromString } from 'node:v8';

/** Default V8 interrupt budget of the service processes (V8's own is 132 KiB of bytecode). */
export const SERVICE_INTERRUPT_BUDGET = 16 * 1024;

/** Bounds accepted for LICHEN_V8_INTERRUPT_BUDGET (0 keeps V8's default). */
export const INTERRUPT_BUDGET_MIN = 1024;
export const INTERRUPT_BUDGET_MAX = 1024 * 1024;

/**
 * The interrupt budget the service processes run with, from LICHEN_V8_INTERRUPT_BUDGET:
 * null keeps V8's default (`0`), and a value the config would reject is ignored here
 * (loadConfig reports it clearly a moment later).
 */
export function interruptBudget(env: NodeJS.ProcessEnv): number | null {
  const raw = env.LICHEN_V8_INTERRUPT_BUDGET;
  if (raw === undefined || raw.trim() === '') return SERVICE_INTERRUPT_BUDGET;
  const n = Number(raw);
  if (n === 0) return null;
  if (!Number.isSafeInteger(n) || n < INTERRUPT_BUDGET_MIN || n > INTERRUPT_BUDGET_MAX) return null;
  return n;
}

/**
 * Lowers V8's interrupt budget for the API and runner processes, before their modules load.
 * A service request runs each of its functions once, so with V8's default budget the request
 * path is optimised only after thousands of requests (bench:service: ~5000 runs to steady
 * state); with 16 KiB it is there after a few hundred and the steady state is as fast or
 * faster. The flag is process-wide, so VM worker threads get it too. Returns the budget set.
 */
export function applyServiceV8Flags(env: NodeJS.ProcessEnv = process.env): number | null {
  const budget = interruptBudget(env);
  if (budget !== null) setFlagsFromString(`--interrupt-budget=${budget}`);
  return budget;
}
