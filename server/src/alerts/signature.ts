/**
 * The webhook signature. The signed bytes are `<timestamp>.<body>`: the
 * X-Strata-Timestamp header (Unix seconds), a dot, and the raw request body
 * exactly as received. Binding the timestamp lets a receiver refuse replays of
 * an old, validly signed request. docs/protection.md shows a receiver.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Strata-Signature';
export const TIMESTAMP_HEADER = 'X-Strata-Timestamp';
/** How far a receiver should let the timestamp stray from its own clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The header value: `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. */
export function signWebhook(secret: string, timestamp: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export type VerifyResult = { ok: true } | { ok: false; reason: 'missing-header' | 'bad-signature' | 'stale-timestamp' };

/** What a receiver does: constant-time compare, then the timestamp window. */
export function verifyWebhook(
  secret: string,
  headers: { timestamp?: string | null; signature?: string | null },
  body: string | Buffer,
  opts: { now?: Date; toleranceSeconds?: number } = {},
): VerifyResult {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) return { ok: false, reason: 'missing-header' };
  const want = Buffer.from(signWebhook(secret, timestamp, body));
  const got = Buffer.from(signature);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'bad-signature' };
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(now - ts) > (opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: 'stale-timestamp' };
  return { ok: true };
}
