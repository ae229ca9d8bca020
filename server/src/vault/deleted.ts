/**
 * Soft-delete markers (docs/vault-format.md §6.1): `deleted/<pointId>`, a
 * small sealed object saying that the point is soft-deleted, since when,
 * until when it can be undeleted, and why. The catalog is where a running
 * server looks; the marker is what a disaster-recovery attach finds, so a
 * point deleted on a lost server does not come back as live.
 *
 * A marker never makes a point exist or stop existing (that is `points/`
 * alone, §8.5): a marker without its point is a leftover and means nothing;
 * a point without a marker is live.
 */
import { checkPointId } from '../chunk-store/index.js';
import { isVaultError } from './backends/backend.js';
import { VaultCorruptError } from './errors.js';
import { DELETED_FORMAT_NAME, DELETED_FORMAT_VERSION, ObjectType } from './format.js';
import { recordHead } from './record.js';
import { withRetry } from './transfer.js';
import type { Vault } from './vault.js';

export interface DeletedMarker {
  pointId: string;
  deletedAt: Date;
  /** From then on the point may be purged; before, it can be undeleted. */
  purgeAfter: Date;
  reason: 'admin' | 'retention';
}

export const DELETED_PREFIX = 'deleted/';
export const deletedKey = (pointId: string): string => `${DELETED_PREFIX}${pointId}`;

export function encodeDeleted(m: DeletedMarker): Buffer {
  return Buffer.from(JSON.stringify({
    format: DELETED_FORMAT_NAME, version: DELETED_FORMAT_VERSION, id: m.pointId,
    deletedAt: m.deletedAt.toISOString(), purgeAfter: m.purgeAfter.toISOString(), reason: m.reason,
  }), 'utf8');
}

/** The marker, or the reason the payload is not one. */
export function decodeDeleted(payload: Buffer, expectId: string): DeletedMarker | string {
  const j = recordHead(payload, 'deleted marker', DELETED_FORMAT_NAME, DELETED_FORMAT_VERSION, expectId);
  if (typeof j === 'string') return j;
  const deletedAt = new Date(String(j.deletedAt));
  const purgeAfter = new Date(String(j.purgeAfter));
  if (typeof j.deletedAt !== 'string' || typeof j.purgeAfter !== 'string' || Number.isNaN(deletedAt.getTime()) || Number.isNaN(purgeAfter.getTime())) {
    return 'deleted marker has a bad time';
  }
  // An unknown reason is read as 'admin': the marker's times are what matter.
  return { pointId: expectId, deletedAt, purgeAfter, reason: j.reason === 'retention' ? 'retention' : 'admin' };
}

/** PUT `deleted/<id>` (an overwrite replaces an older marker). */
export async function writeDeletedMarker(vault: Vault, m: DeletedMarker, signal?: AbortSignal): Promise<void> {
  checkPointId(m.pointId);
  const key = deletedKey(m.pointId);
  const data = vault.seal(ObjectType.Deleted, key, encodeDeleted(m));
  await withRetry(() => vault.backend.put(key, data), vault.retry, vault.clock, signal);
}

/** DELETE `deleted/<id>`; absent is fine (idempotent). */
export async function removeDeletedMarker(vault: Vault, pointId: string, signal?: AbortSignal): Promise<void> {
  checkPointId(pointId);
  await withRetry(() => vault.backend.delete(deletedKey(pointId)), vault.retry, vault.clock, signal);
}

/** The marker of a point, or null when it has none. A damaged marker is a VaultCorruptError. */
export async function readDeletedMarker(vault: Vault, pointId: string, signal?: AbortSignal): Promise<DeletedMarker | null> {
  checkPointId(pointId);
  const key = deletedKey(pointId);
  let payload: Buffer;
  try {
    payload = await vault.readObject(ObjectType.Deleted, key, signal);
  } catch (err) {
    if (isVaultError(err, 'not-found')) return null;
    throw err;
  }
  const m = decodeDeleted(payload, pointId);
  if (typeof m === 'string') throw new VaultCorruptError(vault.description, key, m);
  return m;
}

/**
 * Every marker in the vault by point id. Damaged ones are returned apart
 * (`damaged`), so one bad object does not hide the others.
 */
export async function listDeletedMarkers(vault: Vault, signal?: AbortSignal): Promise<{ markers: Map<string, DeletedMarker>; damaged: { pointId: string; error: string }[] }> {
  const markers = new Map<string, DeletedMarker>();
  const damaged: { pointId: string; error: string }[] = [];
  for (const o of await vault.list(DELETED_PREFIX, signal)) {
    const id = o.key.slice(DELETED_PREFIX.length);
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(id)) continue;
    try {
      const m = await readDeletedMarker(vault, id, signal);
      if (m) markers.set(id, m);
    } catch (err) {
      if (!(err instanceof VaultCorruptError)) throw err;
      damaged.push({ pointId: id, error: err.message });
    }
  }
  return { markers, damaged };
}
