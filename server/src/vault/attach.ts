/**
 * The server's local state for one vault (docs/vault-format.md §2.1, §7):
 * a state folder under the data dir holding `vault-key.json` (0600) and the
 * known-chunks log. `attachVault` is what `strata vault create|attach` runs
 * with the admin's passphrase; `openAttachedVault` is what the scheduler's
 * unattended upload jobs run, with no passphrase.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { VaultBackend } from './backends/backend.js';
import { loadVaultKey, saveVaultKey } from './key-file.js';
import { KnownChunks } from './known-chunks.js';
import { readPruneEpoch } from './prune-epoch.js';
import { createVault, openVault, type Vault, type VaultOptions } from './vault.js';

export interface AttachedVault {
  vault: Vault;
  known: KnownChunks;
}

export const keyFileIn = (stateDir: string): string => path.join(stateDir, 'vault-key.json');

/**
 * Create (`create: true`) or attach to a vault with the passphrase, save its
 * key in `stateDir`, and load (or, for an existing vault, rebuild) the known chunks.
 */
export async function attachVault(backend: VaultBackend, passphrase: string, stateDir: string,
  o: VaultOptions & { create?: boolean } = {}): Promise<AttachedVault> {
  const vault = o.create ? await createVault(backend, passphrase, o) : await openVault(backend, passphrase, o);
  await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
  await saveVaultKey(keyFileIn(stateDir), vault.exportKey());
  const known = await KnownChunks.open(stateDir, vault.id);
  if (!o.create) {
    const epoch = await readPruneEpoch(vault);
    await known.rebuild(vault);
    await known.setEpoch(epoch);
  }
  return { vault, known };
}

/** Open an attached vault without the passphrase (from the saved key). */
export async function openAttachedVault(backend: VaultBackend, stateDir: string, o: VaultOptions = {}): Promise<AttachedVault> {
  const key = await loadVaultKey(keyFileIn(stateDir));
  const vault = await openVault(backend, { key }, o);
  return { vault, known: await KnownChunks.open(stateDir, vault.id) };
}
