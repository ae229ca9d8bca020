/**
 * Vault cryptography (docs/vault-format.md §2): the passphrase KDF (scrypt),
 * wrapping the master key, subkey derivation (HKDF-SHA256), chunk ids
 * (HMAC-SHA256) and AES-256-GCM sealing with associated data.
 *
 * Sealed form everywhere: nonce[12] ‖ ciphertext ‖ tag[16]. open* returns
 * null when authentication fails; callers turn that into the right typed
 * error (wrong passphrase, corrupt object). Nothing unauthenticated is returned.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, KDF_MAX, KDF_MIN, MIN_PASSPHRASE_CHARS } from './format.js';
import { VaultPassphraseTooShortError } from './errors.js';

export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** Raw salt bytes. */
  salt: Buffer;
}

/** Passphrases are compared as NFC-normalized UTF-8; shorter than 16 code points is refused. */
export function checkPassphrase(passphrase: string): Buffer {
  if (typeof passphrase !== 'string') throw new VaultPassphraseTooShortError(MIN_PASSPHRASE_CHARS);
  const norm = passphrase.normalize('NFC');
  if ([...norm].length < MIN_PASSPHRASE_CHARS) throw new VaultPassphraseTooShortError(MIN_PASSPHRASE_CHARS);
  return Buffer.from(norm, 'utf8');
}

/** A reason the parameters are unacceptable, or undefined. */
export function kdfProblem(k: { N: unknown; r: unknown; p: unknown }): string | undefined {
  const { N, r, p } = k;
  if (typeof N !== 'number' || !Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0) return `scrypt N=${String(N)} is not a power of two`;
  if (typeof r !== 'number' || !Number.isInteger(r) || typeof p !== 'number' || !Number.isInteger(p)) return 'scrypt r and p must be integers';
  if (N < KDF_MIN.N || r < KDF_MIN.r || p < KDF_MIN.p) {
    return `scrypt parameters N=${N} r=${r} p=${p} are weaker than the minimum N=${KDF_MIN.N} r=${KDF_MIN.r} p=${KDF_MIN.p}`;
  }
  if (N > KDF_MAX.N || r > KDF_MAX.r || p > KDF_MAX.p || 128 * N * r > KDF_MAX.memoryBytes) {
    return `scrypt parameters N=${N} r=${r} p=${p} exceed the maximum N=${KDF_MAX.N} r=${KDF_MAX.r} p=${KDF_MAX.p}`;
  }
  return undefined;
}

/** Key-encryption key from the passphrase (memory-hard; ~128 MiB and a fraction of a second at the defaults). */
export function deriveKek(passphrase: Buffer, k: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase, k.salt, 32, { N: k.N, r: k.r, p: k.p, maxmem: 128 * k.N * k.r + (32 << 20) }, (err, key) =>
      err ? reject(err) : resolve(key));
  });
}

export function hkdf(ikm: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), 32));
}

export function hmac(key: Buffer, data: Buffer | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** AES-256-GCM with a fresh random nonce; returns nonce ‖ ciphertext ‖ tag. `parts` are concatenated as plaintext. */
export function seal(key: Buffer, aad: Buffer, ...parts: Uint8Array[]): Buffer {
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const out = [nonce];
  for (const p of parts) out.push(c.update(p));
  out.push(c.final(), c.getAuthTag());
  return Buffer.concat(out);
}

/** Sealed size for a plaintext of `n` bytes. */
export function sealedSize(n: number): number {
  return GCM_NONCE_BYTES + n + GCM_TAG_BYTES;
}

/** The plaintext, or null if `sealed` does not authenticate under `key` and `aad`. */
export function open(key: Buffer, aad: Buffer, sealed: Buffer): Buffer | null {
  if (sealed.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) return null;
  const nonce = sealed.subarray(0, GCM_NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - GCM_TAG_BYTES);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  const body = d.update(sealed.subarray(GCM_NONCE_BYTES, sealed.length - GCM_TAG_BYTES));
  try {
    return Buffer.concat([body, d.final()]);
  } catch {
    return null;
  }
}
