/** runBackup: one backup job from command to root hashes (see index.ts for the contract). */
import { mkdir } from 'node:fs/promises';
import { EntryType, type Entry } from '@strata/protocol';
import { asBuffer } from '../util/bytes.js';
import { checkAborted } from '../util/errors.js';
import { WorkerCompressor, type ChunkCompressor } from '../util/zstd.js';
import { TreeCache, cachedTotals } from './cache.js';
import type { RunContext } from './context.js';
import { Limiter } from '../util/limiter.js';
import { BlockPool } from '../util/pool.js';
import { CHUNKER_V1, loadNative } from '../chunker/index.js';
import { FileWorker } from './file-worker.js';
import { Warnings } from '../util/warnings.js';
import { statEntry } from './entry.js';
import { PathFilter } from './filter.js';
import { prescan } from './prescan.js';
import { resolveSources } from './sources.js';
import { ChunkUploader } from './uploader.js';
import { loadPrev, storeTree, walkDir } from './walker.js';
import { DEFAULT_TUNING, type BackupOptions, type BackupResult } from './types.js';

/**
 * Files whose ctime is less than this old when read are re-read by the next
 * backup: file times come from a coarse clock (one tick, at most 10 ms), so a
 * write in the same tick as the one before our read would keep the same times.
 */
const RACY_WINDOW_MS = 200;

export async function runBackup(opts: BackupOptions): Promise<BackupResult> {
  const { cmd, uplink } = opts;
  const { compressor: given, pool: givenPool, ...rest } = opts.tuning ?? {};
  const tuning = { ...DEFAULT_TUNING, ...rest };
  const warnings = new Warnings();
  checkAborted(opts.signal);
  const sources = await resolveSources(cmd.paths, (w) => warnings.add(w));
  await mkdir(opts.cacheDir, { recursive: true });
  const filters = sources.map((s) => new PathFilter(cmd.includes, cmd.excludes, s.path.split('/').filter(Boolean)));

  const compressor: ChunkCompressor = given ?? new WorkerCompressor();
  const cache = await TreeCache.open(opts.cacheDir, cmd.parentPointId);
  const pool = givenPool ?? new BlockPool(tuning.readBlock, Math.max(2, tuning.poolBlocks));
  // A block at least as large as a chunk: a reader then holds at most one block while it waits for the next.
  if (pool.blockSize < CHUNKER_V1.maxSize) throw new RangeError(`read blocks of ${pool.blockSize} bytes are smaller than a chunk`);
  const uploader = new ChunkUploader(uplink, compressor, tuning);
  pool.onStarved = () => uploader.starved();
  uploader.pool = pool;
  uploader.onFailure = (e) => pool.fail(e); // a reader waiting for a block would otherwise wait forever
  const worker = tuning.fileWorker ? new FileWorker().warm() : null;
  const ctx: RunContext = {
    tuning, racyWindowMs: opts.tuning?.racyWindowMs ?? RACY_WINDOW_MS, uploader, pool, worker, native: loadNative(),
    cache, warnings, signal: opts.signal, links: new Map(), fileSlots: new Limiter(tuning.filesInFlight),
    counters: { bytesScanned: 0, bytesSent: 0, filesScanned: 0, filesChanged: 0, bytesTotal: 0, filesTotal: 0, currentPath: '' },
    onProgress: opts.onProgress, files: 0, dirs: 0, bytes: 0,
  };
  const stopScan = new AbortController();
  try {
    const totals = await cachedTotals(opts.cacheDir, cmd.parentPointId);
    if (totals) {
      ctx.counters.bytesTotal = totals.bytes;
      ctx.counters.filesTotal = totals.files;
    } else {
      void Promise.all(sources.map((s, i) => prescan(s.name, filters[i]!, stopScan.signal, worker))).then((all) => {
        if (stopScan.signal.aborted) return;
        ctx.counters.filesTotal = all.reduce((a, t) => a + t.files, 0);
        ctx.counters.bytesTotal = all.reduce((a, t) => a + t.bytes, 0);
      }, () => {});
    }
    const prevRoot = cache.base ? await loadPrev(ctx, cache.base.root.map((h) => Buffer.from(h, 'hex'))) : null;
    const previous = new Map<string, Entry>();
    for (const e of prevRoot?.tree.entries ?? []) previous.set(asBuffer(e.name).toString('latin1'), e);

    const rootEntries: Entry[] = [];
    for (let i = 0; i < sources.length; i++) {
      const s = sources[i]!;
      const before = previous.get(s.name.toString('latin1'));
      const prevTree = before?.type === EntryType.Dir ? await loadPrev(ctx, before.chunks) : null;
      const filter = filters[i]!;
      const sub = await walkDir({ ctx, filter }, s.name, s.name, [], prevTree, !filter.hasIncludes, true);
      const e = statEntry(s.name, EntryType.Dir, s.st);
      e.chunks = sub!.chunks;
      e.size = sub!.size;
      rootEntries.push(e);
      ctx.dirs++;
    }
    const root = await storeTree(ctx, { entries: rootEntries }, prevRoot?.hashes);
    await ctx.uploader.finish();
    await cache.finish(root);
    ctx.counters.currentPath = '';
    ctx.onProgress?.({ ...ctx.counters, bytesSent: ctx.uploader.bytesSent });
    return { root, files: ctx.files, dirs: ctx.dirs, bytes: ctx.bytes, warnings: warnings.result() };
  } catch (e) {
    pool.fail(e); // readers waiting for a block give up
    await ctx.fileSlots.drain().catch(() => {}); // files still being read end at their next step
    await ctx.uploader.abandon(e);
    await cache.abort();
    throw e;
  } finally {
    stopScan.abort();
    await worker?.close();
    if (!given) await compressor.close();
  }
}
