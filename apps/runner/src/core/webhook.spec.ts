import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { signatureHeader, webhookSignature } from './webhook';

/** HMAC-SHA256 by openssl(1): an implementation independent of node:crypto. */
const opensslHmac = (key: string, msg: string): string =>
  execFileSync('openssl', ['dgst', '-sha256', '-hmac', key], { input: msg, encoding: 'utf8' })
    .trim()
    .split(/\s+/)
    .pop() as string;

describe('webhook signatures', () => {
  const body = '{"event":"run.finished","run":{"id":"x","stdout":"héllo\\n"}}';

  it('v1 is the hex HMAC-SHA256 of "<t>.<raw body>" keyed by the whole secret', () => {
    const secret = 'whsec_abcDEF-123_xyz';
    expect(webhookSignature(secret, 1733312345, body)).toBe(opensslHmac(secret, `1733312345.${body}`));
  });

  it('the header has t and one v1 per secret, current first', () => {
    const h = signatureHeader(['whsec_new', 'whsec_old'], 1700000000, body);
    expect(h).toBe(
      `t=1700000000,v1=${opensslHmac('whsec_new', `1700000000.${body}`)},v1=${opensslHmac('whsec_old', `1700000000.${body}`)}`,
    );
    expect(signatureHeader(['whsec_new'], 1700000000, body)).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
  });
});
