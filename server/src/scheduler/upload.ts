/**
 * The online backup of a data source (an 'upload' job): the newest recovery
 * point on the server's disk goes to the vault through the vault service
 * (services/vault-service.ts), which sends only the chunks the vault lacks
 * and records the online copy (location 'both') once its manifest is in the
 * vault. An unreachable vault is a transient failure: the queue retries it
 * with backoff while short-term backups go on.
 */
import type { Catalog, DataSourceRecord } from '../catalog/index.js';
import { StrataError } from '../errors.js';
import type { LiveProgress } from '../jobs/progress.js';
import type { VaultService } from '../services/vault-service.js';

export interface UploadOutcome {
  pointId: string;
  vaultId: string;
  vaultName: string;
  alreadyInVault: boolean;
  chunks: number;
  chunksSent: number;
  chunksSkipped: number;
  packsSent: number;
  bytesSent: number;
}

/** Sends the newest disk point of `source` to `vaultId`; progress goes into the job's counters. */
export async function uploadNewestPoint(
  catalog: Catalog, vaults: VaultService, source: DataSourceRecord, vaultId: string, progress: LiveProgress, signal: AbortSignal,
): Promise<UploadOutcome> {
  const points = await catalog.listRecoveryPoints({ dataSourceId: source.id });
  const from = points.find((p) => p.location !== 'vault');
  if (!from) throw new StrataError('NOTHING_TO_UPLOAD', `data source '${source.name}' has no recovery point on disk to send to the vault yet`);
  progress.bytesTotal = from.bytes;
  progress.filesTotal = from.files;
  const r = await vaults.uploadPoint(from.id, {
    vault: vaultId, signal,
    // Chunks seen go where verify counts chunks checked; bytes as sent (compressed, encrypted) and as read.
    onProgress: (p) => {
      progress.filesScanned = p.chunksSeen;
      progress.bytesSent = p.bytesSent;
      progress.bytesScanned = p.rawBytesSent;
    },
  });
  return {
    pointId: from.id, vaultId: r.vaultId, vaultName: r.vaultName, alreadyInVault: r.alreadyInVault, chunks: r.chunks,
    chunksSent: r.chunksSent, chunksSkipped: r.chunksSkipped, packsSent: r.packsSent, bytesSent: r.bytesSent,
  };
}

/**
 * The vault online backups go to. An online policy names no vault (its spec
 * is only schedule and retention), so it is the first ready vault created.
 */
export async function defaultVault(catalog: Catalog): Promise<string> {
  const first = (await catalog.listVaults()).find((v) => v.state === 'ready');
  if (!first) throw new StrataError('NO_VAULT', 'no vault: create one with strata vault create for the online backups to go to');
  return first.id;
}
