/**
 * Garbage collection: mark & sweep over sorted streams, in bounded memory.
 *
 * Ordering (docs/storage-format.md §Garbage collection):
 *  0. begin (ChunkStore.beginGc): the open pack is sealed and flushed; every
 *     pack with id >= startPackId is created later and is never swept. From
 *     now on every put() dedup hit and markInUse() of a chunk in an older
 *     pack pins that hash (in memory).
 *  1. mark + account: merge the ref lists of the live points (sorted) with the
 *     whole index (sorted); per old pack, sum the bytes of live chunks
 *     (marked or pinned). Packs with no live chunk, or a live share below
 *     the threshold, are condemned; packs on disk that the index does not
 *     know (crash leftovers) are condemned too.
 *  2. copy: merge again; every chunk of a condemned pack that is live now is
 *     copied into new packs (their index entries win over the old ones).
 *  3. rescue + commit: repeatedly copy pinned chunks still located in a
 *     condemned pack and flush the new packs; when a synchronous check finds
 *     none, tombstone the condemned packs in memory in the same tick, then
 *     durably in the manifest, and only then delete the pack files.
 */
import { promises as fsp } from 'node:fs';
import { fsyncDir } from '../util/durable.js';
import type { ChunkIndex } from './chunk-index.js';
import { packIdAt, readLocation } from './entry.js';
import { StoreClosedError } from './errors.js';
import { HASH_SIZE, RECORD_OVERHEAD } from './format.js';
import { PACK_ID_RE, type Layout } from './layout.js';
import { MergeCursor } from './merge.js';
import type { PackWriter } from './pack-writer.js';
import type { RefList, RefLists } from './ref-list.js';
import type { ChunkLocation, GcResult } from './types.js';

export interface GcState {
  /** Packs with this id or above are never swept (Infinity until the open pack is sealed). */
  startPackId: number;
  /** Hashes put or marked in use since gc began whose copy is in a pack < startPackId. */
  readonly pins: Set<string>;
}

export interface GcHost {
  layout: Layout;
  index: ChunkIndex;
  refs: RefLists;
  state: GcState;
  rewriteBelow: number;
  /** Read and crc-check a record; returns its fields or a reason it is damaged. */
  readRecord(hash: Buffer, loc: ChunkLocation): Promise<{ compression: number; rawSize: number; data: Buffer } | string>;
  /** A writer for copies (its packs get ids >= startPackId). */
  writer: PackWriter;
  evictPack(packId: number): void;
  isClosing(): boolean;
}

interface PackAcc { bytes: number; liveBytes: number; live: number; dead: number }

/** Ids of pack files on disk, from the directory listing. */
export async function listPackFiles(layout: Layout): Promise<number[]> {
  const ids: number[] = [];
  let subdirs: string[];
  try {
    subdirs = await fsp.readdir(layout.packsDir);
  } catch {
    return ids;
  }
  for (const sub of subdirs) {
    let names: string[];
    try {
      names = await fsp.readdir(`${layout.packsDir}/${sub}`);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = PACK_ID_RE.exec(n);
      if (m) ids.push(parseInt(m[1]!, 16));
    }
  }
  return ids.sort((a, b) => a - b);
}

async function openMarks(host: GcHost, pointIds: string[]): Promise<{ cursor: MergeCursor; lists: RefList[] }> {
  const lists: RefList[] = [];
  try {
    for (const id of new Set(pointIds)) lists.push(await host.refs.open(id));
  } catch (err) {
    for (const l of lists) l.close();
    throw err;
  }
  return { cursor: await MergeCursor.open(lists.map((l) => l.batches()), HASH_SIZE), lists };
}

/**
 * Visit every index entry of a pack older than startPackId with its liveness
 * (marked by a live point's ref list, or pinned).
 */
async function walk(host: GcHost, pointIds: string[], fn: (buf: Buffer, at: number, live: boolean) => void | Promise<void>): Promise<void> {
  const { cursor, lists } = await openMarks(host, pointIds);
  const { startPackId, pins } = host.state;
  let n = 0;
  try {
    await host.index.scan(async (buf, at) => {
      if (++n % 65536 === 0 && host.isClosing()) throw new StoreClosedError(host.layout.dir);
      if (packIdAt(buf, at) >= startPackId) return;
      while (!cursor.done && cursor.compareTo(buf, at) < 0) {
        const p = cursor.next();
        if (p) await p;
      }
      const marked = !cursor.done && cursor.compareTo(buf, at) === 0;
      const live = marked || pins.has(buf.toString('latin1', at, at + HASH_SIZE));
      const r = fn(buf, at, live);
      if (r) await r;
    });
  } finally {
    await cursor.close();
    for (const l of lists) l.close();
  }
}

export async function runGc(host: GcHost, livePointIds: string[]): Promise<GcResult> {
  const { index, layout, state } = host;
  // 1. mark + account
  const acc = new Map<number, PackAcc>();
  for (const [id, p] of index.packs()) {
    if (id >= state.startPackId) continue;
    // the file may be longer than its index says (an unreferenced tail after a crash): count it as dead
    const size = await fsp.stat(layout.packFile(id)).then((st) => st.size, () => p.bytes);
    acc.set(id, { bytes: Math.max(size, p.bytes), liveBytes: 0, live: 0, dead: 0 });
  }
  await walk(host, livePointIds, (buf, at, live) => {
    const loc = readLocation(buf, at);
    const a = acc.get(loc.packId);
    if (!a) return;
    if (live) {
      a.live++;
      a.liveBytes += loc.length;
    } else a.dead++;
  });
  const condemned = new Set<number>();
  for (const [id, a] of acc) if (a.live === 0 || a.liveBytes < a.bytes * host.rewriteBelow) condemned.add(id);
  const orphans = (await listPackFiles(layout)).filter((id) => id < state.startPackId && !acc.has(id));

  // 2. copy live chunks out of condemned packs
  let chunksRemoved = 0;
  let written = 0;
  const copy = async (hash: Buffer, loc: ChunkLocation): Promise<void> => {
    const rec = await host.readRecord(hash, loc);
    if (typeof rec === 'string') {
      condemned.delete(loc.packId); // never delete the only (damaged) copy of a live chunk
      return;
    }
    await host.writer.append(hash, rec.compression, rec.rawSize, rec.data);
    written += RECORD_OVERHEAD + rec.data.length;
  };
  if (condemned.size > 0) {
    await walk(host, livePointIds, async (buf, at, live) => {
      const loc = readLocation(buf, at);
      if (!condemned.has(loc.packId)) return;
      if (live) await copy(Buffer.from(buf.subarray(at, at + HASH_SIZE)), loc);
      else chunksRemoved++;
    });
  }

  // 3. rescue pinned chunks, then commit
  for (;;) {
    if (host.isClosing()) throw new StoreClosedError(layout.dir);
    const rescue: Array<[Buffer, ChunkLocation]> = [];
    for (const k of state.pins) {
      const hash = Buffer.from(k, 'latin1');
      const loc = index.lookup(hash);
      if (loc && condemned.has(loc.packId)) rescue.push([hash, loc]);
    }
    if (rescue.length > 0) {
      for (const [hash, loc] of rescue) {
        await copy(hash, loc);
        chunksRemoved--;
      }
      continue;
    }
    host.writer.seal();
    await host.writer.flush();
    let again = false;
    for (const k of state.pins) {
      const loc = index.lookup(Buffer.from(k, 'latin1'));
      if (loc && condemned.has(loc.packId)) again = true;
    }
    if (!again) break;
  }
  const bytesBefore = [...condemned].reduce((s, id) => s + (acc.get(id)?.bytes ?? 0), 0);
  const packsRewritten = [...condemned].filter((id) => (acc.get(id)?.live ?? 0) > 0).length;
  const commit = index.removePacks([...condemned, ...orphans]); // synchronous in-memory part runs here
  await commit;
  let orphanBytes = 0;
  for (const id of [...condemned, ...orphans]) {
    host.evictPack(id);
    if (orphans.includes(id)) orphanBytes += await fsp.stat(layout.packFile(id)).then((s) => s.size, () => 0);
    await fsp.rm(layout.packFile(id), { force: true });
  }
  const dirs = new Set([...condemned, ...orphans].map((id) => layout.packSubdir(id)));
  for (const d of dirs) await fsyncDir(d).catch(() => undefined);
  return {
    chunksRemoved: Math.max(0, chunksRemoved),
    bytesFreed: Math.max(0, bytesBefore + orphanBytes - written),
    packsRewritten,
    packsDeleted: condemned.size + orphans.length,
  };
}
