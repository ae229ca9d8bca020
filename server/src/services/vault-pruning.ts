/**
 * Vault pruning as the vault service runs it (docs/vault-service.md,
 * "Purge and pruning"): which points leave the vault, and whether packs may
 * be touched now. The library's pruneVault (vault/prune.ts) does the work
 * under the exclusive lease; this decides what to give it.
 *
 * Which points go: only the ones the server is CERTAIN about, by name
 * (`deletePointIds`), never "everything the catalog does not list"
 * (`keepPointIds`). The catalog and the vault can disagree for good
 * reasons: a manifest written whose catalog record was lost (the next
 * upload records it), a point uploaded by the lost server and not yet
 * attached here, a catalog restored from an older backup. With
 * keepPointIds each of those would be deleted — data loss for a mismatch
 * that is harmless — while deletePointIds at worst leaves space unclaimed.
 * So the set is: the points the caller names (the purge's ids), plus the
 * points whose own `deleted/` marker in the vault says they were
 * soft-deleted and expired and which the catalog holds no row for (a purge
 * that deleted the row but crashed before the vault's objects went, or a
 * point deleted on a server that was since lost). A point with no marker
 * that only the vault knows is kept and counted in `unknownPoints`.
 *
 * Readers: while a restore or verify holds the vault (acquireRead), packs
 * are neither rewritten nor deleted — a chunk must not leave the pack a
 * running restore reads. The points (points/, refs/, deleted/) may still go;
 * the pack work is postponed (`postponed: true`) to the next run, and a
 * `prune.pending` file in the vault's state folder says a run is owed.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../catalog/index.js';
import type { Logger } from '../log.js';
import {
  listDeletedMarkers, pruneVault as libPruneVault, removeDeletedMarker, withRetry, writeDeletedMarker, type PruneProgress, type PruneResult,
} from '../vault/index.js';
import type { OpenVault } from './vault-handles.js';
import { MirroredBackend } from './vault-mirror.js';

export interface VaultPruneOptions {
  /** Points to remove from the vault besides the expired leftovers found by their markers. */
  deletePointIds?: Iterable<string>;
  /** Rewrite packs whose live share is below this (0..1; default 0.5). */
  rewriteBelow?: number;
  signal?: AbortSignal;
  onProgress?: (p: PruneProgress) => void;
  /** Skip the pack work when no point goes and no earlier run was postponed (the daily run). */
  onlyIfNeeded?: boolean;
}

export interface VaultPruneResult extends PruneResult {
  vaultId: string;
  vaultName: string;
  /** Points removed from the vault by this run (named or found expired by their marker). */
  pointIds: string[];
  /** Packs were left alone because readers held the vault; the next run does it. */
  postponed: boolean;
  /** Nothing was owed (onlyIfNeeded): no pack was looked at. */
  skipped: boolean;
  reason?: string;
  /** Points only the vault knows, with no marker: kept (see the module comment). */
  unknownPoints: number;
}

export interface PruneContext {
  catalog: Catalog;
  h: OpenVault;
  stateDir: string;
  now: Date;
  /** Restores and verifies holding this vault now. */
  readers: () => number;
  /**
   * Runs the pack work if no reader holds the vault at that instant (null
   * otherwise); readers that ask meanwhile wait until it ends.
   */
  withoutReaders: <T>(fn: () => Promise<T>) => Promise<T> | null;
  packSize?: number;
  log?: Logger;
}

const PENDING = 'prune.pending';

/** A point left the vault outside a pruning (purge): its packs are owed a pruning, whatever happens next. */
export async function notePruneOwed(stateDir: string, now: Date): Promise<void> {
  await fsp.writeFile(path.join(stateDir, PENDING), `${now.toISOString()}\n`);
}

/**
 * Brings the vault's markers in line with the catalog for the points the
 * catalog holds in this vault: a soft-deleted row gets its marker (an
 * undelete that died after removing it, or a point deleted before markers
 * existed), a live row loses a stray one (a delete that died before the
 * catalog step). The caller holds the service's marker lock, so no delete or
 * undelete is half done meanwhile. Markers of points the catalog does not
 * hold are the pruning's business.
 */
export async function reconcileMarkers(catalog: Catalog, h: OpenVault, signal?: AbortSignal): Promise<{ written: number; removed: number }> {
  const rows = await catalog.listVaultPoints({ vaultId: h.record.id, state: 'all' });
  const present = new Set((await h.vault.list('deleted/', signal)).map((x) => x.key.slice('deleted/'.length)));
  let written = 0;
  let removed = 0;
  for (const r of rows) {
    if (r.deletedAt && !present.has(r.pointId)) {
      await writeDeletedMarker(h.vault, { pointId: r.pointId, deletedAt: r.deletedAt, purgeAfter: r.purgeAfter ?? r.deletedAt, reason: 'admin' }, signal);
      written++;
    } else if (!r.deletedAt && present.has(r.pointId)) {
      await removeDeletedMarker(h.vault, r.pointId, signal);
      removed++;
    }
  }
  return { written, removed };
}

export async function pruneOpenVault(c: PruneContext, o: VaultPruneOptions): Promise<VaultPruneResult> {
  const { h, catalog } = c;
  const { vault } = h;
  const rec = h.record;
  // Deletes go to both targets: do not start while either is down (the next run does it).
  if (vault.backend instanceof MirroredBackend) await vault.backend.checkBoth();
  const ids = new Set(o.deletePointIds ?? []);
  const rows = new Set((await catalog.listVaultPoints({ vaultId: rec.id, state: 'all' })).map((r) => r.pointId));
  const { markers } = await listDeletedMarkers(vault, o.signal);
  const pendingFile = path.join(c.stateDir, PENDING);
  const owed = await fsp.access(pendingFile).then(() => true, () => false);
  // The daily run on a vault that owes nothing: no marker the catalog does not hold, so no leftover to look for.
  if (o.onlyIfNeeded && ids.size === 0 && !owed && [...markers.keys()].every((id) => rows.has(id))) {
    return {
      pointsRemoved: 0, packsDeleted: 0, packsRewritten: 0, packsWritten: 0, chunksCopied: 0, orphansRemoved: 0, bytesFreed: 0, bytesRewritten: 0,
      vaultId: rec.id, vaultName: rec.name, pointIds: [], unknownPoints: 0, postponed: false, skipped: true, reason: 'nothing to prune',
    };
  }
  const listed = new Set((await vault.list('points/', o.signal)).map((x) => x.key.slice('points/'.length)));
  const markersToRemove = new Set<string>();
  for (const [id, m] of markers) {
    if (rows.has(id)) continue; // the catalog decides about its own points (purge, undelete)
    if (!listed.has(id)) markersToRemove.add(id); // a marker without its point: a leftover
    else if (m.purgeAfter <= c.now) ids.add(id);
  }
  for (const id of ids) markersToRemove.add(id);
  let unknownPoints = 0;
  for (const id of listed) if (!rows.has(id) && !ids.has(id)) unknownPoints++;
  if (unknownPoints) c.log?.warn({ vault: rec.name, unknownPoints }, 'vault pruning: points in the vault that this catalog does not know are kept (attach the vault elsewhere, or delete them there)');

  const removing = [...ids].filter((id) => listed.has(id));
  const base = { vaultId: rec.id, vaultName: rec.name, pointIds: removing, unknownPoints };
  const zero: PruneResult = { pointsRemoved: 0, packsDeleted: 0, packsRewritten: 0, packsWritten: 0, chunksCopied: 0, orphansRemoved: 0, bytesFreed: 0, bytesRewritten: 0 };

  const postpone = async (readers: number): Promise<VaultPruneResult> => {
    // Points may go (no reader needs a point the catalog no longer lists), packs may not.
    const del = (key: string) => withRetry(() => vault.backend.delete(key), vault.retry, vault.clock, o.signal);
    for (const id of removing) {
      await del(`points/${id}`);
      await del(`refs/${id}`);
    }
    for (const id of markersToRemove) await removeDeletedMarker(vault, id, o.signal);
    await notePruneOwed(c.stateDir, c.now);
    const reason = `${readers} restore or verify job(s) are reading this vault: packs are left for the next run`;
    c.log?.info({ vault: rec.name, readers }, `vault pruning postponed: ${reason}`);
    return { ...zero, ...base, pointsRemoved: removing.length, postponed: true, skipped: false, reason };
  };
  if (c.readers() > 0) return postpone(c.readers());
  if (o.onlyIfNeeded && removing.length === 0 && !owed) {
    for (const id of markersToRemove) await removeDeletedMarker(vault, id, o.signal);
    return { ...zero, ...base, postponed: false, skipped: true, reason: 'nothing to prune' };
  }
  // Written before the work: a crash or failure leaves the debt recorded.
  await notePruneOwed(c.stateDir, c.now);
  const work = c.withoutReaders(() => libPruneVault({
    vault, known: h.known, deletePointIds: ids, rewriteBelow: o.rewriteBelow, signal: o.signal, onProgress: o.onProgress,
    ...(c.packSize ? { packSize: c.packSize } : {}),
  }));
  if (!work) return postpone(c.readers()); // a reader came while the pending note was written
  const r = await work;
  // Markers last: a marker without its point means nothing, a point without its marker would be live.
  for (const id of markersToRemove) await removeDeletedMarker(vault, id, o.signal);
  await fsp.rm(pendingFile, { force: true });
  c.log?.info({ vault: rec.name, ...r }, 'vault pruned');
  return { ...r, ...base, postponed: false, skipped: false };
}
