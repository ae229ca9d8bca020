/**
 * Reading from the vault (docs/vault-format.md §5, §6, §8): list recovery
 * points (from `points/` only), read a point's record and refs, and read one
 * chunk by its plaintext SHA-256 with a single range GET of its blob —
 * decrypted, decompressed into exactly its size and hash-checked, so a
 * restore streams from the vault without downloading whole packs.
 */
import { checkPointId } from '../chunk-store/index.js';
import { isVaultError } from './backends/backend.js';
import { VaultChunkNotFoundError, VaultCorruptError, VaultPointNotFoundError } from './errors.js';
import { ObjectType } from './format.js';
import type { KnownChunks } from './known-chunks.js';
import { decodePoint, decodeRefs, pointKey, refsKey, type VaultPoint } from './manifest.js';
import { openBlob, packKey } from './pack-format.js';
import { withRetry } from './transfer.js';
import type { Vault } from './vault.js';

const SYNC_INTERVAL_MS = 30_000;

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
    const key = packKey(loc.packId);
    let blob: Buffer;
    try {
      blob = await withRetry(() => this.vault.backend.get(key, { offset: loc.offset, length: loc.length }),
        this.vault.retry, this.vault.clock, signal);
    } catch (err) {
      if (isVaultError(err, 'not-found')) throw new VaultCorruptError(this.vault.description, key, 'missing pack', sha256.toString('hex'));
      if (isVaultError(err, 'invalid')) throw new VaultCorruptError(this.vault.description, key, `pack shorter than its index says (${(err as Error).message})`, sha256.toString('hex'));
      throw err;
    }
    const raw = openBlob(this.vault.keys, loc.packId, { id, ...loc }, blob, sha256);
    if (typeof raw === 'string') throw new VaultCorruptError(this.vault.description, key, raw, sha256.toString('hex'));
    return raw;
  }
}
