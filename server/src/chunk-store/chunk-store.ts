/**
 * ChunkStore: the content-addressed, deduplicating chunk store of one server.
 * Wires pack writing, the index, pack reading, ref lists, gc and verify
 * together and owns the locks (docs/storage-format.md §Locks):
 *  - putLock serializes put() (dedup check + append are atomic);
 *  - maintLock serializes index compaction, gc and rebuild.
 * Reads (has, getStored, getRaw, markInUse) take no lock.
 */
import * as path from 'node:path';
import { ChunkIndex } from './chunk-index.js';
import { ChunkReader, type ReadCheck } from './chunk-reader.js';
import { checkChunkShape, decodeChunk, hex } from './codec.js';
import { hashKey } from './entry.js';
import { ChunkHashMismatchError, ChunkInvalidError, errnoCode, GcRunningError, StoreClosedError } from './errors.js';
import { HASH_SIZE, MAX_PACK_TARGET } from './format.js';
import { type GcState, listPackFiles, runGc } from './gc.js';
import { Layout } from './layout.js';
import { acquire, Mutex } from './mutex.js';
import { writeFully } from './pack-io.js';
import { PackFiles, scanPack } from './pack-reader.js';
import { PackWriter } from './pack-writer.js';
import { type PendingIndex, writePendingIndex } from './pending-index.js';
import { rebuildFromPacks, type RebuildResult } from './rebuild.js';
import { RefLists } from './ref-list.js';
import { claimStoreDir } from './store-dir.js';
import type {
  ChunkIn, ChunkLocation, ChunkStoreOptions, ChunkStoreStats, GcOptions, GcResult, VerifyProgress, VerifyResult,
} from './types.js';
import { verifyChunks } from './verify.js';

export type { RebuildResult } from './rebuild.js';

/** What putMany() did: chunks newly stored and their stored (as sent) bytes; the rest were already there. */
export interface PutManyResult { stored: number; storedBytes: number }

type Opts = Required<Omit<ChunkStoreOptions, 'packWrite'>> & Pick<ChunkStoreOptions, 'packWrite'>;

const DEFAULTS: Omit<Opts, 'packWrite'> = {
  packTargetSize: 32 << 20,
  indexMergeThreshold: 1 << 16,
  indexBloomBytes: 64 << 20,
  maxIndexRuns: 8,
  writeBufferSize: 4 << 20,
  maxOpenPacks: 64,
  fanoutCacheBytes: 1 << 20,
  gcRewriteBelow: 0.5,
};

/** A garbage collection that has begun (pinning is on) and waits to be run. */
export interface GcRun {
  readonly startPackId: number;
  run(opts: GcOptions): Promise<GcResult>;
  /** Give up without sweeping. */
  abort(): void;
}

export class ChunkStore {
  readonly refs: RefLists;
  private readonly layout: Layout;
  private index!: ChunkIndex;
  private readonly packFiles: PackFiles;
  private readonly reader: ChunkReader;
  private writer!: PackWriter;
  private gcWriter: PackWriter | undefined;
  private readonly putLock = new Mutex();
  private readonly maintLock = new Mutex();
  private gcState: GcState | undefined;
  private fatal: Error | undefined;
  private closing = false;
  private compactQueued = false;
  private unlock: () => Promise<void> = async () => undefined;
  private abortPendingGc: (() => void) | undefined;
  /** Last error of a background index compaction (retried at the next trigger). */
  lastMaintenanceError: Error | undefined;

  private constructor(readonly dir: string, private readonly opts: Opts) {
    this.layout = new Layout(dir);
    this.refs = new RefLists(this.layout, opts.fanoutCacheBytes);
    this.packFiles = new PackFiles(this.layout, opts.maxOpenPacks);
    this.reader = new ChunkReader(this.layout, () => this.index, this.packFiles, () => [this.writer, this.gcWriter]);
  }

  static async open(dir: string, options: ChunkStoreOptions = {}): Promise<ChunkStore> {
    const opts: Opts = { ...DEFAULTS, ...options };
    if (!(opts.packTargetSize >= 1 << 10 && opts.packTargetSize <= MAX_PACK_TARGET)) {
      throw new RangeError(`packTargetSize must be between 1 KiB and ${MAX_PACK_TARGET} bytes`);
    }
    const s = new ChunkStore(path.resolve(dir), opts);
    const L = s.layout;
    const { unlock, lostIndex } = await claimStoreDir(L);
    s.unlock = unlock;
    try {
      s.index = await ChunkIndex.open(L, {
        mergeThreshold: opts.indexMergeThreshold,
        bloomBytes: opts.indexBloomBytes,
        maxRuns: opts.maxIndexRuns,
        fanoutCacheBytes: opts.fanoutCacheBytes,
        recoverPending: (packId) => s.recoverPending(packId),
      });
      for (const id of await listPackFiles(L)) s.index.notePackId(id);
      s.writer = s.makeWriter();
      if (lostIndex) await s.rebuildIndex();
      return s;
    } catch (err) {
      s.index?.close();
      await s.unlock();
      throw err;
    }
  }

  /** Open, rebuild the index from the packs alone, close. */
  static async rebuildIndex(dir: string, options: ChunkStoreOptions = {}): Promise<RebuildResult> {
    const s = await ChunkStore.open(dir, options);
    try {
      return await s.rebuildIndex();
    } finally {
      await s.close();
    }
  }

  private makeWriter(): PackWriter {
    return new PackWriter({
      layout: this.layout,
      allocPackId: () => this.index.allocPackId(),
      write: this.opts.packWrite ?? writeFully,
      bufferSize: this.opts.writeBufferSize,
      targetSize: this.opts.packTargetSize,
      onAppend: (e) => this.index.add(e),
      onSealed: (id, n, bytes) => {
        this.index.sealed(id, n, bytes);
        this.maybeCompact();
      },
      onFatal: (err) => { this.fatal ??= err; },
    });
  }

  /** A pending index file is damaged: rebuild it from its pack (nothing if the pack is gone). */
  private async recoverPending(packId: number): Promise<PendingIndex> {
    const scan = await scanPack(this.layout, packId).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return { entries: [], validBytes: 0 };
      throw err;
    });
    if (scan.entries.length === 0) return { packId, coveredBytes: 0, entries: [] };
    const p = { packId, coveredBytes: scan.validBytes, entries: scan.entries };
    await writePendingIndex(this.layout.pendingFile(packId), p);
    return p;
  }

  private checkUsable(): void {
    if (this.closing) throw new StoreClosedError(this.dir);
    if (this.fatal) throw this.fatal;
  }

  private pin(hash: Buffer, packId: number): void {
    const g = this.gcState;
    if (g && packId < g.startPackId) g.pins.add(hash.toString('latin1'));
  }

  // ---- chunks ---------------------------------------------------------------

  async has(hash: Buffer): Promise<boolean> {
    this.checkUsable();
    return hash.length === HASH_SIZE && this.index.lookup(hash) !== undefined;
  }

  /** Where a chunk sits in the store (pack id, offset), or undefined: lets a reader order its reads. */
  locate(hash: Buffer): ChunkLocation | undefined {
    this.checkUsable();
    return hash.length === HASH_SIZE ? this.index.lookup(hash) : undefined;
  }

  /**
   * Store a chunk after verifying it (decompress, size, SHA-256). Dedup hits
   * store nothing. Not durable until flush(). Calls are serialized.
   */
  put(c: ChunkIn): Promise<{ stored: boolean; storedBytes: number }> {
    return this.putMany([c]).then((r) => ({ stored: r.stored > 0, storedBytes: r.storedBytes }));
  }

  /**
   * Store a batch of chunks (an agent's ChunkBatch) under one hold of the put
   * lock: the same checks as put() for every chunk, all or nothing on bad
   * input. Every chunk's shape is checked, then every chunk the store lacks is
   * verified (decompress, size, SHA-256), and only when all passed are they
   * appended, in order; a bad chunk rejects the batch (ChunkInvalidError or
   * ChunkHashMismatchError naming it) with nothing of it stored. A hash that
   * appears twice is stored once. Not durable until flush(). One lock hold
   * and no promise per chunk: per-chunk put() calls cost a lock turn and
   * several promises each (~65,000 chunks per GiB).
   */
  putMany(cs: readonly ChunkIn[]): Promise<PutManyResult> {
    if (this.closing || this.fatal) return Promise.reject(this.fatal ?? new StoreClosedError(this.dir));
    for (const c of cs) {
      const bad = checkChunkShape(c.hash, c.compression, c.rawSize, c.data);
      if (bad) return Promise.reject(new ChunkInvalidError(Buffer.isBuffer(c.hash) ? hex(c.hash) : '?', bad));
    }
    return this.putLock.run(async () => {
      this.checkUsable();
      // Pass 1: dedup check (a hit pins at once, as put() does) and verification of the rest.
      // A hash the batch holds twice is verified and stored once (`seen`). Nothing but this
      // batch can store a chunk while the lock is held, so pass 2 needs no second lookup.
      const missing: ChunkIn[] = [];
      const seen = new Set<string>();
      for (const c of cs) {
        const key = hashKey(c.hash);
        const loc = this.index.lookupKeyed(key, c.hash);
        if (loc) {
          this.pin(c.hash, loc.packId);
          continue;
        }
        if (seen.has(key)) continue;
        const raw = decodeChunk(c.hash, c.compression, c.rawSize, c.data, true);
        if (typeof raw === 'string') throw new ChunkHashMismatchError(hex(c.hash), raw);
        seen.add(key);
        missing.push(c);
      }
      // Pass 2: append, in order.
      let stored = 0;
      let storedBytes = 0;
      for (const c of missing) {
        const e = this.writer.tryAppend(c.hash, c.compression, c.rawSize, c.data)
          ?? await this.writer.append(c.hash, c.compression, c.rawSize, c.data);
        this.pin(c.hash, e.packId);
        stored++;
        storedBytes += c.data.length;
      }
      return { stored, storedBytes };
    });
  }

  /** Make every chunk put() so far durable. Only then may a recovery point be acknowledged. */
  async flush(): Promise<void> {
    this.checkUsable();
    await this.writer.flush();
    if (this.fatal) throw this.fatal;
  }

  /**
   * The server is about to tell an agent it already has `hash`. Returns false
   * if the chunk is not stored; true means it is stored and a running gc will
   * keep it. Synchronous check-and-pin.
   */
  markInUse(hash: Buffer): boolean {
    this.checkUsable();
    const loc = hash.length === HASH_SIZE ? this.index.lookup(hash) : undefined;
    if (!loc) return false;
    this.pin(hash, loc.packId);
    return true;
  }

  /** The stored form, verified against the hash. */
  async getStored(hash: Buffer): Promise<ChunkIn> {
    this.checkUsable();
    const r = await this.reader.read(hash, true);
    return { hash: Buffer.from(hash), compression: r.compression, rawSize: r.rawSize, data: r.data };
  }

  /**
   * The stored forms of many chunks (in order); close records are read together.
   * Each is verified against its hash, unless `check` is 'record': then only
   * its record is checked (crc, the hash it names, lengths) and the caller's
   * receiver MUST verify every chunk's SHA-256 (the restore's agent does).
   */
  async getStoredMany(hashes: Buffer[], check: ReadCheck = 'full'): Promise<ChunkIn[]> {
    this.checkUsable();
    const rs = await this.reader.readStoredMany(hashes, check);
    return rs.map((r, i) => ({ hash: Buffer.from(hashes[i]!), compression: r.compression, rawSize: r.rawSize, data: r.data }));
  }

  /** The raw (uncompressed) bytes, verified against the hash. */
  async getRaw(hash: Buffer): Promise<Buffer> {
    this.checkUsable();
    return (await this.reader.read(hash)).raw;
  }

  async stats(): Promise<ChunkStoreStats> {
    this.checkUsable();
    const s = this.index.stats();
    return { chunks: s.chunks, packs: s.packs, bytesOnDisk: s.packBytes + s.indexBytes };
  }

  // ---- index maintenance ----------------------------------------------------

  private maybeCompact(): void {
    if (this.compactQueued || this.closing || !this.index.needsCompaction()) return;
    this.compactQueued = true;
    this.maintLock.run(async () => {
      this.compactQueued = false;
      if (!this.closing && this.index.needsCompaction()) await this.index.compact();
    }).then(() => { this.lastMaintenanceError = undefined; }, (err: Error) => { this.lastMaintenanceError = err; });
  }

  /** Merge the index delta into sorted runs now (all runs into one when `full`). */
  async compactIndex(full = false): Promise<void> {
    this.checkUsable();
    await this.maintLock.run(() => this.index.compact(full));
  }

  /**
   * Rebuild the whole index from the packs alone (records are
   * self-describing; torn tails are skipped). Blocks puts while it runs.
   */
  async rebuildIndex(): Promise<RebuildResult> {
    this.checkUsable();
    const release = await acquire(this.maintLock);
    try {
      return await this.putLock.run(async () => {
        this.writer.seal();
        await this.writer.flush();
        return rebuildFromPacks(this.layout, this.index);
      });
    } finally {
      release();
    }
  }

  // ---- garbage collection and verification ----------------------------------

  /**
   * Begin a gc: pinning starts synchronously at this call (chunks put, found
   * by put() or marked in use from now on survive the gc); then the open
   * pack is sealed and flushed. The caller should compute livePointIds after
   * every backup that began before this call has finished, then call run().
   */
  async beginGc(): Promise<GcRun> {
    this.checkUsable();
    if (this.gcState) throw new GcRunningError(this.dir, 'start a second gc');
    // Pinning starts now, synchronously: until the open pack is sealed every touched hash is pinned.
    const state: GcState = { startPackId: Infinity, pins: new Set() };
    this.gcState = state;
    let release: (() => void) | undefined;
    let released = false;
    const end = (): void => {
      if (released) return;
      released = true;
      if (this.gcState === state) this.gcState = undefined;
      release?.();
    };
    try {
      release = await acquire(this.maintLock);
      this.checkUsable();
      await this.putLock.run(() => {
        state.startPackId = this.index.nextPackId;
        this.writer.seal();
      });
      await this.writer.flush();
    } catch (err) {
      end();
      throw err;
    }
    this.abortPendingGc = end;
    return {
      startPackId: state.startPackId,
      abort: end,
      run: async (o: GcOptions): Promise<GcResult> => {
        if (released) throw new GcRunningError(this.dir, 'run a gc that has ended');
        this.abortPendingGc = undefined;
        try {
          return await this.runGc(state, o);
        } finally {
          end();
        }
      },
    };
  }

  /** Mark & sweep: keep chunks referenced by `livePointIds` (and anything put or pinned meanwhile). */
  async gc(o: GcOptions): Promise<GcResult> {
    return (await this.beginGc()).run(o);
  }

  private async runGc(state: GcState, o: GcOptions): Promise<GcResult> {
    const writer = (this.gcWriter = this.makeWriter());
    try {
      const result = await runGc({
        layout: this.layout,
        index: this.index,
        refs: this.refs,
        state,
        rewriteBelow: o.rewriteBelow ?? this.opts.gcRewriteBelow,
        writer,
        readRecord: async (hash, loc) => {
          try {
            return await this.reader.inspect(hash, loc);
          } catch (err) {
            return `unreadable: ${(err as Error).message}`;
          }
        },
        evictPack: (id) => this.packFiles.evict(id),
        isClosing: () => this.closing,
      }, o.livePointIds);
      if (this.gcState === state) this.gcState = undefined;
      await this.index.compact(true);
      return result;
    } catch (err) {
      try {
        writer.seal();
        await writer.flush();
      } catch {
        await this.index.removePacks(writer.openPackIds()).catch(() => undefined);
      }
      throw err;
    } finally {
      await writer.close();
      this.gcWriter = undefined;
    }
  }

  /**
   * Re-read and re-hash chunks: the given ones, or every indexed chunk.
   * Never throws for damage; reports it.
   */
  async verify(hashes?: AsyncIterable<Buffer> | Iterable<Buffer>, onProgress?: VerifyProgress): Promise<VerifyResult> {
    this.checkUsable();
    const host = {
      layout: this.layout,
      lookup: (h: Buffer) => (h.length === HASH_SIZE ? this.index.lookup(h) : undefined),
      check: (hash: Buffer, loc: ChunkLocation) => this.reader.check(hash, loc),
      scanAll: async (fn: (buf: Buffer, at: number) => void | Promise<void>) => { await this.index.scan(fn); },
    };
    return verifyChunks(host, hashes, onProgress);
  }

  /** Close without flushing: chunks not flushed are dropped, as after a crash. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.abortPendingGc?.();
    await this.putLock.run(() => undefined);
    await this.maintLock.run(() => undefined);
    await this.writer?.close();
    this.index?.close();
    await this.packFiles.close();
    await this.unlock();
  }
}
