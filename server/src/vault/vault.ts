/**
 * An open vault: a backend plus the keys unlocked from its config
 * (docs/vault-format.md §2). `createVault` initializes an empty backend;
 * `openVault` reads the config, checks its version, and unlocks the master key
 * with the passphrase (memory-hard KDF; a wrong one is a clear
 * VaultWrongPassphraseError) or with the key the server saved locally.
 */
import { randomBytes } from 'node:crypto';
import { isVaultError, type VaultBackend, type VaultObjectInfo } from './backends/backend.js';
import { checkPassphrase, type KdfParams } from './crypto.js';
import { decodeConfig, encodeConfig, type VaultConfig } from './config.js';
import { openObject, sealObject } from './envelope.js';
import {
  VaultCorruptError, VaultExistsError, VaultKeyMismatchError, VaultNotInitializedError, VaultWrongPassphraseError,
} from './errors.js';
import { CONFIG_KEY, KDF_DEFAULT, KDF_SALT_BYTES, MASTER_KEY_BYTES, type ObjectType, VAULT_ID_BYTES } from './format.js';
import type { VaultKeyFile } from './key-file.js';
import { keyIdOf, newMasterKey, unwrapMasterKey, VaultKeys, wrapMasterKey } from './keys.js';
import { type Clock, type RetryOptions, systemClock, withRetry } from './transfer.js';

export interface VaultOptions {
  /** Retry policy for the vault's own reads and writes (config, objects). */
  retry?: RetryOptions;
  clock?: Clock;
}

export class Vault {
  readonly id: string;
  readonly retry: RetryOptions;
  readonly clock: Clock;

  constructor(readonly backend: VaultBackend, readonly config: VaultConfig, readonly keys: VaultKeys, o: VaultOptions = {}) {
    this.id = config.vaultId;
    this.retry = o.retry ?? {};
    this.clock = o.clock ?? systemClock;
  }

  /** For messages: where the vault is (never a secret). */
  get description(): string {
    return this.backend.description;
  }

  /** The vault's name for a chunk (HMAC of its SHA-256). */
  chunkId(sha256: Buffer): Buffer {
    return this.keys.chunkId(sha256);
  }

  seal(type: ObjectType, key: string, payload: Buffer): Buffer {
    return sealObject(this.keys, type, key, payload);
  }

  /** Decrypt an envelope object already fetched; VaultCorruptError when it does not authenticate. */
  open(type: ObjectType, key: string, data: Buffer): Buffer {
    const r = openObject(this.keys, type, key, data);
    if (typeof r === 'string') throw new VaultCorruptError(this.description, key, r);
    return r;
  }

  /** GET (with retries) and decrypt an envelope object. Backend 'not-found' passes through. */
  async readObject(type: ObjectType, key: string, signal?: AbortSignal): Promise<Buffer> {
    const data = await withRetry(() => this.backend.get(key), this.retry, this.clock, signal);
    return this.open(type, key, data);
  }

  /** Every object under `prefix` (a whole listing, retried from the start on 'unreachable'). */
  async list(prefix: string, signal?: AbortSignal): Promise<VaultObjectInfo[]> {
    return withRetry(async () => {
      const out: VaultObjectInfo[] = [];
      for await (const o of this.backend.list(prefix)) {
        signal?.throwIfAborted();
        out.push(o);
      }
      return out;
    }, this.retry, this.clock, signal);
  }

  /** What the server keeps locally to run unattended (write it with saveVaultKey: mode 0600). */
  exportKey(): VaultKeyFile {
    return { vaultId: this.id, keyId: this.keys.keyId, key: this.keys.exportMaster() };
  }

  /** Rewrap the master key under a new passphrase (one atomic put of `config`); no other object changes. */
  async changePassphrase(newPassphrase: string): Promise<void> {
    const pass = checkPassphrase(newPassphrase);
    const kdf: KdfParams = { ...this.config.kdf, salt: randomBytes(KDF_SALT_BYTES) };
    const master = this.keys.exportMaster();
    const wrappedKey = await wrapMasterKey(master, pass, this.id, kdf);
    master.fill(0);
    const config: VaultConfig = { ...this.config, kdf, wrappedKey };
    await withRetry(() => this.backend.put(CONFIG_KEY, encodeConfig(config)), this.retry, this.clock);
    (this as { config: VaultConfig }).config = config;
  }
}

/** Initialize a vault on an empty backend. Refuses a backend that already holds a vault. */
export async function createVault(backend: VaultBackend, passphrase: string, o: VaultOptions = {}): Promise<Vault> {
  const pass = checkPassphrase(passphrase);
  const vaultId = randomBytes(VAULT_ID_BYTES).toString('hex');
  const kdf: KdfParams = { name: 'scrypt', N: KDF_DEFAULT.N, r: KDF_DEFAULT.r, p: KDF_DEFAULT.p, salt: randomBytes(KDF_SALT_BYTES) };
  const master = newMasterKey();
  const config: VaultConfig = {
    vaultId, createdAt: new Date((o.clock ?? systemClock).now()).toISOString(), kdf,
    wrappedKey: await wrapMasterKey(master, pass, vaultId, kdf), keyId: keyIdOf(master),
  };
  try {
    await withRetry(() => backend.put(CONFIG_KEY, encodeConfig(config), { ifAbsent: true }), o.retry, o.clock);
  } catch (err) {
    if (!isVaultError(err, 'conflict')) throw err;
    // A retried put whose first attempt landed (lost acknowledgement) also reports a conflict: ours is no conflict.
    const existing = await backend.get(CONFIG_KEY).catch(() => undefined);
    const theirs = existing && (() => { try { return decodeConfig(existing, backend.description).vaultId; } catch { return undefined; } })();
    if (theirs !== vaultId) throw new VaultExistsError(backend.description);
  }
  return new Vault(backend, config, new VaultKeys(master, Buffer.from(vaultId, 'hex')), o);
}

export type VaultSecret = string | { key: VaultKeyFile };

/** Open an existing vault with the admin's passphrase or with the key saved by the server. */
export async function openVault(backend: VaultBackend, secret: VaultSecret, o: VaultOptions = {}): Promise<Vault> {
  const pass = typeof secret === 'string' ? checkPassphrase(secret) : undefined;
  let data: Buffer;
  try {
    data = await withRetry(() => backend.get(CONFIG_KEY), o.retry, o.clock);
  } catch (err) {
    if (isVaultError(err, 'not-found')) throw new VaultNotInitializedError(backend.description);
    throw err;
  }
  const config = decodeConfig(data, backend.description);
  const idBytes = Buffer.from(config.vaultId, 'hex');
  let master: Buffer;
  if (pass) {
    const m = await unwrapMasterKey(config.wrappedKey, pass, config.vaultId, config.kdf);
    if (!m) throw new VaultWrongPassphraseError(backend.description);
    master = m;
  } else {
    const k = (secret as { key: VaultKeyFile }).key;
    if (k.vaultId !== config.vaultId) throw new VaultKeyMismatchError(backend.description, `it is the key of vault ${k.vaultId}, this is vault ${config.vaultId}`);
    if (k.key.length !== MASTER_KEY_BYTES || keyIdOf(k.key) !== config.keyId) throw new VaultKeyMismatchError(backend.description, 'its key id differs');
    master = Buffer.from(k.key);
  }
  if (keyIdOf(master) !== config.keyId) throw new VaultCorruptError(backend.description, CONFIG_KEY, 'the key id does not match the unwrapped key');
  return new Vault(backend, config, new VaultKeys(master, idBytes), o);
}
