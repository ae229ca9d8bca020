/**
 * The vault key the server keeps to run unattended (docs/vault-format.md §2.1):
 * `vault-key.json` in the server's data dir, mode 0600, written durably. It
 * holds the master key, never the passphrase, and never goes to the vault.
 */
import { promises as fsp } from 'node:fs';
import { writeFileDurable } from '../util/durable.js';
import { VaultStateError } from './errors.js';
import { KEY_FILE_FORMAT, KEY_FILE_VERSION, MASTER_KEY_BYTES } from './format.js';

export interface VaultKeyFile {
  vaultId: string;
  keyId: string;
  key: Buffer;
}

export async function saveVaultKey(file: string, k: VaultKeyFile): Promise<void> {
  const json = JSON.stringify({ format: KEY_FILE_FORMAT, version: KEY_FILE_VERSION, vaultId: k.vaultId, keyId: k.keyId, key: k.key.toString('base64') });
  await writeFileDurable(file, json + '\n', 0o600);
}

export async function loadVaultKey(file: string): Promise<VaultKeyFile> {
  const st = await fsp.stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new VaultStateError(file, err.code === 'ENOENT' ? 'missing: attach the vault again with its passphrase' : err.message);
  });
  if ((st.mode & 0o077) !== 0) throw new VaultStateError(file, `readable by others (mode ${(st.mode & 0o777).toString(8)}); it must be 0600`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new VaultStateError(file, 'not a vault key file');
  }
  if (j.format !== KEY_FILE_FORMAT || j.version !== KEY_FILE_VERSION || typeof j.vaultId !== 'string' || typeof j.keyId !== 'string'
    || typeof j.key !== 'string') {
    throw new VaultStateError(file, 'not a vault key file of a supported version');
  }
  const key = Buffer.from(j.key, 'base64');
  if (key.length !== MASTER_KEY_BYTES) throw new VaultStateError(file, 'bad key length');
  return { vaultId: j.vaultId, keyId: j.keyId, key };
}
