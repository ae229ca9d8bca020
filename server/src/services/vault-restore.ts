/**
 * Restoring a point that is only in the vault (location 'vault': its
 * short-term copy expired, or it came with a disaster-recovery attach): the
 * chunk source the restore job reads instead of the chunk store. It streams
 * from the vault — one ranged GET per chunk, each decrypted and SHA-256
 * checked by the reader, the secondary target read when the primary fails —
 * and serves only chunks the point's own ref list in the vault names (keyed
 * chunk ids), as the chunk store's ref list does for points on disk.
 */
import { Compression, type ChunkIn } from '../chunk-store/index.js';
import type { RecoveryPoint } from '../catalog/index.js';
import { conflict, invalid } from '../errors.js';
import { asStrataError } from './vault-input.js';
import type { RestoreChunkSource } from '../jobs/restore-run.js';
import type { VaultService } from './vault-service.js';


/** Chunks fetched from the vault at once for one request of the agent. */
const PARALLEL_READS = 8;

export async function vaultChunkSource(
  vaults: VaultService, point: RecoveryPoint, o: { target?: 'auto' | 'primary' | 'secondary'; signal?: AbortSignal } = {},
): Promise<RestoreChunkSource> {
  if (!point.vaultId) throw invalid(`recovery point ${point.id} is in no vault`);
  const online = await vaults.onlineCopy(point.id);
  if (online?.deletedAt) throw conflict(`the online copy of recovery point ${point.id} is deleted: undelete it first (strata vault undelete-point ${point.id})`);
  const reader = await vaults.reader(point.vaultId, { target: o.target });
  // The vault's ref lists hold keyed chunk ids (docs/vault-format.md §6), not SHA-256s.
  const { vault } = await vaults.open(point.vaultId);
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
      const out: ChunkIn[] = new Array(hashes.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < hashes.length; i = next++) {
          const data = await wrap(reader.readChunk(hashes[i]!, o.signal));
          out[i] = { hash: Buffer.from(hashes[i]!), compression: Compression.None, rawSize: data.length, data };
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, hashes.length) }, worker));
      return out;
    },
  };
}
