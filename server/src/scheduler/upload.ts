/**
 * The online backup until the vault uploader exists (issue 4): an 'upload'
 * job records an online recovery point (location 'vault') for the newest disk
 * point of the source. It has the same root and its own copy of that point's
 * ref list, so GC keeps the chunks for as long as the online point lives,
 * whatever short-term retention does to the disk point.
 */
import { randomUUID } from 'node:crypto';
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog, DataSourceRecord, RecoveryPoint } from '../catalog/index.js';
import { StrataError } from '../errors.js';

export interface OnlineCopy { point: RecoveryPoint; fromPointId: string; vaultId: string }

export async function recordOnlinePoint(
  catalog: Catalog, store: ChunkStore, source: DataSourceRecord, vaultId: string, jobId: string,
): Promise<OnlineCopy> {
  const points = await catalog.listRecoveryPoints({ dataSourceId: source.id });
  const from = points.find((p) => p.location !== 'vault');
  if (!from) throw new StrataError('NOTHING_TO_UPLOAD', `data source '${source.name}' has no recovery point on disk to send to the vault yet`);
  const id = randomUUID();
  // Ref list first, point second: a point exists only once everything it needs does.
  const refs = await store.refs.open(from.id);
  try {
    await store.refs.write(id, refs.iterate());
  } finally {
    refs.close();
  }
  try {
    const point = await catalog.createRecoveryPoint({
      id, dataSourceId: source.id, agentId: source.agentId, jobId, root: from.root,
      files: from.files, dirs: from.dirs, bytes: from.bytes, bytesAdded: 0,
      parentPointId: null, location: 'vault', vaultId,
    });
    return { point, fromPointId: from.id, vaultId };
  } catch (e) {
    await store.refs.delete(id).catch(() => {});
    throw e;
  }
}

/**
 * The vault online points go to. An online policy names no vault yet (its
 * spec is only schedule and retention), so it is the first vault created.
 */
export async function defaultVault(catalog: Catalog): Promise<string> {
  const [first] = await catalog.listVaults();
  if (!first) throw new StrataError('NO_VAULT', "no vault is configured: create one with 'strata vaults create' for the online backups to go to");
  return first.id;
}
