export * from './apt';
export * from './build';
export * from './local-store';
export * from './mkfs';
export * from './progress';
export * from './recipes';
