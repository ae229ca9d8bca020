/**
 * Enrollment tokens: single-use, expiring secrets an admin hands to a new
 * agent. The printed token also carries the server certificate's fingerprint,
 * so `strata-agent enroll` can pin the server without trusting the network:
 *   stk1.<secret, base64url>.<cert SHA-256, hex, or '-' when TLS is off>
 * The catalog keeps only the secret's SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/index.js';

export const DEFAULT_TOKEN_TTL_MS = 24 * 3600_000;

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export async function createEnrollmentToken(catalog: Catalog, fingerprint: string | null, ttlMs = DEFAULT_TOKEN_TTL_MS) {
  const secret = randomBytes(24).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlMs);
  await catalog.createEnrollmentToken(hashSecret(secret), expiresAt);
  return { token: `stk1.${secret}.${fingerprint ?? '-'}`, expiresAt };
}

export interface ParsedToken { secret: string; fingerprint: string | null }

export function parseEnrollmentToken(token: string): ParsedToken | null {
  const m = /^stk1\.([A-Za-z0-9_-]{16,64})\.([0-9a-f]{64}|-)$/.exec(token.trim());
  if (!m) return null;
  return { secret: m[1]!, fingerprint: m[2] === '-' ? null : m[2]! };
}
