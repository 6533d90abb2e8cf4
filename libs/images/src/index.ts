// Only `export *` here: a named re-export makes TypeScript define the name as a data property
// and then redefine it as a getter, which leaves the CommonJS exports object in V8's slow
// (dictionary) mode, so every read of it by the runner is a hash lookup (see libs/vfs/src/index.ts).
export * from './ref';
export * from './retry';
export * from './s3/config';
export * from './s3/manifest';
export * from './s3/store';
export * from './cache/config';
export * from './cache/blob-cache';
export * from './lazy/lazy-block-device';
export * from './validate/ext4';
export * from './file-device';
export * from './resolve';
export * from './stream';
export * from './builders';
