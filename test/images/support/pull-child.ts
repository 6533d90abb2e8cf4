// Child process for the cross-process cache test: pulls one digest into a shared cache
// directory when the parent says "go", then reports what happened.
import { BlobCache } from '../../../libs/images/src/cache/blob-cache';
import { S3ImageStore } from '../../../libs/images/src/s3/store';
import type { S3Config } from '../../../libs/images/src/s3/config';

interface Job {
  config: S3Config;
  cacheDir: string;
  digest: string;
  size: number;
}

process.on('message', (msg: { go: Job }) => {
  const { config, cacheDir, digest, size } = msg.go;
  const store = new S3ImageStore(config);
  const cache = new BlobCache({ dir: cacheDir, maxBytes: 1 << 30, pollMs: 20 });
  cache
    .get(digest, { open: (d) => store.openBlob(d) }, { size })
    .then((r) => {
      process.send?.({ ok: true, outcome: r.outcome, path: r.path, downloads: cache.stats.downloads });
    })
    .catch((err: Error) => process.send?.({ ok: false, error: err.message }))
    .finally(() => process.disconnect?.());
});
process.send?.({ ready: true });
