/**
 * Enrollment tokens: single-use, expiring secrets an admin hands to a new
 * agent. The printed token also carries the server certificate's fingerprint,
 * so `strata-agent enroll` can pin the server without trusting the network
 * (format in @strata/protocol, formatEnrollmentToken).
 * The catalog keeps only the secret's SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { formatEnrollmentToken } from '@strata/protocol';
import type { Catalog } from '../catalog/index.js';

export const DEFAULT_TOKEN_TTL_MS = 24 * 3600_000;

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export async function createEnrollmentToken(catalog: Catalog, fingerprint: string | null, ttlMs = DEFAULT_TOKEN_TTL_MS) {
  const secret = randomBytes(24).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlMs);
  await catalog.createEnrollmentToken(hashSecret(secret), expiresAt);
  return { token: formatEnrollmentToken(secret, fingerprint), expiresAt };
}
