/**
 * Bounded retries with exponential backoff for the notifiers. Only failures
 * the notifier marks transient (network errors, timeouts, 5xx / SMTP 4xx) are
 * retried; a permanent one (bad address, 4xx from a webhook) ends at once.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the second try; doubled for each later one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 1000, maxDelayMs: 30_000 };

/** A failure with its retry class, as a notifier reports it. */
export class DeliveryError extends Error {
  constructor(message: string, readonly transient: boolean) {
    super(message);
  }
}

export interface RetryResult<T> { value?: T; error?: Error; attempts: number }

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

/** Runs fn until it succeeds, fails permanently, or the tries run out; never throws. */
export async function withRetries<T>(fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<RetryResult<T>> {
  let error: Error | undefined;
  for (let attempt = 1; attempt <= Math.max(1, policy.attempts); attempt++) {
    if (attempt > 1) await sleep(Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 2)));
    try {
      return { value: await fn(), attempts: attempt };
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      if (e instanceof DeliveryError && !e.transient) return { error, attempts: attempt };
    }
  }
  return { error, attempts: Math.max(1, policy.attempts) };
}
