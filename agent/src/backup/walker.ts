/**
 * The depth-first walk of one source folder. Each folder is listed, its
 * entries sorted by name bytes and handled in that order (a sub-folder fully
 * before the next entry); the folder then becomes one Tree, encoded, chunked,
 * stored in the cache and offered to the uploader like file data. Only the
 * folders on the current path (and their previous-point Trees) are in memory,
 * and both in their encoded form: a folder's entries are encoded as soon as
 * they are final (TreeBuilder, a group at a time), and the previous Tree is
 * decoded a window of entries at a time in name order (PrevEntries). A file's
 * chunk list then costs ~34 bytes per chunk instead of a JS object and an
 * ArrayBuffer per hash (~300 bytes), which made a folder of large files grow
 * the agent's heap with the dataset.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { batchLstat, type LstatMany } from './lstat-batch.js';
import { EntryType, decodeTree, encodeTree, type Entry, type Tree } from '@strata/protocol';
import { chunkBuffer } from '../chunker/index.js';
import { asBuffer, joinPath, showPath } from '../util/bytes.js';
import { AgentError, checkAborted, errCode } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { statEntry, unchanged } from './entry.js';
import { readFileEntry, warnFile } from './file.js';
import type { StatResult } from './file-worker.js';
import { report, type RunContext } from './context.js';
import type { PathFilter } from './filter.js';

export interface DirResult {
  /** Chunk hashes of the folder's Tree. */
  chunks: Buffer[];
  /** Logical bytes of the regular files below the folder (hard links once): the folder Entry's size. */
  size: number;
}

interface Walk {
  ctx: RunContext;
  filter: PathFilter;
}

/** Files larger than this are read one at a time. */
const SERIAL_SIZE = 1024n * 1024n;


/**
 * Backs up the folder `abs` (its point path is `point`, its path below the
 * source folder `rel`). `all`: every entry below is included (no include
 * pattern left to check). Returns null if the folder vanished.
 */
export async function walkDir(w: Walk, abs: Buffer, point: Buffer, rel: string[], prevTree: PrevTree | PrevEntries | null, all: boolean, isSource: boolean): Promise<DirResult | null> {
  const { ctx } = w;
  checkAborted(ctx.signal);
  report(ctx, abs);
  const names = await listDir(ctx, abs, isSource);
  if (!names) return null;
  const prev = prevTree instanceof PrevEntries ? prevTree : prevTree ? PrevEntries.decoded(prevTree) : null;
  const stats = new StatWindow(ctx, w.filter, abs, rel, names, ctx.tuning.statAhead);
  // Results in name order; files are read a few at a time (ctx.fileSlots), folders one by one.
  // Each entry is encoded once it and those before it are final (the Entry objects are then dropped).
  const tree = new TreeBuilder();
  for (let i = 0; i < names.length; i++) {
    const next = stats.take(i);
    if (!next) continue; // excluded
    const r = await next.stat;
    const childAbs = joinPath(abs, names[i]!);
    if (!r.ok) {
      warnFile(ctx, childAbs, r.err, 'stat');
      continue;
    }
    checkAborted(ctx.signal);
    const child: Child = { abs: childAbs, point: joinPath(point, names[i]!), rel: next.rel, name: names[i]!, st: r.st, before: prev?.find(names[i]!) };
    const slot = await walkEntry(w, child, all);
    if (slot) tree.add(slot.entry);
  }
  const bytes = await tree.finish();
  return { chunks: await storeTreeBytes(ctx, bytes, prev?.hashes), size: tree.size };
}

/**
 * One folder's Tree, encoded entry by entry in name order as the entries
 * become final (files finish out of order: at most ctx.fileSlots wait here).
 * A Tree has only its repeated `entries` field, so the encodings of one-entry
 * Trees joined are byte for byte the encoding of the whole Tree (tested).
 */
/** Entries (and their chunk hashes) encoded together by TreeBuilder and decoded together by PrevEntries. */
const GROUP_ENTRIES = 256;
const GROUP_CHUNKS = 4096;
/** Encoded bytes PrevEntries decodes at once (a larger entry alone). */
const WINDOW_BYTES = 64 * 1024;

export class TreeBuilder {
  private buf = Buffer.allocUnsafe(1024);
  private len = 0;
  /** Finished entries not yet encoded because an earlier one is still running, by position. */
  private readonly waiting = new Map<number, Entry | null>();
  private added = 0;
  private next = 0;
  private failure: { e: unknown } | null = null;
  private onDone: (() => void) | null = null;
  /** Logical bytes of the regular files below (the folder Entry's size). */
  size = 0;

  /** The next entry in name order (null: left out), when it is final. */
  add(entry: Promise<Entry | null>): void {
    const at = this.added++;
    entry.then((e) => this.settle(at, e), (e: unknown) => {
      this.failure ??= { e };
      this.onDone?.();
    });
  }

  /** The encoded Tree once every entry added is final; throws the first entry's failure. */
  async finish(): Promise<Buffer> {
    while (this.next < this.added && !this.failure) await new Promise<void>((r) => { this.onDone = r; });
    if (this.failure) throw this.failure.e;
    return this.buf.subarray(0, this.len);
  }

  private settle(at: number, e: Entry | null): void {
    this.waiting.set(at, e);
    while (this.waiting.has(this.next)) {
      const x = this.waiting.get(this.next)!;
      this.waiting.delete(this.next++);
      if (x) this.append(x);
    }
    if (this.next === this.added) {
      this.flush();
      this.onDone?.();
    }
  }

  /** Final entries not encoded yet: encoded a group at a time (one encoder call per entry cost ~2.5× the CPU). */
  private group: Entry[] = [];
  private groupChunks = 0;

  private append(e: Entry): void {
    if (e.type === EntryType.File || e.type === EntryType.Dir) this.size += e.size;
    this.group.push(e);
    this.groupChunks += e.chunks.length;
    if (this.group.length >= GROUP_ENTRIES || this.groupChunks >= GROUP_CHUNKS) this.flush();
  }

  private flush(): void {
    if (!this.group.length) return;
    const b = encodeTree({ entries: this.group });
    this.group = [];
    this.groupChunks = 0;
    if (this.len + b.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + b.length));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

/** The folder's names sorted by bytes; null if it vanished (warned); [] if unlistable (warned). */
async function listDir(ctx: RunContext, abs: Buffer, isSource: boolean): Promise<Buffer[] | null> {
  try {
    return (await readdir(abs, { encoding: 'buffer' })).sort(Buffer.compare);
  } catch (e) {
    if (isSource) throw new AgentError('SOURCE_UNREADABLE', `source folder ${showPath(abs)} cannot be listed: ${(e as Error).message}`);
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') {
      ctx.warnings.add(`${showPath(abs)}: vanished during the backup; skipped`);
      return null;
    }
    ctx.warnings.add(`${showPath(abs)}: cannot list folder (${errCode(e) ?? (e as Error).message}); recorded empty`);
    return [];
  }
}

/**
 * lstat of a folder's entries, running up to `ahead` entries in front of the
 * one being handled; in batches of `ahead` (lstat-batch.ts: the file worker
 * or the addon), else one fs call each.
 */
class StatWindow {
  private readonly rels: (string[] | null)[];
  private readonly stats: (Promise<StatResult> | null)[];
  private started = 0;
  /** lstat of a batch in one call (the file worker, or the addon's lstatMany); null: one fs call per entry. */
  private readonly batch: LstatMany | null;

  constructor(private readonly ctx: RunContext, private readonly filter: PathFilter, private readonly abs: Buffer, private readonly rel: string[], private readonly names: Buffer[], private readonly ahead: number) {
    this.rels = new Array(names.length).fill(null);
    this.stats = new Array(names.length).fill(null);
    this.batch = batchLstat(ctx.worker);
  }

  /** Entry i's path below the source and its lstat, or null if it is excluded. */
  take(i: number): { rel: string[]; stat: Promise<StatResult> } | null {
    const worker = this.batch;
    // In batches: the next batch starts when the window is half used.
    if (!worker || this.started <= i + (this.ahead >> 1)) {
      const batch: number[] = [];
      for (const end = Math.min(i + 1 + this.ahead, this.names.length); this.started < end; this.started++) {
        const k = this.started;
        const childRel = [...this.rel, this.names[k]!.toString('utf8')];
        if (this.filter.excluded(childRel)) continue;
        this.rels[k] = childRel;
        if (worker) batch.push(k);
        else {
          this.stats[k] = lstat(joinPath(this.abs, this.names[k]!), { bigint: true })
            .then((st) => ({ ok: true as const, st }), (err: unknown) => ({ ok: false as const, err }));
        }
      }
      if (worker && batch.length) {
        const all = worker(batch.map((k) => joinPath(this.abs, this.names[k]!)));
        all.catch(() => {}); // each entry's promise below carries the failure
        batch.forEach((k, j) => { this.stats[k] = all.then((r) => r[j]!, (err: unknown) => ({ ok: false as const, err })); });
      }
    }
    const stat = this.stats[i];
    const rel = this.rels[i];
    this.stats[i] = null;
    this.rels[i] = null;
    return stat && rel ? { rel, stat } : null;
  }
}

interface Child { abs: Buffer; point: Buffer; rel: string[]; name: Buffer; st: BigIntStats; before: Entry | undefined }

/**
 * One entry of a folder: a sub-folder is walked now; a file-like entry is
 * started (a few run at once) and its result comes later (wrapped, so that
 * awaiting walkEntry does not wait for it). Null: left out.
 */
async function walkEntry(w: Walk, c: Child, all: boolean): Promise<{ entry: Promise<Entry | null> } | null> {
  const { ctx, filter } = w;
  if (c.st.isDirectory()) {
    const childAll = all || filter.included(c.rel);
    if (!childAll && !filter.mayIncludeBelow(c.rel)) return null;
    const prevTree = c.before?.type === EntryType.Dir ? await loadPrevEntries(ctx, c.before.chunks) : null;
    const sub = await walkDir(w, c.abs, c.point, c.rel, prevTree, childAll, false);
    if (!sub) return null;
    const e = statEntry(c.name, EntryType.Dir, c.st);
    e.chunks = sub.chunks;
    e.size = sub.size;
    ctx.dirs++;
    return { entry: Promise.resolve(e) };
  }
  if (!all && !filter.included(c.rel)) return null;
  report(ctx, c.abs);
  const task = () => fileLike(ctx, c.abs, c.point, c.name, c.st, c.before).then((e) => counted(ctx, e));
  if (c.st.isFile() && (c.st.nlink > 1n || c.st.size > SERIAL_SIZE || c.st.size >= BigInt(ctx.pool.blockSize))) {
    // Hard-link first names must be decided in walk order, and a large file keeps the
    // hashing thread busy on its own (reading several would only hold more blocks in memory).
    // Files read at once fit in one pool block each, so none holds a block while waiting for another.
    await ctx.fileSlots.drain();
    return { entry: Promise.resolve(await task()) };
  }
  await ctx.fileSlots.acquire();
  const entry = task().finally(() => ctx.fileSlots.release());
  entry.catch(() => {}); // awaited by the folder; this only keeps an early failure from being reported as unhandled
  return { entry };
}

function counted(ctx: RunContext, e: Entry | null): Entry | null {
  if (!e) return null;
  ctx.files++;
  ctx.counters.filesScanned++;
  if (e.type === EntryType.File) ctx.bytes += e.size;
  return e;
}

/** Entry for a non-directory: file (read or reused), hard link, symlink; null (warned) otherwise. */
async function fileLike(ctx: RunContext, abs: Buffer, point: Buffer, name: Buffer, st: BigIntStats, before: Entry | undefined): Promise<Entry | null> {
  if (st.isSymbolicLink()) {
    try {
      const e = statEntry(name, EntryType.Symlink, st);
      e.linkTarget = await readlink(abs, { encoding: 'buffer' });
      return e;
    } catch (err) {
      warnFile(ctx, abs, err, 'read link');
      return null;
    }
  }
  if (!st.isFile()) {
    const kind = st.isFIFO() ? 'named pipe' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'character device' : st.isBlockDevice() ? 'block device' : 'special file';
    ctx.warnings.add(`${showPath(abs)}: ${kind} not backed up`);
    return null;
  }
  const linkKey = st.nlink > 1n ? `${st.dev}:${st.ino}` : null;
  const first = linkKey ? ctx.links.get(linkKey) : undefined;
  if (first) {
    const e = statEntry(name, EntryType.Hardlink, st);
    e.linkTarget = first;
    return e;
  }
  let e = statEntry(name, EntryType.File, st);
  if (unchanged(before, e)) {
    e.chunks = before!.chunks;
    ctx.counters.bytesScanned += e.size;
  } else {
    const read = await readFileEntry(ctx, abs, name, st);
    if (!read) return null;
    e = read;
    ctx.counters.filesChanged++;
  }
  if (linkKey) ctx.links.set(linkKey, point);
  return e;
}

/** A folder's Tree in the previous point, and its chunk hashes (latin1), verified in the cache. */
export interface PrevTree { tree: Tree; hashes: Set<string> }

export async function loadPrev(ctx: RunContext, chunks: Uint8Array[]): Promise<PrevTree | null> {
  const tree = await ctx.cache.loadTree(chunks);
  return tree ? { tree, hashes: treeHashes(chunks) } : null;
}

/** A sub-folder's previous Tree, kept encoded (PrevEntries); null if not in the cache. */
async function loadPrevEntries(ctx: RunContext, chunks: Uint8Array[]): Promise<PrevEntries | null> {
  const bytes = await ctx.cache.loadTreeBytes(chunks);
  return bytes ? new PrevEntries(bytes, null, treeHashes(chunks)) : null;
}

const treeHashes = (chunks: Uint8Array[]) => new Set(chunks.map((h) => asBuffer(h).toString('latin1')));

/**
 * A folder's entries in the previous point, looked up in name order (the walk
 * goes through names sorted by bytes, as the Tree was written): the encoded
 * Tree is decoded a window at a time (up to GROUP_ENTRIES entries or
 * WINDOW_BYTES, a larger entry alone) as the walk moves forward, and entries
 * passed are dropped. A Tree not in that order, or not readable, only costs
 * reuse: an entry not found is read again; a wrong entry is never returned.
 */
export class PrevEntries {
  /** Offset of the first entry not decoded yet. */
  private at = 0;
  /** Decoded entries of the current window, and the next one to compare. */
  private win: (Entry | undefined)[] = [];
  private wi = 0;
  private readonly map: Map<string, Entry> | null;

  constructor(private readonly bytes: Buffer | null, entries: Entry[] | null, readonly hashes: Set<string>) {
    this.map = entries ? new Map(entries.map((e) => [asBuffer(e.name).toString('latin1'), e])) : null;
  }

  /** For a Tree already decoded (the source folders' own, from run.ts). */
  static decoded(t: PrevTree): PrevEntries {
    return new PrevEntries(null, t.tree.entries, t.hashes);
  }

  /** The previous entry named `name`; names must be asked in increasing byte order. */
  find(name: Buffer): Entry | undefined {
    if (this.map) return this.map.get(name.toString('latin1'));
    for (;;) {
      while (this.wi < this.win.length) {
        const e = this.win[this.wi]!;
        const cmp = Buffer.compare(asBuffer(e.name), name);
        if (cmp > 0) return undefined;
        this.win[this.wi++] = undefined; // passed: not kept
        if (cmp === 0) return e;
      }
      if (!this.nextWindow()) return undefined;
    }
  }

  /** Decodes the next entries, up to WINDOW_BYTES of them (at least one); false at the end or on bytes it cannot read. */
  private nextWindow(): boolean {
    const b = this.bytes!;
    const start = this.at;
    let end = start;
    let n = 0;
    while (end < b.length && n < GROUP_ENTRIES && (n === 0 || end - start < WINDOW_BYTES)) {
      const next = entryEnd(b, end);
      if (next < 0) break;
      end = next;
      n++;
    }
    this.at = end === start ? b.length : end; // unreadable: nothing more is reused
    this.wi = 0;
    this.win = [];
    if (end === start) return false;
    try {
      this.win = decodeTree(b.subarray(start, end)).entries;
    } catch {
      this.at = b.length;
      return false;
    }
    return true;
  }
}

/** The end of the Tree field at `at` (one Entry), or -1 if it is not a well-formed `entries` field. */
function entryEnd(b: Buffer, at: number): number {
  const tag = readVarint(b, at);
  if (!tag || tag.v !== 0x0a) return -1;
  const len = readVarint(b, tag.next);
  if (!len || len.next + len.v > b.length) return -1;
  return len.next + len.v;
}

/** A varint of up to 35 bits (tags and lengths here) at `at`. */
function readVarint(b: Buffer, at: number): { v: number; next: number } | null {
  let v = 0;
  for (let i = 0, mul = 1; i < 10 && at + i < b.length; i++, mul *= 128) {
    const byte = b[at + i]!;
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return { v, next: at + i + 1 };
  }
  return null;
}

/** Encodes, chunks, caches and uploads one Tree; returns its chunk hashes. */
export async function storeTree(ctx: RunContext, tree: Tree, known?: Set<string>): Promise<Buffer[]> {
  return storeTreeBytes(ctx, asBuffer(encodeTree(tree)), known);
}

/** Chunks, caches and uploads one encoded Tree; returns its chunk hashes. */
async function storeTreeBytes(ctx: RunContext, bytes: Buffer, known?: Set<string>): Promise<Buffer[]> {
  const hashes: Buffer[] = [];
  for (const c of chunkBuffer(bytes)) {
    const h = sha256(c);
    hashes.push(h);
    await ctx.cache.storeTreeChunk(h, c, known?.has(h.toString('latin1')) ?? false);
    await ctx.uploader.add(h, c);
  }
  return hashes;
}
