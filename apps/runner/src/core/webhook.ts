/**
 * Completion webhooks (runs and batches): a signed JSON POST with a few retries; failures are
 * logged, never fatal. Every attempt carries
 *   Lichen-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]
 *   Lichen-Event: run.finished | batch.completed
 *   Lichen-Delivery: <uuid, the same for every retry of one delivery>
 * (one v1 per valid secret of the tenant: the current one and, for a day after a rotation,
 * the previous one).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { TenantStore } from './tenants';

export interface WebhookLogger {
  warn(obj: object, msg: string): void;
}

export interface WebhookOptions {
  timeoutMs: number;
  attempts: number;
  log?: WebhookLogger;
}

/** Hex HMAC-SHA256 of `<t>.<raw body>` keyed by the secret (the whole `whsec_…` string, UTF-8). */
export function webhookSignature(secret: string, t: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${t}.${rawBody}`, 'utf8').digest('hex');
}

/** The Lichen-Signature header value: `t=<t>,v1=<sig>` with one v1 per secret. */
export function signatureHeader(secrets: readonly string[], t: number, rawBody: string): string {
  return [`t=${t}`, ...secrets.map((s) => `v1=${webhookSignature(s, t, rawBody)}`)].join(',');
}

/**
 * POSTs `rawBody` to `url`, signed with `secrets`, retrying (exponential backoff) until a 2xx.
 * The timestamp (and so the signature) is fresh on every attempt; the delivery id is not.
 */
export async function postWebhook(
  url: string,
  rawBody: string,
  opts: WebhookOptions & { event: string; deliveryId: string; secrets: readonly string[] },
): Promise<boolean> {
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    try {
      const t = Math.floor(Date.now() / 1000);
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'lichen-webhook/1',
          'lichen-event': opts.event,
          'lichen-delivery': opts.deliveryId,
          'lichen-signature': signatureHeader(opts.secrets, t, rawBody),
          // Older receivers read the event from here; kept as an alias of Lichen-Event.
          'x-lichen-event': opts.event,
        },
        body: rawBody,
        signal: AbortSignal.timeout(opts.timeoutMs),
        redirect: 'manual',
      });
      if (res.status >= 200 && res.status < 300) return true;
      opts.log?.warn({ url, status: res.status, attempt, delivery: opts.deliveryId }, 'webhook refused');
    } catch (e) {
      opts.log?.warn({ url, err: (e as Error).message, attempt, delivery: opts.deliveryId }, 'webhook failed');
    }
    if (attempt < opts.attempts) await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
  }
  return false;
}

/**
 * Sends one completion webhook of `tenant`, signed with the tenant's webhook secret(s).
 * Nothing is sent for a tenant that no longer exists.
 */
export async function deliverWebhook(
  tenants: TenantStore,
  tenant: string,
  url: string,
  event: string,
  body: unknown,
  opts: WebhookOptions,
): Promise<boolean> {
  try {
    if (!(await tenants.exists(tenant))) {
      opts.log?.warn({ url, tenant, event }, 'webhook not sent: the tenant was deleted');
      return false;
    }
    const secrets = await tenants.webhookSecrets(tenant);
    return await postWebhook(url, JSON.stringify(body), { ...opts, event, deliveryId: randomUUID(), secrets });
  } catch (e) {
    opts.log?.warn({ url, tenant, event, err: (e as Error).message }, 'webhook failed');
    return false;
  }
}
