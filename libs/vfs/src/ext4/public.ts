/** What the package index exports of the ext4 internals (index.ts only re-exports with `export *`). */
export { featureNames } from './superblock';
