/**
 * The uploader (docs/vault-format.md §8): sends one recovery point from the
 * chunk store to the vault. Only chunks the vault does not hold travel,
 * compressed then encrypted, grouped into packs; each pack is PUT, then its
 * index object, then recorded in the known-chunks log; the point's refs and
 * finally its manifest are PUT last, so an interrupted upload never leaves
 * anything that looks like a recovery point, and a rerun sends only what no
 * indexed pack holds yet.
 */
import type { ChunkIn } from '../chunk-store/index.js';
import { zstd } from './compression.js';
import { VaultPointTooLargeError, VaultUploadAbortedError } from './errors.js';
import { IdList, MAX_POINT_CHUNKS } from './id-set.js';
import { BlobCompression, ObjectType, PACK_TARGET_DEFAULT, PACK_TARGET_MAX, PACK_TARGET_MIN } from './format.js';
import type { KnownChunks } from './known-chunks.js';
import { Lease, type LeaseOptions } from './lease.js';
import { syncPruneEpoch } from './prune-epoch.js';
import { checkPointInput, encodePoint, pointKey, refsKey, type VaultPoint, type VaultPointInput } from './manifest.js';
import { PackBuilder } from './pack-format.js';
import { PackSender } from './pack-sender.js';
import { type Clock, type LimitFor, type RetryOptions, Throttle, withRetry } from './transfer.js';
import type { Vault } from './vault.js';

/** Where chunks come from: the server's ChunkStore (stored form, verified against the hash). */
export interface ChunkSource {
  getStored(hash: Buffer): Promise<ChunkIn>;
}

export interface UploadProgress {
  /** References of the point looked at so far (a ref list from the store has no repeats). */
  chunksSeen: number;
  /** Of those, chunks the vault already held or this upload already queued (not sent again). */
  chunksSkipped: number;
  /** Chunks in packs whose index is durable in the vault. */
  chunksSent: number;
  packsSent: number;
  /** Object bytes PUT (packs, indexes, refs, manifest), retries not counted twice. */
  bytesSent: number;
  /** Uncompressed bytes of the chunks sent. */
  rawBytesSent: number;
}

export interface UploadResult extends UploadProgress {
  pointId: string;
  /** The point was already in the vault: nothing was sent. */
  alreadyInVault: boolean;
  /** Distinct chunks the point references. */
  chunks: number;
  /** Packs learnt from the vault's index objects because the last upload was interrupted. */
  packsSynced: number;
  point?: VaultPoint;
}

export interface UploadPointOptions {
  vault: Vault;
  /** The server's record of what the vault holds (KnownChunks.open(stateDir, vault.id)). */
  known: KnownChunks;
  store: ChunkSource;
  point: VaultPointInput;
  /** Every chunk the point references (its ref list), duplicates allowed. */
  refs: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  signal?: AbortSignal;
  onProgress?: (p: UploadProgress) => void;
  /** Pack target size; default 16 MiB. */
  packSize?: number;
  /** Packs in flight at once; default 4. */
  concurrency?: number;
  /** Bandwidth limit in bytes/s at a given time (work hours / off hours); unlimited when absent. */
  limitFor?: LimitFor;
  retry?: RetryOptions;
  clock?: Clock;
  /** The shared upload lease (§9): options, or false when the caller excludes pruning itself. Default: taken with default options. */
  lease?: LeaseOptions | false;
}

/** Chunks read from the store at once. */
const READ_BATCH = 32;

/** Raw chunks are compressed when that makes them smaller; agents' zstd frames are kept as they are. */
function blobData(c: ChunkIn): { compression: BlobCompression; data: Buffer } {
  if (c.compression !== 0 || c.data.length < 64) return { compression: c.compression as number as BlobCompression, data: c.data };
  const z = zstd(c.data);
  return z.length < c.data.length ? { compression: BlobCompression.Zstd, data: z } : { compression: BlobCompression.None, data: c.data };
}

export async function uploadPoint(o: UploadPointOptions): Promise<UploadResult> {
  const { vault, known, signal } = o;
  checkPointInput(o.point);
  if (known.vaultId !== vault.id) throw new Error(`known chunks of vault ${known.vaultId} given for vault ${vault.id}`);
  const packSize = o.packSize ?? PACK_TARGET_DEFAULT;
  if (!(packSize >= PACK_TARGET_MIN && packSize <= PACK_TARGET_MAX)) throw new RangeError(`packSize must be ${PACK_TARGET_MIN}..${PACK_TARGET_MAX}`);
  const clock = o.clock ?? vault.clock;
  const retry = o.retry ?? vault.retry;
  const throttle = new Throttle(o.limitFor, clock);
  const id = o.point.id;
  const progress: UploadProgress = { chunksSeen: 0, chunksSkipped: 0, chunksSent: 0, packsSent: 0, bytesSent: 0, rawBytesSent: 0 };
  const report = () => o.onProgress?.({ ...progress });
  const aborted = () => new VaultUploadAbortedError(vault.description, id);

  let lease: Lease | undefined;
  const put = async (key: string, data: Buffer) => {
    await lease?.check(signal);
    await withRetry(async () => {
      await throttle.take(data.length, signal);
      await vault.backend.put(key, data);
    }, retry, clock, signal);
    progress.bytesSent += data.length;
  };
  const result = (extra: Partial<UploadResult>): UploadResult =>
    ({ ...progress, pointId: id, alreadyInVault: false, chunks: 0, packsSynced: 0, ...extra });

  try {
    // 1. Already uploaded: done (a rerun after the manifest was written).
    if (await withRetry(() => vault.backend.head(pointKey(id)), retry, clock, signal)) {
      return result({ alreadyInVault: true });
    }
    // Refused (VaultLeaseHeldError) while a prune or orphan removal holds the exclusive lease.
    if (o.lease !== false) lease = await Lease.upload(vault, o.lease ?? {}, signal);
    known.beginUpload();
    let ok = false;
    try {
      // Pruned since this log was last consistent (another server, or a crashed prune): rebuild it first.
      await syncPruneEpoch(vault, known, signal);
      const r = await sendPoint(o, put, progress, report, aborted, clock);
      ok = true;
      return result(r);
    } finally {
      try {
        await known.endUpload(ok);
      } finally {
        await lease?.release();
      }
    }
  } catch (err) {
    // A cancel that landed inside a backoff, a throttle wait or a listing is still a cancel.
    if (signal?.aborted && !(err instanceof VaultUploadAbortedError)) throw aborted();
    throw err;
  }
}

async function sendPoint(
  o: UploadPointOptions, put: (key: string, data: Buffer) => Promise<void>, progress: UploadProgress, report: () => void,
  aborted: () => Error, clock: Clock,
): Promise<Partial<UploadResult>> {
  const { vault, known, signal } = o;
  const id = o.point.id;
  const packSize = o.packSize ?? PACK_TARGET_DEFAULT;
  const concurrency = Math.max(1, o.concurrency ?? 4);
  // 2. The last upload was interrupted (or there is no local state): learn what the vault holds.
  const packsSynced = known.needsSync ? await known.sync(vault, signal) : 0;

  // 3. Packs: chunks the vault lacks are read from the store a batch at a time
  // (reads in parallel), packed in ref order, and sent with `concurrency` packs in flight.
  const sender = new PackSender(vault, known, put, concurrency, (b) => {
    progress.packsSent++;
    progress.chunksSent += b.index.entries.length;
    progress.rawBytesSent += b.rawBytes;
    report();
  });
  const stop = () => signal?.aborted || sender.failure !== undefined;
  const ids = new IdList();
  /** Chunks queued in this upload and not yet in an indexed pack (so a repeated ref is not packed twice). */
  const queued = new Set<string>();
  let builder = new PackBuilder(vault.keys);
  let batch: { cid: Buffer; hash: Buffer }[] = [];
  const packBatch = async () => {
    const read = await Promise.all(batch.map((b) => o.store.getStored(b.hash)));
    for (let i = 0; i < batch.length; i++) {
      const { compression, data } = blobData(read[i]);
      builder.add(batch[i].cid, compression, read[i].rawSize, data);
      if (builder.bytes >= packSize || builder.full) {
        await sender.send(builder.finish());
        builder = new PackBuilder(vault.keys);
      }
    }
    batch = [];
  };
  try {
    for await (const h of o.refs as AsyncIterable<Uint8Array>) {
      if (stop()) break;
      const hash = Buffer.isBuffer(h) ? h : Buffer.from(h.buffer, h.byteOffset, h.byteLength);
      const cid = vault.chunkId(hash);
      ids.push(cid);
      if (ids.length > MAX_POINT_CHUNKS) throw new VaultPointTooLargeError(vault.description, id, MAX_POINT_CHUNKS);
      progress.chunksSeen++;
      const k = cid.toString('latin1');
      if (known.has(cid) || queued.has(k)) progress.chunksSkipped++;
      else {
        queued.add(k);
        if (batch.push({ cid, hash }) >= READ_BATCH) await packBatch();
      }
      if (progress.chunksSeen % 4096 === 0) report();
    }
    if (batch.length > 0 && !stop()) await packBatch();
    if (builder.count > 0 && !stop()) await sender.send(builder.finish());
  } finally {
    await sender.settle();
  }
  if (signal?.aborted) throw aborted();
  await sender.drain();

  // 4. Every new chunk is in an indexed pack: refs, then the manifest (LAST).
  const refs = ids.toRefsPayload();
  const point: VaultPoint = {
    id, dataSourceId: o.point.dataSourceId, agentId: o.point.agentId, createdAt: o.point.createdAt,
    uploadedAt: new Date(clock.now()), root: o.point.root, chunks: refs.count, refsKey: refsKey(id),
    files: o.point.files ?? 0, dirs: o.point.dirs ?? 0, bytes: o.point.bytes ?? 0,
    parentPointId: o.point.parentPointId ?? null, extra: o.point.extra ?? {},
  };
  await put(refsKey(id), vault.seal(ObjectType.Refs, refsKey(id), refs.payload));
  if (signal?.aborted) throw aborted();
  await put(pointKey(id), vault.seal(ObjectType.Point, pointKey(id), encodePoint(point)));
  report();
  return { chunks: refs.count, packsSynced, point };
}
