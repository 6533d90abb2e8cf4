/** Completion webhooks: POST JSON with a few retries; failures are logged, never fatal. */
export interface WebhookLogger {
  warn(obj: object, msg: string): void;
}

export async function postWebhook(
  url: string,
  body: unknown,
  opts: { timeoutMs: number; attempts: number; log?: WebhookLogger; event: string },
): Promise<boolean> {
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'lichen-webhook/1', 'x-lichen-event': opts.event },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs),
        redirect: 'manual',
      });
      if (res.status >= 200 && res.status < 300) return true;
      opts.log?.warn({ url, status: res.status, attempt }, 'webhook refused');
    } catch (e) {
      opts.log?.warn({ url, err: (e as Error).message, attempt }, 'webhook failed');
    }
    if (attempt < opts.attempts) await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
  }
  return false;
}
