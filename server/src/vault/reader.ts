/**
 * Reading from the vault (docs/vault-format.md §5, §6, §8): list recovery
 * points (from `points/` only), read a point's record and refs, and read one
 * chunk by its plaintext SHA-256 with a single range GET of its blob —
 * decrypted, decompressed into exactly its size and hash-checked, so a
 * restore streams from the vault without downloading whole packs; or many
 * chunks at once (readChunksBatch), blobs close together in one pack read
 * with one range GET and each still checked on its own.
 */
import { checkPointId } from '../chunk-store/index.js';
import { isVaultError } from './backends/backend.js';
import { VaultChunkNotFoundError, VaultCorruptError, VaultPointNotFoundError } from './errors.js';
import { ObjectType } from './format.js';
import type { KnownChunks } from './known-chunks.js';
import { decodePoint, decodeRefs, pointKey, refsKey, type VaultPoint } from './manifest.js';
import { openBlob, packKey } from './pack-format.js';
import { withRetry } from './transfer.js';
import type { KnownLocation } from './known-chunks.js';
import type { Vault } from './vault.js';

const SYNC_INTERVAL_MS = 30_000;

/** How readChunksBatch merges and runs its range GETs. */
export interface BatchReadOptions {
  /** Blobs of one pack at most this many bytes apart are read with one GET (the gap is downloaded and dropped). Default 256 KiB. */
  maxGap?: number;
  /** A merged range grows to at most this many bytes (a single larger blob is read alone). Default 8 MiB. */
  maxRange?: number;
  /** Range GETs in flight. Default 8 (what the per-chunk reads had: a batch whose blobs are far apart is no slower). */
  concurrency?: number;
}

export const BATCH_MAX_GAP = 256 << 10;
export const BATCH_MAX_RANGE = 8 << 20;
export const BATCH_CONCURRENCY = 8;
/** Blob bytes one batch may ask for (an agent's request is answered in one frame of at most 8 MiB). */
export const BATCH_MAX_BYTES = 64 << 20;

/** One merged range GET of a batch: the requested chunks (indices into the batch) whose blobs it covers. */
interface BatchRange {
  packId: string;
  offset: number;
  length: number;
  items: { i: number; loc: KnownLocation }[];
}

/**
 * Group located chunks by pack and merge blobs of one pack whose gap is at
 * most `maxGap` into ranges of at most `maxRange` bytes (a blob larger than
 * that is a range alone). A chunk asked for twice is read once per ask but
 * fetched once. Ranges come out in pack, then offset order.
 */
export function planBatch(locs: { i: number; loc: KnownLocation }[], maxGap: number, maxRange: number): BatchRange[] {
  const byPack = new Map<string, { i: number; loc: KnownLocation }[]>();
  for (const x of locs) {
    let a = byPack.get(x.loc.packId);
    if (!a) byPack.set(x.loc.packId, (a = []));
    a.push(x);
  }
  const out: BatchRange[] = [];
  for (const [packId, items] of [...byPack].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    items.sort((a, b) => a.loc.offset - b.loc.offset);
    let cur: BatchRange | undefined;
    for (const x of items) {
      const end = x.loc.offset + x.loc.length;
      if (cur) {
        const curEnd = cur.offset + cur.length;
        const newEnd = Math.max(curEnd, end);
        if (x.loc.offset - curEnd <= maxGap && newEnd - cur.offset <= maxRange) {
          cur.length = newEnd - cur.offset;
          cur.items.push(x);
          continue;
        }
      }
      cur = { packId, offset: x.loc.offset, length: x.loc.length, items: [x] };
      out.push(cur);
    }
  }
  return out;
}

export class VaultReader {
  private syncedAt: number | undefined;

  /** `known` locates chunks; after a disaster, fill it with known.rebuild(vault) first. */
  constructor(readonly vault: Vault, readonly known: KnownChunks) {
    if (known.vaultId !== vault.id) throw new Error(`known chunks of vault ${known.vaultId} given for vault ${vault.id}`);
  }

  /** Ids of the points in the vault, sorted (no decryption). */
  async pointIds(signal?: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    for (const o of await this.vault.list('points/', signal)) {
      signal?.throwIfAborted();
      const id = o.key.slice('points/'.length);
      if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(id)) ids.push(id);
    }
    return ids.sort();
  }

  /** Every point in the vault, decrypted and checked. A damaged manifest throws VaultCorruptError. */
  async *listPoints(signal?: AbortSignal): AsyncGenerator<VaultPoint> {
    for (const id of await this.pointIds(signal)) yield await this.getPoint(id, signal);
  }

  async getPoint(id: string, signal?: AbortSignal): Promise<VaultPoint> {
    checkPointId(id);
    const key = pointKey(id);
    let payload: Buffer;
    try {
      payload = await this.vault.readObject(ObjectType.Point, key, signal);
    } catch (err) {
      if (isVaultError(err, 'not-found')) throw new VaultPointNotFoundError(this.vault.description, id);
      throw err;
    }
    const p = decodePoint(payload, id);
    if (typeof p === 'string') throw new VaultCorruptError(this.vault.description, key, p);
    return p;
  }

  /** Sorted chunk ids (vault ids, not SHA-256) the point references. */
  async pointRefs(id: string, signal?: AbortSignal): Promise<Buffer[]> {
    checkPointId(id);
    const key = refsKey(id);
    let payload: Buffer;
    try {
      payload = await this.vault.readObject(ObjectType.Refs, key, signal);
    } catch (err) {
      if (isVaultError(err, 'not-found')) throw new VaultCorruptError(this.vault.description, key, 'missing refs object of a listed point');
      throw err;
    }
    const r = decodeRefs(payload);
    if (typeof r === 'string') throw new VaultCorruptError(this.vault.description, key, r);
    return r;
  }

  /**
   * Read many chunks with up to `concurrency` range GETs in flight, yielded in
   * the order asked (a restore's stream). Stops at the first error.
   */
  async *readChunks(hashes: Iterable<Buffer> | AsyncIterable<Buffer>, o: { concurrency?: number; signal?: AbortSignal } = {}):
    AsyncGenerator<{ hash: Buffer; data: Buffer }> {
    const n = Math.max(1, o.concurrency ?? 8);
    const window: Promise<{ hash: Buffer; data: Buffer }>[] = [];
    const start = (hash: Buffer) => {
      const p = this.readChunk(hash, o.signal).then((data) => ({ hash, data }));
      p.catch(() => undefined); // awaited in order below; never an unhandled rejection if the caller stops early
      window.push(p);
    };
    for await (const h of hashes as AsyncIterable<Buffer>) {
      start(h);
      if (window.length >= n) yield await window.shift()!;
    }
    while (window.length > 0) yield await window.shift()!;
  }

  /** True if an indexed pack holds the chunk. */
  has(sha256: Buffer): boolean {
    return this.known.has(this.vault.chunkId(sha256));
  }

  /**
   * The raw bytes of the chunk whose SHA-256 is `sha256`. One range GET;
   * VaultChunkNotFoundError if no index names it (after one sync with the
   * vault), VaultCorruptError if the blob does not authenticate or hash.
   */
  async readChunk(sha256: Buffer, signal?: AbortSignal): Promise<Buffer> {
    const id = this.vault.chunkId(sha256);
    const loc = await this.locate(sha256, id, signal);
    const key = packKey(loc.packId);
    const blob = await this.getRange(key, loc.offset, loc.length, sha256, signal);
    return this.open(key, id, loc, blob, sha256);
  }

  /**
   * The raw bytes of many chunks, in the order asked; the first error (in
   * that order) is thrown — the same error readChunk throws for that chunk.
   * See readChunksSettled for how the GETs are made.
   */
  async readChunksBatch(hashes: readonly Buffer[], signal?: AbortSignal, o: BatchReadOptions = {}): Promise<Buffer[]> {
    const got = await this.readChunksSettled(hashes, signal, o);
    for (const g of got) if (g instanceof Error) throw g;
    return got as Buffer[];
  }

  /**
   * Many chunks at once, each result the chunk's raw bytes or the error
   * readChunk would throw for it (VaultChunkNotFoundError, VaultCorruptError,
   * or the backend's error after retries), in the order asked. The chunks are
   * located in the index, grouped by pack, and blobs close together are
   * fetched with one range GET each (planBatch), `concurrency` GETs at a
   * time; every blob is then decrypted and SHA-256-checked on its own, so
   * nothing unverified is returned and a damaged blob fails only its chunk.
   * A range the pack is too short for is read again chunk by chunk, so only
   * the chunks really cut off fail. Memory: the results (at most
   * BATCH_MAX_BYTES of blobs asked for, else RangeError before any GET),
   * plus at most `concurrency` ranges of `maxRange` bytes (or one blob) in
   * flight.
   * An aborted `signal` rejects the call itself.
   */
  async readChunksSettled(hashes: readonly Buffer[], signal?: AbortSignal, o: BatchReadOptions = {}): Promise<(Buffer | Error)[]> {
    const maxGap = Math.max(0, o.maxGap ?? BATCH_MAX_GAP);
    const maxRange = Math.max(1, o.maxRange ?? BATCH_MAX_RANGE);
    const concurrency = Math.max(1, o.concurrency ?? BATCH_CONCURRENCY);
    const out: (Buffer | Error)[] = new Array(hashes.length);
    const located: { i: number; loc: KnownLocation }[] = [];
    for (let i = 0; i < hashes.length; i++) {
      signal?.throwIfAborted();
      try {
        located.push({ i, loc: await this.locate(hashes[i]!, this.vault.chunkId(hashes[i]!), signal) });
      } catch (err) {
        signal?.throwIfAborted();
        out[i] = err as Error;
      }
    }
    const asked = located.reduce((n, x) => n + x.loc.length, 0);
    if (asked > BATCH_MAX_BYTES) {
      throw new RangeError(`a batch read of ${located.length} chunks (${asked} bytes) exceeds ${BATCH_MAX_BYTES} bytes: ask for fewer chunks at once`);
    }
    const ranges = planBatch(located, maxGap, maxRange);
    let next = 0;
    const worker = async () => {
      for (let r = next++; r < ranges.length; r = next++) {
        signal?.throwIfAborted();
        await this.readRange(ranges[r]!, hashes, out, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ranges.length) }, worker));
    return out;
  }

  /** One merged range: fetch it, then open each blob in it into `out`. */
  private async readRange(range: BatchRange, hashes: readonly Buffer[], out: (Buffer | Error)[], signal?: AbortSignal): Promise<void> {
    const key = packKey(range.packId);
    let data: Buffer;
    try {
      data = await withRetry(() => this.vault.backend.get(key, { offset: range.offset, length: range.length }),
        this.vault.retry, this.vault.clock, signal);
    } catch (err) {
      signal?.throwIfAborted();
      if (isVaultError(err, 'invalid') && range.items.length > 1) {
        // The pack ends inside the range: each chunk alone says whether its own blob is whole.
        for (const { i } of range.items) out[i] = await this.readChunk(hashes[i]!, signal).catch((e: unknown) => e as Error);
        return;
      }
      for (const { i } of range.items) out[i] = this.rangeError(err, key, hashes[i]!);
      return;
    }
    if (data.length !== range.length) {
      // The backend contract forbids a short read; never open a blob from one.
      for (const { i } of range.items) out[i] = new VaultCorruptError(this.vault.description, key, `short read of a pack range (${data.length} of ${range.length} bytes)`, hashes[i]!.toString('hex'));
      return;
    }
    for (const { i, loc } of range.items) {
      const sha256 = hashes[i]!;
      const blob = data.subarray(loc.offset - range.offset, loc.offset - range.offset + loc.length);
      try {
        out[i] = this.open(key, this.vault.chunkId(sha256), loc, blob, sha256);
      } catch (err) {
        out[i] = err as Error;
      }
    }
  }

  /** Where the chunk is; after one sync with the vault (at most every SYNC_INTERVAL_MS) VaultChunkNotFoundError. */
  private async locate(sha256: Buffer, id: Buffer, signal?: AbortSignal): Promise<KnownLocation> {
    let loc = this.known.get(id);
    if (!loc) {
      // Another server process may have added packs since we loaded the log: look once more,
      // but list `index/` at most every SYNC_INTERVAL_MS however many chunks a restore misses.
      const now = this.vault.clock.now();
      if (this.syncedAt === undefined || now - this.syncedAt >= SYNC_INTERVAL_MS) {
        this.syncedAt = now;
        await this.known.sync(this.vault, signal);
      }
      loc = this.known.get(id);
      if (!loc) throw new VaultChunkNotFoundError(this.vault.description, sha256.toString('hex'));
    }
    return loc;
  }

  private async getRange(key: string, offset: number, length: number, sha256: Buffer, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await withRetry(() => this.vault.backend.get(key, { offset, length }), this.vault.retry, this.vault.clock, signal);
    } catch (err) {
      throw this.rangeError(err, key, sha256);
    }
  }

  /** A failed pack GET as readChunk reports it for `sha256`: a missing or short pack is damage, not absent data. */
  private rangeError(err: unknown, key: string, sha256: Buffer): Error {
    if (isVaultError(err, 'not-found')) return new VaultCorruptError(this.vault.description, key, 'missing pack', sha256.toString('hex'));
    if (isVaultError(err, 'invalid')) return new VaultCorruptError(this.vault.description, key, `pack shorter than its index says (${(err as Error).message})`, sha256.toString('hex'));
    return err as Error;
  }

  /** Decrypt and hash-check one blob; VaultCorruptError if it does not authenticate or hash. */
  private open(key: string, id: Buffer, loc: KnownLocation, blob: Buffer, sha256: Buffer): Buffer {
    const raw = openBlob(this.vault.keys, loc.packId, { id, ...loc }, blob, sha256);
    if (typeof raw === 'string') throw new VaultCorruptError(this.vault.description, key, raw, sha256.toString('hex'));
    return raw;
  }
}
