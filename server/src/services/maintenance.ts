/**
 * Prune, garbage collection and verify. Pruning removes the catalog entry
 * first, then the point's ref list; chunk space comes back only with GC, which
 * marks from the ref lists of the points the catalog still has.
 */
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog, RecoveryPoint } from '../catalog/index.js';
import { invalid, notFound } from '../errors.js';
import type { LiveProgress } from '../jobs/progress.js';

/** What pruning a point did: the whole point, only its disk copy, or only its online copy. */
export interface PruneOutcome {
  point: RecoveryPoint;
  action: 'deleted' | 'disk-copy-dropped' | 'online-copy-deleted';
  message: string;
}

/** The vault service's soft delete, for a point whose only copy is online. */
export interface OnlineCopyDeleter {
  deletePoint(pointId: string, o?: { reason?: 'admin' | 'retention' }): Promise<{ purged: boolean; purgeAfter?: Date | null }>;
}

/**
 * Prunes a point where the server keeps it:
 * - on disk only ('disk'): the catalog entry, then its ref list;
 * - on disk and in a vault ('both'): only the disk copy (dropDiskCopy); the
 *   online copy stays and follows the online policy;
 * - only in a vault ('vault'): its online copy goes through the vault
 *   service's delete (soft delete, immutability), never straight out of the
 *   catalog. Without a vault service that is refused.
 */
export async function prunePoint(catalog: Catalog, store: ChunkStore, pointId: string, o: { vaults?: OnlineCopyDeleter } = {}): Promise<PruneOutcome> {
  const point = await catalog.getRecoveryPoint(pointId);
  if (!point) throw notFound('recovery point', pointId);
  const online = point.location === 'disk' ? null : await catalog.getVaultPoint(pointId);
  if (point.location === 'both' && online) {
    await dropDiskCopy(catalog, store, point);
    return { point, action: 'disk-copy-dropped', message: `recovery point ${pointId}: its copy on the server's disk was removed (space returns with gc); its online copy stays in the vault (strata vault delete-point ${pointId} deletes it)` };
  }
  if (point.location === 'vault' && online) {
    if (!o.vaults) throw invalid(`recovery point ${pointId} is only in a vault: delete its online copy with strata vault delete-point ${pointId}`);
    const r = await o.vaults.deletePoint(pointId, { reason: 'admin' });
    return { point, action: 'online-copy-deleted', message: r.purged ? `recovery point ${pointId}: its online copy was deleted` : `recovery point ${pointId}: its online copy was soft-deleted (strata vault undelete-point ${pointId} brings it back until it is purged)` };
  }
  await catalog.deleteRecoveryPoint(pointId);
  await store.refs.delete(pointId);
  return { point, action: 'deleted', message: `recovery point ${pointId} was deleted (space returns with gc)` };
}

/**
 * Short-term expiry of a point that is also in a vault: it stays in the
 * catalog as location 'vault', and its ref list becomes empty, so GC (which
 * marks from every catalog point's ref list) frees the chunks only it held
 * while the vault keeps the data. Location first: if the empty list is never
 * written, GC still keeps everything (safe), never the other way round.
 */
export async function dropDiskCopy(catalog: Catalog, store: ChunkStore, point: RecoveryPoint): Promise<void> {
  await catalog.setRecoveryPointLocation(point.id, 'vault');
  await store.refs.write(point.id, []);
}

/**
 * Mark & sweep, safe while backups run. Order matters (docs/storage-format.md §7):
 * pinning starts first (beginGc), then backups that began before it are waited
 * for (their chunks are protected only once their point's ref list exists),
 * then the live points are listed, then the sweep runs.
 */
export async function garbageCollect(catalog: Catalog, store: ChunkStore, waitForEarlierBackups: (before: number) => Promise<void>, rewriteBelow?: number, signal?: AbortSignal) {
  const run = await store.beginGc();
  try {
    await waitForEarlierBackups(Date.now());
    // A cancel lands before the sweep starts; once sweeping, GC finishes (it is safe to stop only between packs, and short).
    signal?.throwIfAborted();
    const livePointIds = await catalog.listRecoveryPointIds();
    return await run.run({ livePointIds, rewriteBelow });
  } catch (e) {
    run.abort();
    throw e;
  }
}

export async function verifyPoints(catalog: Catalog, store: ChunkStore, pointId: string | undefined, progress: LiveProgress, signal?: AbortSignal) {
  const ids = pointId ? [pointId] : await catalog.listRecoveryPointIds();
  if (pointId && !(await catalog.getRecoveryPoint(pointId))) throw notFound('recovery point', pointId);
  let checked = 0;
  const damaged: Array<{ hash: string; pack?: string; reason: string; points?: string[] }> = [];
  const seen = new Set<string>();
  for (const id of ids) {
    signal?.throwIfAborted();
    const refs = await store.refs.open(id);
    const fresh: Buffer[] = [];
    for await (const h of refs.iterate()) {
      const hex = h.toString('hex');
      if (seen.has(hex)) continue;
      seen.add(hex);
      fresh.push(Buffer.from(h));
    }
    // Throwing from the progress callback stops a long verify of one point too.
    const r = await store.verify(fresh, (p) => { progress.filesScanned = checked + p.checked; signal?.throwIfAborted(); });
    checked += r.checked;
    for (const d of r.damaged) damaged.push({ ...d, points: [id] });
  }
  progress.filesScanned = checked;
  return { points: ids.length, chunksChecked: checked, damaged };
}
