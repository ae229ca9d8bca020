/**
 * Orphan packs (docs/vault-format.md §8.7, §8.10): packs whose upload was
 * interrupted before their index object was written. Readers never see them;
 * they only cost space until removed. Removal MUST run when no upload to this
 * vault runs (an in-flight pack has no index yet): removeOrphanPacks takes
 * the exclusive lease of §9, which no upload holds at the same time.
 */
import { Lease, type LeaseOptions } from './lease.js';
import { indexKey, isPackId } from './pack-format.js';
import { withRetry } from './transfer.js';
import type { Vault } from './vault.js';

export interface OrphanPack {
  key: string;
  packId: string;
  size: number;
}

export async function findOrphanPacks(vault: Vault, signal?: AbortSignal): Promise<OrphanPack[]> {
  const indexed = new Set<string>();
  for (const o of await vault.list('index/', signal)) indexed.add(o.key.slice('index/'.length));
  const out: OrphanPack[] = [];
  for (const o of await vault.list('packs/', signal)) {
    signal?.throwIfAborted();
    const packId = o.key.slice(o.key.lastIndexOf('/') + 1);
    if (isPackId(packId) && o.key === `packs/${packId.slice(0, 2)}/${packId}` && !indexed.has(packId)) {
      out.push({ key: o.key, packId, size: o.size });
    }
  }
  return out;
}

export interface RemoveOrphansOptions {
  /** The exclusive lease to take (default: one with default options); false when the caller already holds it. */
  lease?: LeaseOptions | false;
}

/**
 * Delete orphan packs under the exclusive lease (§9): refused with
 * VaultLeaseHeldError while an upload or a prune holds a live lease.
 * Re-checks each index right before deleting its pack.
 */
export async function removeOrphanPacks(vault: Vault, signal?: AbortSignal, o: RemoveOrphansOptions = {}): Promise<{ packs: number; bytes: number }> {
  const lease = o.lease === false ? undefined : await Lease.exclusive(vault, 'orphans', o.lease, signal);
  try {
    return await deleteOrphans(vault, signal, lease);
  } finally {
    await lease?.release();
  }
}

/** The deletion itself; the caller holds the exclusive lease (checked before each delete when given). */
export async function deleteOrphans(vault: Vault, signal?: AbortSignal, lease?: Lease): Promise<{ packs: number; bytes: number }> {
  let packs = 0;
  let bytes = 0;
  for (const o of await findOrphanPacks(vault, signal)) {
    signal?.throwIfAborted();
    await lease?.check(signal);
    if (await withRetry(() => vault.backend.head(indexKey(o.packId)), vault.retry, vault.clock, signal)) continue;
    await withRetry(() => vault.backend.delete(o.key), vault.retry, vault.clock, signal);
    packs++;
    bytes += o.size;
  }
  return { packs, bytes };
}
