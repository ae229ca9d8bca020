/**
 * Vault backends — where the cloud tier's objects live. This folder owns the
 * VaultBackend interface (backend.ts, with its contracts), the three real
 * implementations side by side (local folder, Azure Blob, S3), their JSON
 * configuration, and the mapping of every storage error to a VaultError kind.
 * It is a bottom layer: it imports nothing of the server above util/.
 * For tests: MemoryBackend (a fake with the same contracts) and
 * FaultyBackend (a wrapper that injects errors, before or after the real
 * operation). Other wrappers (retry, throttling, mirroring to a secondary
 * target) implement the same interface elsewhere. docs/vault-backends.md describes it for admins.
 */
import { AzureBlobBackend } from './azure-blob.js';
import type { VaultBackend } from './backend.js';
import { validateVaultConfig } from './config.js';
import { LocalFolderBackend } from './local-folder.js';
import { S3Backend } from './s3.js';

export * from './backend.js';
export * from './config.js';
export { AzureBlobBackend } from './azure-blob.js';
export { FaultyBackend, type Fault, type VaultOp } from './faulty.js';
export { LocalFolderBackend, type LocalFolderOptions } from './local-folder.js';
export { MemoryBackend } from './memory.js';
export { S3Backend } from './s3.js';

/**
 * Open the backend a config describes (parsed JSON, validated here: a bad
 * config is VaultError 'invalid' naming the field). Opening does no network
 * I/O unless the config asks to create the container or bucket.
 */
export async function openVaultBackend(config: unknown): Promise<VaultBackend> {
  const c = validateVaultConfig(config);
  switch (c.kind) {
    case 'local':
      return LocalFolderBackend.open({ path: c.path });
    case 'azure':
      return AzureBlobBackend.open(c);
    case 's3':
      return S3Backend.open(c);
  }
}
