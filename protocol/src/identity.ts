/**
 * The two pieces of the trust set-up that both ends must agree on byte for
 * byte: the enrollment token format and the bytes an agent's Hello signs.
 */
import { HELLO_CONTEXT } from './constants.js';

/**
 * Enrollment token: `stk1.<secret, base64url>.<server cert SHA-256, hex, or '-' when TLS is off>`.
 * The fingerprint lets `strata-agent enroll` pin the server without trusting the network.
 */
export function formatEnrollmentToken(secret: string, fingerprint: string | null): string {
  return `stk1.${secret}.${fingerprint ?? '-'}`;
}

export function parseEnrollmentToken(token: string): { secret: string; fingerprint: string | null } | null {
  const m = /^stk1\.([A-Za-z0-9_-]{16,64})\.([0-9a-f]{64}|-)$/.exec(token.trim());
  if (!m) return null;
  return { secret: m[1]!, fingerprint: m[2] === '-' ? null : m[2]! };
}

/** What a Hello's Ed25519 signature covers: context || server nonce || agent id. */
export function helloSignedBytes(nonce: Uint8Array, agentId: string): Buffer {
  return Buffer.concat([Buffer.from(HELLO_CONTEXT), nonce, Buffer.from(agentId)]);
}
