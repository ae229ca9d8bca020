/**
 * The vault's `config` object (docs/vault-format.md §2): plaintext JSON with
 * the format version, the vault id, the KDF parameters and the wrapped master
 * key. Parsed strictly: an unknown version or unacceptable KDF parameters are
 * refused before any key is derived.
 */
import { kdfProblem, type KdfParams } from './crypto.js';
import { VaultFormatError } from './errors.js';
import { CONFIG_KEY, KDF_SALT_BYTES, VAULT_FORMAT_NAME, VAULT_FORMAT_VERSION } from './format.js';
import type { WrappedKey } from './keys.js';

export interface VaultConfig {
  vaultId: string;
  createdAt: string;
  kdf: KdfParams;
  wrappedKey: WrappedKey;
  keyId: string;
}

export function encodeConfig(c: VaultConfig): Buffer {
  return Buffer.from(JSON.stringify({
    format: VAULT_FORMAT_NAME, version: VAULT_FORMAT_VERSION, vaultId: c.vaultId, createdAt: c.createdAt,
    kdf: { name: c.kdf.name, N: c.kdf.N, r: c.kdf.r, p: c.kdf.p, salt: c.kdf.salt.toString('base64') },
    wrappedKey: c.wrappedKey, keyId: c.keyId,
  }, null, 2) + '\n', 'utf8');
}

const HEX16 = /^[0-9a-f]{32}$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function decodeConfig(data: Buffer, where: string): VaultConfig {
  const bad = (reason: string) => new VaultFormatError(where, CONFIG_KEY, reason);
  let j: Record<string, any>;
  try {
    j = JSON.parse(data.toString('utf8'));
  } catch {
    throw bad('not JSON: this is not a Strata vault, or its config is damaged');
  }
  if (typeof j !== 'object' || j === null || j.format !== VAULT_FORMAT_NAME) throw bad('not a Strata vault config');
  if (typeof j.version !== 'number') throw bad('no format version');
  if (j.version > VAULT_FORMAT_VERSION) {
    throw bad(`vault format version ${j.version} is newer than this server supports (${VAULT_FORMAT_VERSION}); upgrade Strata`);
  }
  if (j.version !== VAULT_FORMAT_VERSION) throw bad(`unsupported vault format version ${j.version}`);
  if (typeof j.vaultId !== 'string' || !HEX16.test(j.vaultId)) throw bad('bad vault id');
  if (typeof j.keyId !== 'string' || !HEX16.test(j.keyId)) throw bad('bad key id');
  const k = j.kdf;
  if (typeof k !== 'object' || k === null || k.name !== 'scrypt') throw bad('unknown key derivation function');
  const problem = kdfProblem(k);
  if (problem) throw bad(problem);
  if (typeof k.salt !== 'string' || !B64.test(k.salt) || Buffer.from(k.salt, 'base64').length !== KDF_SALT_BYTES) throw bad('bad KDF salt');
  const w = j.wrappedKey;
  if (typeof w !== 'object' || w === null || w.alg !== 'aes-256-gcm' || typeof w.nonce !== 'string' || typeof w.data !== 'string'
    || !B64.test(w.nonce) || !B64.test(w.data)) {
    throw bad('bad wrapped key');
  }
  return {
    vaultId: j.vaultId, createdAt: String(j.createdAt), keyId: j.keyId,
    kdf: { name: 'scrypt', N: k.N, r: k.r, p: k.p, salt: Buffer.from(k.salt, 'base64') },
    wrappedKey: { alg: 'aes-256-gcm', nonce: w.nonce, data: w.data },
  };
}
