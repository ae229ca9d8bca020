/**
 * Transfer policy shared by the uploader and the reader: retries with
 * exponential backoff on transient backend errors ('unreachable' only), and a
 * bandwidth throttle whose limit the caller may vary with the time of day.
 * The clock is injected so tests need not wait.
 */
import { DateTime } from 'luxon';
import { isVaultError } from './backends/backend.js';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  }),
};

export interface RetryOptions {
  /** Attempts in all (first try included). Default 8. */
  attempts?: number;
  /** First delay; doubles each retry. Default 1000 ms. */
  baseDelayMs?: number;
  /** Cap of one delay. Default 60 000 ms. */
  maxDelayMs?: number;
  /** Called before each wait, e.g. to log or raise "vault unreachable". */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Run `op`, retrying while it fails with VaultError 'unreachable'. Other errors pass through at once. */
export async function withRetry<T>(op: () => Promise<T>, o: RetryOptions = {}, clock: Clock = systemClock, signal?: AbortSignal): Promise<T> {
  const attempts = o.attempts ?? 8;
  let delay = o.baseDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await op();
    } catch (err) {
      if (!isVaultError(err, 'unreachable') || attempt >= attempts) throw err;
      const wait = Math.min(delay, o.maxDelayMs ?? 60_000);
      o.onRetry?.(err, attempt, wait);
      await clock.sleep(wait, signal);
      delay *= 2;
    }
  }
}

/** Bytes per second allowed at `now`; null, undefined, 0 or Infinity mean unlimited. */
export type LimitFor = (now: Date) => number | null | undefined;

/**
 * A shared token bucket over all parallel transfers. Whole objects are sent
 * in one request, so the throttle spaces the requests: a transfer of n bytes
 * starts once the link's budget has paid for the transfers before it, and
 * books n / limit seconds. Over a run the average rate stays at the limit;
 * a burst is at most one object.
 */
const MAX_BACKLOG_MS = 6 * 60 * 60 * 1000;

export class Throttle {
  private free = 0;

  constructor(private readonly limitFor: LimitFor | undefined, private readonly clock: Clock = systemClock) {}

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (!this.limitFor) return;
    const now = this.clock.now();
    const limit = this.limitFor(new Date(now));
    if (!limit || !Number.isFinite(limit) || limit <= 0) {
      this.free = now;
      return;
    }
    // The wall clock went back (or bookings are absurdly far ahead): start over rather than stall.
    if (this.free - now > MAX_BACKLOG_MS) this.free = now;
    const start = Math.max(now, this.free);
    this.free = start + (bytes / limit) * 1000;
    if (start > now) await this.clock.sleep(start - now, signal);
  }
}

/**
 * Limits by hour of the day: `workHours` from `from` to `to` (hours) on
 * `days` (0 = Sunday; default Monday to Friday), else `offHours`. Day and
 * hour are read in `timeZone` (an IANA zone; default the process's): a
 * server may run in UTC while its admins' work hours are in Europe/Paris.
 */
export function workHoursLimit(o: { workHours: number | null; offHours: number | null; from?: number; to?: number; days?: number[]; timeZone?: string }): LimitFor {
  const from = o.from ?? 8;
  const to = o.to ?? 18;
  const days = o.days ?? [1, 2, 3, 4, 5];
  const zone = o.timeZone ?? 'local';
  return (now) => {
    const t = DateTime.fromJSDate(now, { zone });
    const day = t.weekday % 7; // luxon: 1 = Monday … 7 = Sunday
    return days.includes(day) && t.hour >= from && t.hour < to ? o.workHours : o.offHours;
  };
}
