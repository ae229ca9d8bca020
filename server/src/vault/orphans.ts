/**
 * Orphan packs (docs/vault-format.md §8.7, §8.10): packs whose upload was
 * interrupted before their index object was written. Readers never see them;
 * they only cost space until removed. Removal MUST run when no upload to this
 * vault runs (an in-flight pack has no index yet): the caller (the job
 * service, later the exclusive lease of §9) guarantees that.
 */
import { indexKey, isPackId } from './pack-format.js';
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

/** Delete orphan packs; only while no upload to this vault runs. Re-checks each index before deleting. */
export async function removeOrphanPacks(vault: Vault, signal?: AbortSignal): Promise<{ packs: number; bytes: number }> {
  let packs = 0;
  let bytes = 0;
  for (const o of await findOrphanPacks(vault, signal)) {
    signal?.throwIfAborted();
    if (await vault.backend.head(indexKey(o.packId))) continue;
    await vault.backend.delete(o.key);
    packs++;
    bytes += o.size;
  }
  return { packs, bytes };
}
