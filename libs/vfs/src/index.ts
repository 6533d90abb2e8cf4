// Only \`export *\` here: a named re-export makes TypeScript define the name as a data
// property first and redefine it as a getter, which turns the exports object into a slow
// (dictionary-mode) object, and every \`vfs_1.X\` read by the kernel into a hash lookup and
// a getter call V8 cannot inline.
export * from './block-device';
export * from './errno';
export * from './types';
export * from './fs';
export * from './vfs';
export * from './mem-devices';
export * from './procfs-provider';
export * from './tmpfs';
export * from './block-cache';
export * from './file-block-device';
export * from './ext4/ext4fs';
export * from './ext4/public';
export * from './overlay';
export * from './devfs';
export * from './sysfs';
export * from './procfs';
export * from './hostfs';
export * from './tar';
export * from './xattr';
export * from './notify';
