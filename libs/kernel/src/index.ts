export * from './vm-api';
