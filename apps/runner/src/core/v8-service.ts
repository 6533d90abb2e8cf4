/**
 * Imported first by the service entry points (API, runner, `lichen serve`) so V8's tuning is
 * in place before the rest of the service's code is loaded and compiled.
 */
import { applyServiceV8Flags } from './v8-flags';

applyServiceV8Flags();
