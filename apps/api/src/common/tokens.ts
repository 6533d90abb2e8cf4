/** DI tokens of the API module. */
export const CTX = Symbol('SERVICE_CONTEXT');
export const SUBMITTER = Symbol('RUN_SUBMITTER');
export const COORDINATOR = Symbol('BATCH_COORDINATOR');
export const DONE_WAITER = Symbol('DONE_WAITER');
export const DRAINING = Symbol('DRAINING');
