/**
 * Prune, garbage collection and verify. Pruning removes the catalog entry
 * first, then the point's ref list; chunk space comes back only with GC, which
 * marks from the ref lists of the points the catalog still has.
 */
import type { ChunkStore } from '../chunk-store/index.js';
import type { Catalog } from '../catalog/index.js';
import { notFound } from '../errors.js';
import type { LiveProgress } from '../jobs/progress.js';

export async function prunePoint(catalog: Catalog, store: ChunkStore, pointId: string) {
  const point = await catalog.getRecoveryPoint(pointId);
  if (!point) throw notFound('recovery point', pointId);
  await catalog.deleteRecoveryPoint(pointId);
  await store.refs.delete(pointId);
  return point;
}

/**
 * Mark & sweep, safe while backups run. Order matters (docs/storage-format.md §7):
 * pinning starts first (beginGc), then backups that began before it are waited
 * for (their chunks are protected only once their point's ref list exists),
 * then the live points are listed, then the sweep runs.
 */
export async function garbageCollect(catalog: Catalog, store: ChunkStore, waitForEarlierBackups: (before: number) => Promise<void>, rewriteBelow?: number) {
  const run = await store.beginGc();
  try {
    await waitForEarlierBackups(Date.now());
    const livePointIds = await catalog.listRecoveryPointIds();
    return await run.run({ livePointIds, rewriteBelow });
  } catch (e) {
    run.abort();
    throw e;
  }
}

export async function verifyPoints(catalog: Catalog, store: ChunkStore, pointId: string | undefined, progress: LiveProgress) {
  const ids = pointId ? [pointId] : await catalog.listRecoveryPointIds();
  if (pointId && !(await catalog.getRecoveryPoint(pointId))) throw notFound('recovery point', pointId);
  let checked = 0;
  const damaged: Array<{ hash: string; pack?: string; reason: string; points?: string[] }> = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const refs = await store.refs.open(id);
    const fresh: Buffer[] = [];
    for await (const h of refs.iterate()) {
      const hex = h.toString('hex');
      if (seen.has(hex)) continue;
      seen.add(hex);
      fresh.push(Buffer.from(h));
    }
    const r = await store.verify(fresh, (p) => { progress.filesScanned = checked + p.checked; });
    checked += r.checked;
    for (const d of r.damaged) damaged.push({ ...d, points: [id] });
  }
  progress.filesScanned = checked;
  return { points: ids.length, chunksChecked: checked, damaged };
}
