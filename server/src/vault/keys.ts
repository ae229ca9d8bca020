/**
 * The vault's keys (docs/vault-format.md §2): the master key, wrapped in the
 * config under a key derived from the passphrase, and the subkeys derived
 * from it — chunk ids, and one AES key per object.
 */
import { randomBytes } from 'node:crypto';
import { deriveKek, hkdf, hmac, type KdfParams, open, seal } from './crypto.js';
import {
  LABEL_CHUNK_ID, LABEL_DATA, LABEL_KEY_ID, LABEL_OBJECT, LABEL_WRAPPED_KEY, MASTER_KEY_BYTES,
} from './format.js';

export interface WrappedKey {
  alg: 'aes-256-gcm';
  nonce: string;
  data: string;
}

function wrapAad(vaultIdHex: string, k: KdfParams): Buffer {
  return Buffer.from(`${LABEL_WRAPPED_KEY}|${vaultIdHex}|scrypt|${k.N}|${k.r}|${k.p}|${k.salt.toString('base64')}`, 'utf8');
}

export async function wrapMasterKey(master: Buffer, passphrase: Buffer, vaultIdHex: string, k: KdfParams): Promise<WrappedKey> {
  const kek = await deriveKek(passphrase, k);
  const sealed = seal(kek, wrapAad(vaultIdHex, k), master);
  kek.fill(0);
  return { alg: 'aes-256-gcm', nonce: sealed.subarray(0, 12).toString('base64'), data: sealed.subarray(12).toString('base64') };
}

/** The master key, or null when the passphrase is wrong (or the wrapped key / its parameters were altered). */
export async function unwrapMasterKey(w: WrappedKey, passphrase: Buffer, vaultIdHex: string, k: KdfParams): Promise<Buffer | null> {
  const kek = await deriveKek(passphrase, k);
  const sealed = Buffer.concat([Buffer.from(w.nonce, 'base64'), Buffer.from(w.data, 'base64')]);
  const master = open(kek, wrapAad(vaultIdHex, k), sealed);
  kek.fill(0);
  return master && master.length === MASTER_KEY_BYTES ? master : null;
}

export function newMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

/** Subkeys of one vault. Object keys are cached (a pack's key serves all its blobs). */
export class VaultKeys {
  readonly keyId: string;
  private readonly idKey: Buffer;
  private readonly dataKey: Buffer;
  private readonly objectKeys = new Map<string, Buffer>();

  constructor(private readonly master: Buffer, readonly vaultId: Buffer) {
    this.keyId = keyIdOf(master);
    this.idKey = hkdf(master, vaultId, LABEL_CHUNK_ID);
    this.dataKey = hkdf(master, vaultId, LABEL_DATA);
  }

  /** The vault's name for a chunk: HMAC(idKey, plaintext SHA-256). */
  chunkId(sha256: Buffer): Buffer {
    return hmac(this.idKey, sha256);
  }

  /** The AES key of object `key` (a pack's blobs and trailer, or an envelope). */
  objectKey(key: string): Buffer {
    let k = this.objectKeys.get(key);
    if (!k) {
      if (this.objectKeys.size >= 4096) this.objectKeys.clear();
      k = hkdf(this.dataKey, Buffer.alloc(0), LABEL_OBJECT + key);
      this.objectKeys.set(key, k);
    }
    return k;
  }

  /** A copy of the master key, for the local key file only. */
  exportMaster(): Buffer {
    return Buffer.from(this.master);
  }
}

export function keyIdOf(master: Buffer): string {
  return hmac(master, LABEL_KEY_ID).subarray(0, 16).toString('hex');
}
