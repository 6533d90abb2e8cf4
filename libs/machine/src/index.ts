// Only `export *` here (see public.ts): the CommonJS exports object must stay in V8's fast mode.
export * from './api';
export * from './cpu';
export * from './public';
