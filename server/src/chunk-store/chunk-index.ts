/**
 * The chunk index: hash → (pack, offset, length, rawSize).
 *
 * Two tiers (docs/storage-format.md §Index):
 *  - delta: entries of packs not yet merged, in memory (a Map) and on disk
 *    as one pending index file per pack (written at flush);
 *  - runs: immutable sorted table files, newest last, looked up through
 *    their fanout with one small positioned read per run.
 * When the sealed part of the delta reaches `mergeThreshold` entries it is
 * written as a new run; runs of similar size are then merged (size-tiered),
 * so each entry is rewritten O(log n) times and there are O(log n) runs.
 * Memory: the delta (bounded by the threshold plus open packs) and the
 * fanout caches — never the whole index.
 *
 * Callers serialize compact(), removePacks() and scan() (the store's
 * maintenance lock); lookup(), add() and sealed() may run at any time.
 */
import { promises as fsp } from 'node:fs';
import { isTempName } from '../util/durable.js';
import { Bloom } from './bloom.js';
import { encodeEntries, hashKey, packIdAt, readLocation } from './entry.js';
import { errnoCode, StoreFormatError } from './errors.js';
import { INDEX_ENTRY_SIZE, INDEX_RUN_MAGIC } from './format.js';
import { Layout, PIDX_RE, RUN_RE } from './layout.js';
import { emptyManifest, type Manifest, type PackInfo, readManifest, writeManifest } from './manifest.js';
import { bufferSource, MergeCursor } from './merge.js';
import { type PendingIndex, readPendingIndex } from './pending-index.js';
import { sortRecords } from './sort.js';
import { TableReader, TableWriter } from './table.js';
import type { ChunkLocation, IndexEntry } from './types.js';

export interface IndexOptions {
  mergeThreshold: number;
  /** Memory for the runs' bloom filters; runs whose filter does not fit are looked up on disk. */
  bloomBytes: number;
  maxRuns: number;
  fanoutCacheBytes: number;
  /** Called for a pending index file that cannot be read; returns the pack's entries (by scanning it). */
  recoverPending(packId: number, err: Error): Promise<PendingIndex>;
}

interface PendingPack { entries: IndexEntry[]; sealed: boolean; bytes: number }
interface Run { id: number; reader: TableReader; bloom?: Bloom }

export class ChunkIndex {
  private runs: Run[] = [];
  private readonly byHash = new Map<string, IndexEntry>();
  private readonly pending = new Map<number, PendingPack>();
  private sealedEntries = 0;
  private bloomBytes = 0;

  private constructor(private readonly layout: Layout, private readonly opts: IndexOptions, private m: Manifest) {}

  static async open(layout: Layout, opts: IndexOptions): Promise<ChunkIndex> {
    await fsp.mkdir(layout.pendingDir, { recursive: true });
    const m = (await readManifest(layout.dir, layout.manifestFile)) ?? emptyManifest();
    const ix = new ChunkIndex(layout, opts, m);
    try {
      for (const r of m.runs) {
        ix.runs.push({ id: r.id, reader: TableReader.open(layout.dir, layout.runFile(r.id), INDEX_RUN_MAGIC, INDEX_ENTRY_SIZE, opts.fanoutCacheBytes) });
      }
      for (const r of [...ix.runs].sort((a, b) => a.reader.count - b.reader.count)) {
        if (ix.bloomBytes + Bloom.bytesFor(r.reader.count) > opts.bloomBytes) break;
        r.bloom = await Bloom.load(layout.bloomFile(r.id));
        if (r.bloom) ix.bloomBytes += r.bloom.bits.length;
      }
      const live = new Set(m.runs.map((r) => r.id));
      for (const name of await fsp.readdir(layout.indexDir)) {
        const run = RUN_RE.exec(name);
        if ((run && !live.has(parseInt(run[1]!, 16))) || isTempName(name)) await fsp.rm(`${layout.indexDir}/${name}`, { force: true });
      }
      for (const name of (await fsp.readdir(layout.pendingDir)).sort()) {
        const mm = PIDX_RE.exec(name);
        const file = `${layout.pendingDir}/${name}`;
        if (!mm) {
          if (isTempName(name)) await fsp.rm(file, { force: true });
          continue;
        }
        const packId = parseInt(mm[1]!, 16);
        if (m.tombstones.has(packId) || m.packs.has(packId)) {
          await fsp.rm(file, { force: true });
          continue;
        }
        let p: PendingIndex;
        try {
          p = await readPendingIndex(layout.dir, file);
        } catch (err) {
          if (!(err instanceof StoreFormatError)) throw err;
          p = await opts.recoverPending(packId, err);
        }
        if (p.entries.length === 0) {
          await fsp.rm(file, { force: true });
          continue;
        }
        ix.pending.set(packId, { entries: p.entries, sealed: true, bytes: p.coveredBytes });
        ix.sealedEntries += p.entries.length;
        for (const e of p.entries) ix.byHash.set(hashKey(e.hash), e);
        m.nextPackId = Math.max(m.nextPackId, packId + 1);
      }
    } catch (err) {
      ix.close();
      throw err;
    }
    return ix;
  }

  /** Reserve a new pack id (ids are never reused). */
  allocPackId(): number {
    return this.m.nextPackId++;
  }
  /** Raise the id high-water mark (packs found on disk at open). */
  notePackId(id: number): void {
    this.m.nextPackId = Math.max(this.m.nextPackId, id + 1);
  }
  get nextPackId(): number {
    return this.m.nextPackId;
  }

  isTombstoned(packId: number): boolean {
    return this.m.tombstones.has(packId);
  }

  /** Where `hash` is stored, or undefined. Synchronous (delta map, then runs newest first). */
  lookup(hash: Buffer): ChunkLocation | undefined {
    return this.lookupKeyed(hashKey(hash), hash);
  }

  /** lookup() for a caller that already made the hash's map key (hashKey(hash)). */
  lookupKeyed(key: string, hash: Buffer): ChunkLocation | undefined {
    const d = this.byHash.get(key);
    if (d && !this.m.tombstones.has(d.packId)) return d;
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const run = this.runs[i]!;
      if (run.bloom && !run.bloom.mayHave(hash)) continue;
      const rec = run.reader.find(hash);
      if (rec) {
        const loc = readLocation(rec, 0);
        if (!this.m.tombstones.has(loc.packId)) return loc;
      }
    }
    return undefined;
  }

  /** A record was appended to an open pack (newest location wins). */
  add(e: IndexEntry): void {
    let p = this.pending.get(e.packId);
    if (!p) this.pending.set(e.packId, (p = { entries: [], sealed: false, bytes: 0 }));
    p.entries.push(e);
    p.bytes = e.offset + e.length;
    this.byHash.set(hashKey(e.hash), e);
  }

  /** Pack `packId` is closed and its pending index file is final. */
  sealed(packId: number, entries: number, bytes: number): void {
    const p = this.pending.get(packId);
    if (!p || p.sealed) return;
    p.sealed = true;
    p.bytes = bytes;
    if (p.entries.length !== entries) p.entries.length = entries;
    this.sealedEntries += p.entries.length;
  }

  needsCompaction(): boolean {
    return this.sealedEntries >= this.opts.mergeThreshold;
  }

  /** Pack ids known to the index (merged and pending) with their sizes; tombstoned packs excluded. */
  packs(): Map<number, PackInfo> {
    const out = new Map(this.m.packs);
    for (const [id, p] of this.pending) if (!this.m.tombstones.has(id)) out.set(id, { chunks: p.entries.length, bytes: p.bytes });
    return out;
  }

  stats(): { chunks: number; packs: number; indexBytes: number; packBytes: number } {
    let chunks = 0;
    let packBytes = 0;
    const packs = this.packs();
    for (const p of packs.values()) {
      chunks += p.chunks;
      packBytes += p.bytes;
    }
    const indexBytes = this.runs.reduce((s, r) => s + r.reader.bytes, 0);
    return { chunks, packs: packs.size, indexBytes, packBytes };
  }

  /**
   * Write the sealed part of the delta as a new run, then merge runs
   * (size-tiered; all of them when `full`). Order: new run files durable →
   * in-memory switch → manifest durable → old runs and pending files deleted.
   */
  async compact(full = false): Promise<void> {
    const sealed = [...this.pending].filter(([, p]) => p.sealed).sort((a, b) => a[0] - b[0]);
    if (sealed.length === 0 && !(full && (this.runs.length > 1 || this.m.tombstones.size > 0))) return;
    const created: Run[] = [];
    try {
      let runs = [...this.runs];
      if (sealed.length > 0) {
        const all = sortRecords(encodeEntries(sealed.flatMap(([, p]) => p.entries)), INDEX_ENTRY_SIZE);
        const run = await this.writeRun([bufferSource(all)], all.length / INDEX_ENTRY_SIZE);
        created.push(run);
        runs.push(run);
      }
      const mergeLast = async (k: number): Promise<void> => {
        const parts = runs.slice(runs.length - k);
        const merged = await this.writeRun(parts.map((r) => r.reader.batches(this.layout.dir)), parts.reduce((s, r) => s + r.reader.count, 0));
        created.push(merged);
        runs = [...runs.slice(0, runs.length - k), merged];
      };
      if (full) {
        // one run without tombstoned entries (a lone run just written is already clean)
        if (runs.length > 1 || (runs.length === 1 && !created.includes(runs[0]!) && this.m.tombstones.size > 0)) await mergeLast(runs.length);
      } else {
        while (runs.length >= 2) {
          const n = runs.length;
          if (!(runs[n - 1]!.reader.count * 2 >= runs[n - 2]!.reader.count || n > this.opts.maxRuns)) break;
          await mergeLast(2);
        }
      }
      const old = this.runs.filter((r) => !runs.includes(r));
      const clearTombstones = full && this.pendingTombstoned() === 0;
      // in-memory switch (synchronous)
      this.runs = runs;
      for (const [id, p] of sealed) {
        for (const e of p.entries) {
          const k = hashKey(e.hash);
          if (this.byHash.get(k) === e) this.byHash.delete(k);
        }
        this.pending.delete(id);
        this.sealedEntries -= p.entries.length;
        this.m.packs.set(id, { chunks: p.entries.length, bytes: p.bytes });
      }
      if (clearTombstones) this.m.tombstones.clear();
      this.m.runs = runs.map((r) => ({ id: r.id, count: r.reader.count }));
      await writeManifest(this.layout.manifestFile, this.m);
      for (const r of old) await this.dropRun(r);
      for (const r of created) if (!runs.includes(r)) await this.dropRun(r);
      for (const [id] of sealed) await fsp.rm(this.layout.pendingFile(id), { force: true });
    } catch (err) {
      for (const r of created) if (!this.runs.includes(r)) await this.dropRun(r).catch(() => undefined);
      throw err;
    }
  }

  private async dropRun(r: Run): Promise<void> {
    r.reader.close();
    if (r.bloom) this.bloomBytes -= r.bloom.bits.length;
    r.bloom = undefined;
    await fsp.rm(this.layout.runFile(r.id), { force: true });
    await fsp.rm(this.layout.bloomFile(r.id), { force: true });
  }

  private pendingTombstoned(): number {
    let n = 0;
    for (const id of this.pending.keys()) if (this.m.tombstones.has(id)) n++;
    return n;
  }

  /** Merge sorted sources into a new run file, keeping the newest of equal keys and dropping tombstoned entries. */
  private async writeRun(sources: Array<AsyncIterable<Buffer>>, expected: number): Promise<Run> {
    const id = this.m.nextRunId++;
    const file = this.layout.runFile(id);
    const w = await TableWriter.create(file, INDEX_RUN_MAGIC, INDEX_ENTRY_SIZE, expected);
    const bloom = Bloom.forCount(expected);
    try {
      await this.mergeEntries(sources, (buf, at) => {
        bloom.add(buf, at);
        return w.add(buf, at);
      });
      await w.finish();
      await bloom.save(this.layout.bloomFile(id), w.written);
    } catch (err) {
      await w.abort();
      await fsp.rm(file, { force: true });
      throw err;
    }
    const run: Run = { id, reader: TableReader.open(this.layout.dir, file, INDEX_RUN_MAGIC, INDEX_ENTRY_SIZE, this.opts.fanoutCacheBytes) };
    if (this.bloomBytes + bloom.bits.length <= this.opts.bloomBytes) {
      run.bloom = bloom;
      this.bloomBytes += bloom.bits.length;
    }
    return run;
  }

  /** Unique, newest, non-tombstoned entries of the merged sources, in hash order. */
  private async mergeEntries(sources: Array<AsyncIterable<Buffer>>, fn: (buf: Buffer, at: number) => void | Promise<void>): Promise<number> {
    const cur = await MergeCursor.open(sources, INDEX_ENTRY_SIZE);
    const prev = Buffer.alloc(32);
    let havePrev = false;
    let n = 0;
    try {
      while (!cur.done) {
        const buf = cur.buf;
        const at = cur.pos;
        if (!this.m.tombstones.has(packIdAt(buf, at)) && !(havePrev && cur.compareTo(prev) === 0)) {
          buf.copy(prev, 0, at, at + 32);
          havePrev = true;
          n++;
          const r = fn(buf, at);
          if (r) await r;
        }
        const p = cur.next();
        if (p) await p;
      }
    } finally {
      await cur.close();
    }
    return n;
  }

  /**
   * Visit every live index entry in hash order (runs plus a snapshot of the
   * delta). `buf[at..at+48]` is valid only during the call. Safe to run
   * concurrently with compaction (it keeps the runs it reads open).
   */
  async scan(fn: (buf: Buffer, at: number) => void | Promise<void>): Promise<number> {
    const delta = sortRecords(encodeEntries([...this.pending.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, p]) => p.entries)), INDEX_ENTRY_SIZE);
    const runs = [...this.runs];
    for (const r of runs) r.reader.retain(); // a concurrent compaction may drop these runs meanwhile
    try {
      return await this.mergeEntries([...runs.map((r) => r.reader.batches(this.layout.dir)), bufferSource(delta)], fn);
    } finally {
      for (const r of runs) r.reader.release();
    }
  }

  /**
   * Garbage collection commit: from now on entries pointing into `packIds`
   * are ignored. In-memory first (synchronous), then the manifest durably.
   * The caller deletes the pack files only after this resolves.
   */
  async removePacks(packIds: Iterable<number>): Promise<void> {
    for (const id of packIds) {
      this.m.tombstones.add(id);
      this.m.packs.delete(id);
      const p = this.pending.get(id);
      if (p) {
        for (const e of p.entries) {
          const k = hashKey(e.hash);
          if (this.byHash.get(k)?.packId === id) this.byHash.delete(k);
        }
        if (p.sealed) this.sealedEntries -= p.entries.length;
        this.pending.delete(id);
      }
    }
    await writeManifest(this.layout.manifestFile, this.m);
    for (const id of packIds) await fsp.rm(this.layout.pendingFile(id), { force: true });
  }

  /**
   * Replace the whole index with one run built from `sources` (sorted index
   * entries; rebuild from packs). New run durable → in-memory switch →
   * manifest durable → old runs and pending files deleted.
   */
  async rebuildFrom(sources: Array<AsyncIterable<Buffer>>, expected: number, packs: Map<number, PackInfo>): Promise<number> {
    const saved = new Set(this.m.tombstones);
    this.m.tombstones.clear(); // every pack on disk counts again
    let run: Run;
    try {
      run = await this.writeRun(sources, expected);
    } catch (err) {
      for (const t of saved) this.m.tombstones.add(t);
      throw err;
    }
    const old = this.runs;
    const oldPending = [...this.pending.keys()];
    this.runs = [run];
    this.byHash.clear();
    this.pending.clear();
    this.sealedEntries = 0;
    this.m.packs = new Map(packs);
    this.m.runs = [{ id: run.id, count: run.reader.count }];
    await writeManifest(this.layout.manifestFile, this.m);
    for (const r of old) await this.dropRun(r);
    for (const id of oldPending) await fsp.rm(this.layout.pendingFile(id), { force: true }).catch(() => undefined);
    return run.reader.count;
  }

  close(): void {
    for (const r of this.runs) r.reader.close();
    this.runs = [];
  }
}

export function isMissing(err: unknown): boolean {
  return errnoCode(err) === 'ENOENT';
}
