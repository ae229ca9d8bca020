/**
 * Restoring a point that is only in the vault (location 'vault': its
 * short-term copy expired, or it came with a disaster-recovery attach): the
 * chunk source the restore job reads instead of the chunk store. It streams
 * from the vault — the chunks of one agent request read as a batch, blobs
 * close together in a pack with one ranged GET, each decrypted and SHA-256
 * checked by the reader, the secondary target read when the primary fails —
 * and serves only chunks the point's own ref list in the vault names (keyed
 * chunk ids), as the chunk store's ref list does for points on disk.
 *
 * Also a cross-region restore on purpose: with a vault target ('secondary':
 * the secondary alone) the restore job reads here even for a point that is
 * on disk too (location 'both'). The job holds a read on the vault
 * (VaultService.acquireRead) meanwhile; it, not this source, releases it.
 */
import { Compression, type ChunkIn } from '../chunk-store/index.js';
import type { RecoveryPoint } from '../catalog/index.js';
import { conflict, invalid } from '../errors.js';
import { asStrataError } from './vault-input.js';
import type { RestoreChunkSource } from '../jobs/restore-run.js';
import type { VaultService } from './vault-service.js';


/**
 * Whether a point can be restored from its vault (the target given, or auto):
 * it must be in one (location 'vault' or 'both'), its online copy must be live,
 * and 'secondary' needs a vault with a secondary target. Reads only the catalog.
 */
export async function checkVaultRestore(vaults: VaultService, point: RecoveryPoint, target?: 'auto' | 'primary' | 'secondary'): Promise<void> {
  if (point.location === 'disk' || !point.vaultId) {
    throw invalid(`recovery point ${point.id} is not in a vault (it is only on the server's disk): restore it without a vault target`);
  }
  const online = await vaults.onlineCopy(point.id);
  if (online?.deletedAt) throw conflict(`the online copy of recovery point ${point.id} is deleted: undelete it first (strata vault undelete-point ${point.id})`);
  const rec = await vaults.get(point.vaultId);
  if (target === 'secondary' && !rec.secondary) {
    throw invalid(`vault '${rec.name}' has no secondary target (redundancy ${rec.redundancy}): restore recovery point ${point.id} from its primary (vault target primary or auto)`);
  }
}

export async function vaultChunkSource(
  vaults: VaultService, point: RecoveryPoint, o: { target?: 'auto' | 'primary' | 'secondary'; signal?: AbortSignal } = {},
): Promise<RestoreChunkSource> {
  await checkVaultRestore(vaults, point, o.target);
  const vaultId = point.vaultId!;
  const reader = await vaults.reader(vaultId, { target: o.target });
  // The vault's ref lists hold keyed chunk ids (docs/vault-format.md §6), not SHA-256s.
  const { vault } = await vaults.open(vaultId);
  const wrap = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      throw asStrataError(err);
    }
  };
  return {
    refs: {
      async open(pointId: string) {
        const hashes = await wrap(reader.pointRefs(pointId, o.signal));
        const set = new Set(hashes.map((h) => h.toString('hex')));
        return { has: (h: Buffer) => set.has(vault.chunkId(h).toString('hex')), close: () => set.clear() };
      },
    },
    async getStoredMany(hashes: Buffer[]): Promise<ChunkIn[]> {
      // One batch per agent request (a few MiB at most): neighbouring blobs of a pack come with one range GET.
      const datas = await wrap(reader.readChunksBatch(hashes, o.signal));
      return datas.map((data, i) => ({ hash: Buffer.from(hashes[i]!), compression: Compression.None, rawSize: data.length, data }));
    },
  };
}
