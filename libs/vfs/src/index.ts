export * from './block-device';
export * from './errno';
export * from './types';
export * from './fs';
export * from './vfs';
export * from './mem-devices';
