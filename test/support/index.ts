// Test support: guest fixtures and the qemu reference runner. Import from 'test/support'.
export * from './fixtures';
export * from './qemu';
