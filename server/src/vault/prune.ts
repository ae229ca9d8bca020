/**
 * Pruning (docs/vault-format.md §8.11–§8.12): removes recovery points from
 * the vault and reclaims the space of the chunks nothing references any more.
 * Runs under the exclusive lease (§9), so no upload adds references while it
 * decides. Every step keeps every remaining point fully readable: a live
 * chunk may sit in two packs for a while, never in none; a rerun after a
 * crash at any moment finishes the job.
 *
 * Order: (1) points/<id>, then refs/<id> of each removed point; (2) the mark
 * set from the refs of every remaining point; (3) every index read and a plan
 * made (prune-plan.ts); (4) the known-chunks log forgets the packs about to
 * go; (5) live blobs of packs below the threshold copied into new packs, each
 * new pack PUT then its index PUT; (6) only then, for each rewritten or dead
 * pack, its index object is deleted, then the pack; (7) orphan packs (no
 * index: an interrupted upload, rewrite or deletion) are deleted.
 */
import { randomBytes } from 'node:crypto';
import { checkPointId } from '../chunk-store/index.js';
import { isVaultError } from './backends/backend.js';
import { VaultCorruptError } from './errors.js';
import { PACK_TARGET_DEFAULT, PACK_TARGET_MAX, PACK_TARGET_MIN } from './format.js';
import { decodeIndex, type PackIndex } from './index-format.js';
import { type KnownChunks, readIndex } from './known-chunks.js';
import { Lease, type LeaseOptions } from './lease.js';
import { pointKey, refsKey } from './manifest.js';
import { encodePruned, PRUNED_KEY } from './prune-epoch.js';
import { deleteOrphans } from './orphans.js';
import { type BuiltPack, indexKey, isPackId, openStoredBlob, PackBuilder, packKey } from './pack-format.js';
import { PackSender } from './pack-sender.js';
import { planPrune } from './prune-plan.js';
import { VaultReader } from './reader.js';
import { withRetry } from './transfer.js';
import type { Vault } from './vault.js';

export interface PruneResult {
  /** Points whose manifest this run deleted. */
  pointsRemoved: number;
  /** Packs deleted because nothing in them was live (orphans not counted). */
  packsDeleted: number;
  /** Packs whose live blobs were copied out before they were deleted. */
  packsRewritten: number;
  /** New packs written by the rewrite. */
  packsWritten: number;
  chunksCopied: number;
  /** Packs without an index deleted at the end (leftovers of interrupted work). */
  orphansRemoved: number;
  /** Bytes of the packs and index objects deleted, less the bytes of those written. */
  bytesFreed: number;
  /** Bytes of the new packs and index objects written. */
  bytesRewritten: number;
}

export interface PruneProgress extends PruneResult {
  phase: 'points' | 'mark' | 'plan' | 'rewrite' | 'delete' | 'orphans' | 'done';
}

export interface PruneOptions {
  vault: Vault;
  /** The server's known chunks of this vault: updated to what remains. */
  known: KnownChunks;
  /** Points to keep: every other point is removed. Exactly one of keepPointIds and deletePointIds. */
  keepPointIds?: Iterable<string>;
  /** Points to remove (ids not in the vault are ignored, so a rerun is harmless). */
  deletePointIds?: Iterable<string>;
  /** Rewrite packs whose live share (by bytes) is below this; 0 never rewrites. Default 0.5. */
  rewriteBelow?: number;
  signal?: AbortSignal;
  onProgress?: (p: PruneProgress) => void;
  /** Target size of the rewritten packs; default 16 MiB. */
  packSize?: number;
  /** Options of the exclusive lease (owner id, ttl). */
  lease?: LeaseOptions;
  /** Delete packs without an index at the end (default true). */
  removeOrphans?: boolean;
}

export async function pruneVault(o: PruneOptions): Promise<PruneResult> {
  const { vault, known } = o;
  if ((o.keepPointIds === undefined) === (o.deletePointIds === undefined)) throw new TypeError('pruneVault: give exactly one of keepPointIds and deletePointIds');
  const rewriteBelow = o.rewriteBelow ?? 0.5;
  if (!(rewriteBelow >= 0 && rewriteBelow <= 1)) throw new RangeError('pruneVault: rewriteBelow must be between 0 and 1');
  const packSize = o.packSize ?? PACK_TARGET_DEFAULT;
  if (!(packSize >= PACK_TARGET_MIN && packSize <= PACK_TARGET_MAX)) throw new RangeError(`packSize must be ${PACK_TARGET_MIN}..${PACK_TARGET_MAX}`);
  if (known.vaultId !== vault.id) throw new Error(`known chunks of vault ${known.vaultId} given for vault ${vault.id}`);
  const keep = o.keepPointIds && new Set([...o.keepPointIds].map((id) => (checkPointId(id), id)));
  const del = o.deletePointIds && new Set([...o.deletePointIds].map((id) => (checkPointId(id), id)));
  const lease = await Lease.exclusive(vault, 'prune', o.lease, o.signal);
  try {
    return await new Pruner(o, lease, rewriteBelow, packSize).run(keep, del);
  } finally {
    await lease.release();
  }
}

class Pruner {
  readonly res: PruneResult = {
    pointsRemoved: 0, packsDeleted: 0, packsRewritten: 0, packsWritten: 0, chunksCopied: 0, orphansRemoved: 0, bytesFreed: 0, bytesRewritten: 0,
  };
  private readonly vault: Vault;
  private readonly signal?: AbortSignal;

  constructor(readonly o: PruneOptions, readonly lease: Lease, readonly rewriteBelow: number, readonly packSize: number) {
    this.vault = o.vault;
    this.signal = o.signal;
  }

  private report(phase: PruneProgress['phase']): void {
    this.o.onProgress?.({ phase, ...this.res });
  }

  /** Each step: the lease is still ours (renewed when due), and the job was not cancelled. */
  private step(): Promise<void> {
    return this.lease.check(this.signal);
  }

  private del(key: string): Promise<void> {
    return withRetry(() => this.vault.backend.delete(key), this.vault.retry, this.vault.clock, this.signal);
  }

  async run(keep: Set<string> | undefined, del: Set<string> | undefined): Promise<PruneResult> {
    const { vault, known, signal } = this.o;
    const reader = new VaultReader(vault, known);
    // 1. The removed points stop existing (manifest first), then their refs go.
    const listed = await reader.pointIds(signal);
    const removed = listed.filter((id) => (keep ? !keep.has(id) : del!.has(id)));
    for (const id of removed) {
      await this.step();
      await this.del(pointKey(id));
      this.res.pointsRemoved++;
      await this.del(refsKey(id));
      this.report('points');
    }
    // 2. Mark: every chunk a remaining point references. A missing or damaged refs object stops the prune before any pack goes.
    const gone = new Set(removed);
    const remaining = new Set(listed.filter((id) => !gone.has(id)));
    const live = new Set<string>();
    for (const id of remaining) {
      await this.step();
      for (const cid of await reader.pointRefs(id, signal)) live.add(cid.toString('latin1'));
    }
    // Refs without a manifest (an interrupted upload or prune) hold nothing: no upload runs under this lease.
    for (const obj of await vault.list('refs/', signal)) {
      const id = obj.key.slice('refs/'.length);
      if (remaining.has(id)) continue;
      await this.step();
      await this.del(obj.key);
    }
    this.report('mark');

    // 3. Every index; a damaged one stops the prune (what it holds is unknown).
    const packs: PackIndex[] = [];
    const payloads = new Map<string, Buffer>();
    const indexSize = new Map<string, number>();
    for (const obj of await vault.list('index/', signal)) {
      const packId = obj.key.slice('index/'.length);
      if (!isPackId(packId)) continue;
      await this.step();
      const payload = await readIndex(vault, packId, signal);
      payloads.set(packId, payload);
      indexSize.set(packId, obj.size);
      packs.push(decodeIndex(payload, packId) as PackIndex);
    }
    const plan = planPrune(packs, live, this.rewriteBelow);
    this.report('plan');

    // 4. A new prune epoch tells every other known-chunks log of this vault to rebuild before it is trusted;
    // this log forgets what is about to go before anything goes (it may lack packs, never hold a deleted one).
    const epoch = plan.rewrite.length + plan.remove.length > 0 ? randomBytes(16).toString('hex') : undefined;
    if (epoch) {
      await this.step();
      await withRetry(() => vault.backend.put(PRUNED_KEY, encodePruned(epoch, vault.clock.now())), vault.retry, vault.clock, signal);
    }
    const keptPayloads = plan.keep.map((ix) => payloads.get(ix.packId)!);
    await known.replace(keptPayloads);

    // 5. Copy live blobs into new packs, each PUT with its index before any old index is deleted.
    const written = await this.rewrite(plan.rewrite, plan.copy);

    // 6. Old index objects, then old packs: readers lose nothing (every live chunk is in a kept or a new pack).
    const drop = async (ix: PackIndex) => {
      await this.step();
      await this.del(indexKey(ix.packId));
      await this.del(packKey(ix.packId));
      this.res.bytesFreed += ix.packSize + (indexSize.get(ix.packId) ?? 0);
    };
    for (const ix of plan.rewrite) {
      await drop(ix);
      this.res.packsRewritten++;
      this.report('delete');
    }
    for (const ix of plan.remove) {
      await drop(ix);
      this.res.packsDeleted++;
      this.report('delete');
    }
    // 7. Packs without an index: leftovers of interrupted uploads, rewrites or deletions.
    if (this.o.removeOrphans !== false) {
      const r = await deleteOrphans(vault, signal, this.lease);
      this.res.orphansRemoved = r.packs;
      this.res.bytesFreed += r.bytes;
      this.report('orphans');
    }
    this.res.bytesFreed -= this.res.bytesRewritten;
    await known.replace([...keptPayloads, ...written]);
    // Only now is this log consistent with the epoch (a crash before: the next upload rebuilds).
    if (epoch) await known.setEpoch(epoch);
    this.report('done');
    return { ...this.res };
  }

  /** Step 5; returns the index payloads of the new packs. */
  private async rewrite(old: PackIndex[], copy: PackIndex['entries'][]): Promise<Buffer[]> {
    const { vault, known, signal } = this.o;
    const written: Buffer[] = [];
    if (copy.every((c) => c.length === 0)) return written;
    const put = async (key: string, data: Buffer) => {
      await this.step();
      await withRetry(() => vault.backend.put(key, data), vault.retry, vault.clock, signal);
      this.res.bytesRewritten += data.length;
    };
    const sender = new PackSender(vault, known, put, 2, (b: BuiltPack) => {
      written.push(b.indexPayload);
      this.res.packsWritten++;
      this.res.chunksCopied += b.index.entries.length;
      this.report('rewrite');
    });
    // Like an upload: an interruption makes the next upload learn the new packs from the vault.
    known.beginUpload();
    let ok = false;
    try {
      let builder = new PackBuilder(vault.keys);
      for (let i = 0; i < old.length && sender.failure === undefined; i++) {
        if (copy[i].length === 0) continue;
        await this.step();
        const key = packKey(old[i].packId);
        const data = await withRetry(() => vault.backend.get(key), vault.retry, vault.clock, signal).catch((err: unknown) => {
          if (isVaultError(err, 'not-found')) throw new VaultCorruptError(vault.description, key, 'missing pack; pruning stopped before deleting any pack');
          throw err;
        });
        for (const e of copy[i]) {
          const blob = openStoredBlob(vault.keys, old[i].packId, e, data.subarray(e.offset, e.offset + e.length));
          if (typeof blob === 'string') throw new VaultCorruptError(vault.description, key, `${blob}; pruning stopped before deleting any pack`, e.id.toString('hex'));
          builder.add(e.id, blob.compression, e.rawSize, blob.data);
          if (builder.bytes >= this.packSize || builder.full) {
            await sender.send(builder.finish());
            builder = new PackBuilder(vault.keys);
          }
        }
      }
      if (builder.count > 0 && sender.failure === undefined) await sender.send(builder.finish());
      await sender.drain();
      ok = true;
    } finally {
      await sender.settle();
      await known.endUpload(ok);
    }
    return written;
  }
}
