/**
 * The vault targets the bench uploads to: a local folder under the tool's work
 * folder, and Azurite (the Azure Blob emulator) keeping its blobs on disk under
 * it too, so both sizes are bytes on the same disk as the chunk store.
 * Each target knows the `strata vault create` arguments that point a vault at
 * it and how to measure what the vault holds.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../helpers/azurite.js';
import { cpuSeconds } from './measure.js';
import { dirBytes } from './tree.js';

export const VAULT_TARGETS = ['local', 'azurite'] as const;
export type VaultTarget = (typeof VAULT_TARGETS)[number];

export interface BenchVault {
  target: VaultTarget;
  /** The vault's name in the catalog. */
  name: string;
  /** `strata vault create NAME` arguments after the name that place the vault on this target. */
  createArgs: string[];
  /** Bytes the vault holds now: du -sb of the folder, or the sum of the container's blob sizes. */
  bytes(): Promise<number>;
  /** CPU seconds the target's own process (Azurite) has used so far; null for a local folder. It shares the 2 cores with the server. */
  cpuS(): number | null;
  close(): Promise<void>;
}

/** Starts (for Azurite) or prepares the target under `workDir`. */
export async function openVaultTarget(target: VaultTarget, workDir: string): Promise<BenchVault> {
  if (target === 'local') {
    const dir = join(workDir, 'vault');
    return { target, name: 'bench', createArgs: ['--kind', 'local', '--path', dir], bytes: () => dirBytes(dir), cpuS: () => null, close: async () => undefined };
  }
  const location = join(workDir, 'azurite');
  await mkdir(location, { recursive: true });
  const az = await startAzurite({ location });
  // The CLI takes secrets from a file, never from its command line.
  const secretFile = join(workDir, 'azurite-connection-string');
  await writeFile(secretFile, az.connectionString, { mode: 0o600 });
  const pid = await pidWithArg(location);
  const container = BlobServiceClient.fromConnectionString(az.connectionString).getContainerClient('strata-bench');
  return {
    target,
    name: 'bench-azurite',
    createArgs: ['--kind', 'azure', '--container', 'strata-bench', '--connection-string-file', secretFile, '--create-container'],
    async bytes() {
      let total = 0;
      for await (const b of container.listBlobsFlat()) total += b.properties.contentLength ?? 0;
      return total;
    },
    cpuS: () => cpuSeconds(pid ?? undefined),
    close: () => az.stop(),
  };
}

/** The process whose command line has `arg` as one argument (the helper does not expose Azurite's pid; its --location is unique). */
async function pidWithArg(arg: string): Promise<number | null> {
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmdline = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(arg)) return Number(e);
  }
  return null;
}
