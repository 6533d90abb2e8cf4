import { describe, expect, it } from 'vitest';
import { isS3Configured, loadS3Config, S3ConfigError } from './config';

describe('loadS3Config', () => {
  it('applies defaults and parses every variable', () => {
    const c = loadS3Config({
      LICHEN_S3_BUCKET: 'images',
      LICHEN_S3_ENDPOINT: 'http://127.0.0.1:9000',
      LICHEN_S3_ACCESS_KEY_ID: 'id',
      LICHEN_S3_SECRET_ACCESS_KEY: 'secret',
      LICHEN_S3_PREFIX: 'lichen',
      LICHEN_S3_FORCE_PATH_STYLE: 'false',
      LICHEN_S3_MAX_ATTEMPTS: '2',
    });
    expect(c).toMatchObject({
      bucket: 'images',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      prefix: 'lichen/',
      forcePathStyle: false,
      maxAttempts: 2,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      requestTimeoutMs: 30_000,
    });
    expect(loadS3Config({ LICHEN_S3_BUCKET: 'images' }).credentials).toBeUndefined();
  });

  it('lists every problem at once', () => {
    let err: unknown;
    try {
      loadS3Config({
        LICHEN_S3_ENDPOINT: 'ftp://x',
        LICHEN_S3_BUCKET: 'Bad_Bucket',
        LICHEN_S3_ACCESS_KEY_ID: 'only-id',
        LICHEN_S3_REQUEST_TIMEOUT_MS: '-5',
        LICHEN_S3_FORCE_PATH_STYLE: 'maybe',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(S3ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/LICHEN_S3_ENDPOINT must be an http:\/\/ or https:\/\/ URL/);
    expect(msg).toMatch(/LICHEN_S3_BUCKET must be a valid S3 bucket name/);
    expect(msg).toMatch(/LICHEN_S3_ACCESS_KEY_ID and LICHEN_S3_SECRET_ACCESS_KEY must be set together/);
    expect(msg).toMatch(/LICHEN_S3_REQUEST_TIMEOUT_MS must be an integer between 1 and 3600000, got "-5"/);
    expect(msg).toMatch(/LICHEN_S3_FORCE_PATH_STYLE must be true or false, got "maybe"/);
  });

  it('requires a bucket', () => {
    expect(() => loadS3Config({ LICHEN_S3_ENDPOINT: 'http://h:1' })).toThrow(/LICHEN_S3_BUCKET is required/);
    expect(isS3Configured({})).toBe(false);
    expect(isS3Configured({ LICHEN_S3_ENDPOINT: 'http://h:1' })).toBe(true);
  });
});
