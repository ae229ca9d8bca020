/**
 * Reading a vault for restores with redundancy: a VaultReader over the main
 * vault (itself mirrored, so an unreachable or missing object on the primary
 * is already read from the secondary) and, when there is a secondary, a
 * second reader over the secondary alone for what the first cannot give:
 * an object that fails authentication or its hash on the primary
 * (VaultCorruptError) is read again from the secondary. Nothing damaged is
 * ever returned: both readers check every object.
 */
import { VaultCorruptError, VaultPointNotFoundError, VaultReader, type KnownChunks, type Vault, type VaultPoint } from '../vault/index.js';
import type { BatchReadOptions } from '../vault/reader.js';
import { worthFallback } from './vault-mirror.js';

export class FallbackReader {
  readonly main: VaultReader;
  readonly second: VaultReader | null;
  /** Reads the secondary served after the main reader failed (for logs and tests). */
  fallbacks = 0;

  constructor(vault: Vault, known: KnownChunks, secondary: Vault | null) {
    this.main = new VaultReader(vault, known);
    this.second = secondary ? new VaultReader(secondary, known) : null;
  }

  /** Whether a failure on the main reader is read again from the secondary. */
  private worthSecond(err: unknown): boolean {
    return err instanceof VaultCorruptError || err instanceof VaultPointNotFoundError || worthFallback(err);
  }

  private async both<T>(fn: (r: VaultReader) => Promise<T>): Promise<T> {
    try {
      return await fn(this.main);
    } catch (err) {
      if (!this.second || !this.worthSecond(err)) throw err;
      const r = await fn(this.second);
      this.fallbacks++;
      return r;
    }
  }

  /** Point ids on either target (a manifest lost on the primary is still listed), sorted. */
  async pointIds(signal?: AbortSignal): Promise<string[]> {
    if (!this.second) return this.main.pointIds(signal);
    const [a, b] = await Promise.allSettled([this.main.pointIds(signal), this.second.pointIds(signal)]);
    if (a.status === 'rejected' && b.status === 'rejected') throw a.reason;
    const ids = new Set([...(a.status === 'fulfilled' ? a.value : []), ...(b.status === 'fulfilled' ? b.value : [])]);
    return [...ids].sort();
  }

  getPoint(id: string, signal?: AbortSignal): Promise<VaultPoint> {
    return this.both((r) => r.getPoint(id, signal));
  }

  /** Every point, decrypted and checked; a damaged manifest on the primary is read from the secondary. */
  async listPoints(signal?: AbortSignal): Promise<VaultPoint[]> {
    const out: VaultPoint[] = [];
    for (const id of await this.pointIds(signal)) out.push(await this.getPoint(id, signal));
    return out;
  }

  pointRefs(id: string, signal?: AbortSignal): Promise<Buffer[]> {
    return this.both((r) => r.pointRefs(id, signal));
  }

  has(sha256: Buffer): boolean {
    return this.main.has(sha256);
  }

  /** The raw bytes of a chunk by its SHA-256 (one range GET; hash-checked). */
  readChunk(sha256: Buffer, signal?: AbortSignal): Promise<Buffer> {
    return this.both((r) => r.readChunk(sha256, signal));
  }

  /**
   * Many chunks in the order asked, blobs close together in a pack read with
   * one range GET (VaultReader.readChunksBatch), each hash-checked. The
   * chunks the main reader fails on as readChunk would fall back (damaged,
   * missing, unreachable) are read again from the secondary, batched too;
   * any other error, or one the secondary gives, is thrown (the first in
   * the order asked).
   */
  async readChunksBatch(hashes: readonly Buffer[], signal?: AbortSignal, o: BatchReadOptions = {}): Promise<Buffer[]> {
    const got = await this.main.readChunksSettled(hashes, signal, o);
    const again: number[] = [];
    for (let i = 0; i < got.length; i++) {
      const g = got[i]!;
      if (!(g instanceof Error)) continue;
      if (!this.second || !this.worthSecond(g)) throw g;
      again.push(i);
    }
    if (again.length > 0) {
      const second = await this.second!.readChunksBatch(again.map((i) => hashes[i]!), signal, o);
      again.forEach((i, k) => (got[i] = second[k]!));
      this.fallbacks += again.length;
    }
    return got as Buffer[];
  }
}
