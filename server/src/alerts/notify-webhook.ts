/**
 * Webhook notifier: an HTTP(S) POST of the notification as JSON, signed (see
 * signature.ts). Network errors, timeouts, 429 and 5xx are retried with
 * backoff; any other non-2xx is permanent. Redirects are not followed: the
 * signed request goes only to the configured URL.
 */
import type { WebhookConfig } from './channel-config.js';
import type { DeliveryOutcome, Notification, Notifier } from './notifier.js';
import { DEFAULT_RETRY, DeliveryError, withRetries, type RetryPolicy } from './retry.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './signature.js';

export interface WebhookNotifierOptions {
  retry?: RetryPolicy;
  /** The signature's timestamp source (the server's clock). */
  now?: () => Date;
}

export class WebhookNotifier implements Notifier {
  readonly kind = 'webhook' as const;
  constructor(private readonly config: WebhookConfig, private readonly opts: WebhookNotifierOptions = {}) {}

  async send(n: Notification): Promise<DeliveryOutcome> {
    const body = JSON.stringify(n);
    const url = this.config.url;
    const r = await withRetries(async () => {
      // Each try is signed afresh: a retry minutes later must not look stale.
      const timestamp = String(Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000));
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          redirect: 'manual',
          signal: AbortSignal.timeout(this.config.timeoutMs),
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Strata-Alerts/1',
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signWebhook(this.config.secret, timestamp, body),
          },
          body,
        });
      } catch (e) {
        const err = e as Error & { cause?: Error };
        const why = err.name === 'TimeoutError' ? `no answer within ${this.config.timeoutMs} ms` : (err.cause?.message ?? err.message);
        throw new DeliveryError(`webhook ${url}: ${why}`, true);
      }
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return `HTTP ${res.status}`;
      throw new DeliveryError(`webhook ${url} answered HTTP ${res.status}`, res.status >= 500 || res.status === 429);
    }, this.opts.retry ?? DEFAULT_RETRY);
    return r.error ? { ok: false, attempts: r.attempts, error: r.error.message } : { ok: true, attempts: r.attempts, detail: r.value };
  }
}
