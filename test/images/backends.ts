import { dockerAvailable, startMinio, startS3rver, type S3Backend } from './support/s3-server';

/**
 * The S3 servers the store tests run against: s3rver on loopback always (or the endpoint
 * in LICHEN_S3_ENDPOINT), MinIO through Testcontainers when a Docker engine is reachable.
 */
export const backends: { name: string; available: boolean; start: () => Promise<S3Backend> }[] = [
  {
    name: process.env.LICHEN_S3_ENDPOINT ? 'configured endpoint' : 's3rver (loopback)',
    available: true,
    start: startS3rver,
  },
  { name: 'MinIO (Testcontainers; needs a Docker engine)', available: dockerAvailable(), start: startMinio },
];
