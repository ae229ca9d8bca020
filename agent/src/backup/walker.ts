/**
 * The depth-first walk of one source folder. Each folder is listed, its
 * entries sorted by name bytes and handled in that order (a sub-folder fully
 * before the next entry); the folder then becomes one Tree, encoded, chunked,
 * stored in the cache and offered to the uploader like file data. Only the
 * folders on the current path (and their previous-point Trees) are in memory.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { EntryType, encodeTree, type Entry, type Tree } from '@strata/protocol';
import { chunkBuffer } from '../chunker/index.js';
import { asBuffer, joinPath, showPath } from '../util/bytes.js';
import { AgentError, checkAborted, errCode } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { statEntry, unchanged } from './entry.js';
import { readFileEntry, warnFile } from './file.js';
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

type StatResult = { ok: true; st: BigIntStats } | { ok: false; err: unknown };

/**
 * Backs up the folder `abs` (its point path is `point`, its path below the
 * source folder `rel`). `all`: every entry below is included (no include
 * pattern left to check). Returns null if the folder vanished.
 */
export async function walkDir(w: Walk, abs: Buffer, point: Buffer, rel: string[], prev: PrevTree | null, all: boolean, isSource: boolean): Promise<DirResult | null> {
  const { ctx, filter } = w;
  checkAborted(ctx.signal);
  report(ctx, abs);
  let names: Buffer[];
  try {
    names = await readdir(abs, { encoding: 'buffer' });
  } catch (e) {
    if (isSource) throw new AgentError('SOURCE_UNREADABLE', `source folder ${showPath(abs)} cannot be listed: ${(e as Error).message}`);
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') {
      ctx.warnings.add(`${showPath(abs)}: vanished during the backup; skipped`);
      return null;
    }
    ctx.warnings.add(`${showPath(abs)}: cannot list folder (${errCode(e) ?? (e as Error).message}); recorded empty`);
    names = [];
  }
  names.sort(Buffer.compare);
  const previous = new Map<string, Entry>();
  for (const e of prev?.tree.entries ?? []) previous.set(asBuffer(e.name).toString('latin1'), e);

  // lstat runs up to statAhead entries ahead of the entry being handled.
  const n = names.length;
  const rels: (string[] | null)[] = new Array(n).fill(null);
  const stats: (Promise<StatResult> | null)[] = new Array(n).fill(null);
  let started = 0;
  const ensure = (upTo: number) => {
    for (; started < Math.min(upTo, n); started++) {
      const childRel = [...rel, names[started]!.toString('utf8')];
      if (filter.excluded(childRel)) continue;
      rels[started] = childRel;
      stats[started] = lstat(joinPath(abs, names[started]!), { bigint: true }).then((st) => ({ ok: true as const, st }), (err: unknown) => ({ ok: false as const, err }));
    }
  };

  // Results in name order; files are read a few at a time (ctx.fileSlots), folders one by one.
  const slots: Promise<Entry | null>[] = [];
  for (let i = 0; i < n; i++) {
    ensure(i + 1 + ctx.tuning.statAhead);
    const pending = stats[i];
    const childRel = rels[i];
    if (!pending || !childRel) continue; // excluded
    stats[i] = null;
    const name = names[i]!;
    const childAbs = joinPath(abs, name);
    const r = await pending;
    if (!r.ok) {
      warnFile(ctx, childAbs, r.err, 'stat');
      continue;
    }
    checkAborted(ctx.signal);
    const st = r.st;
    const before = previous.get(name.toString('latin1'));
    if (st.isDirectory()) {
      const childAll = all || filter.included(childRel);
      if (!childAll && !filter.mayIncludeBelow(childRel)) continue;
      const prevTree = before?.type === EntryType.Dir ? await loadPrev(ctx, before.chunks) : null;
      const sub = await walkDir(w, childAbs, joinPath(point, name), childRel, prevTree, childAll, false);
      if (!sub) continue;
      const e = statEntry(name, EntryType.Dir, st);
      e.chunks = sub.chunks;
      e.size = sub.size;
      slots.push(Promise.resolve(e));
      ctx.dirs++;
      continue;
    }
    if (!all && !filter.included(childRel)) continue;
    report(ctx, childAbs);
    const task = () => fileLike(ctx, childAbs, joinPath(point, name), name, st, before).then((e) => counted(ctx, e));
    if (st.isFile() && (st.nlink > 1n || st.size > SERIAL_SIZE)) {
      // Hard-link first names must be decided in walk order, and a large file keeps the
      // hashing thread busy on its own (reading several would only hold more blocks in memory).
      await ctx.fileSlots.drain();
      slots.push(Promise.resolve(await task()));
    } else {
      await ctx.fileSlots.acquire();
      const p = task().finally(() => ctx.fileSlots.release());
      p.catch(() => {}); // awaited below; this only keeps an early failure from being reported as unhandled
      slots.push(p);
    }
  }
  const entries: Entry[] = [];
  let size = 0;
  for (const e of await Promise.all(slots)) {
    if (!e) continue;
    entries.push(e);
    if (e.type === EntryType.File || e.type === EntryType.Dir) size += e.size;
  }
  return { chunks: await storeTree(ctx, { entries }, prev?.hashes), size };
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
  return tree ? { tree, hashes: new Set(chunks.map((h) => asBuffer(h).toString('latin1'))) } : null;
}

/** Encodes, chunks, caches and uploads one Tree; returns its chunk hashes. */
export async function storeTree(ctx: RunContext, tree: Tree, known?: Set<string>): Promise<Buffer[]> {
  const bytes = asBuffer(encodeTree(tree));
  const hashes: Buffer[] = [];
  for (const c of chunkBuffer(bytes)) {
    const h = sha256(c);
    hashes.push(h);
    await ctx.cache.storeTreeChunk(h, c, known?.has(h.toString('latin1')) ?? false);
    await ctx.uploader.add(h, c);
  }
  return hashes;
}
