/**
 * Reading one new or changed file: blocks of the run's pool are read (one
 * read ahead while the previous block is chunked and hashed), chunked, hashed
 * and offered to the uploader as views into the blocks (no copy). Problems with this one file become warnings, not failures.
 */
import { constants, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { EntryType, type Entry } from '@strata/protocol';
import { Chunker, type HashStream } from '../chunker/index.js';
import { NATIVE_ASYNC_MIN, type SmallFileRead } from '../chunker/native.js';
import { showPath } from '../util/bytes.js';
import { checkAborted, errCode } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { markRacy, statEntry } from './entry.js';
import { report, type RunContext } from './context.js';
import { CompressHint, PackedHashes, type HashSink } from './uploader.js';
import type { Block, Region } from '../util/pool.js';
import type { BlockCuts } from '../chunker/cuts.js';
import type { SmallRead as WorkerSmallRead } from './file-worker.js';

type SmallRead = SmallFileRead | WorkerSmallRead;

const IS_ROOT = process.getuid?.() === 0;
// O_NONBLOCK: a file swapped for a FIFO after lstat must not hang the backup.
// O_NOATIME (root only; others get EPERM on files they do not own): reading must not touch atime.
const BASE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const NOATIME = IS_ROOT ? constants.O_NOATIME ?? 0 : 0;
const MIN_READ = 64 * 1024;

/**
 * The file's Entry with its chunk list, or null (with a warning) if it could
 * not be read. `lst` is the walk's lstat; one fstat after reading checks that
 * the file read is the one stat'ed and did not change meanwhile.
 */
export async function readFileEntry(ctx: RunContext, abs: Buffer, name: Buffer, lst: BigIntStats): Promise<Entry | null> {
  if (lst.size < BigInt(ctx.pool.blockSize) && lst.nlink <= 1n) {
    const native = ctx.native?.smallFiles ? ctx.native : null;
    // With the addon: one thread-pool trip instead of four fs/promises calls (open, read, fstat,
    // close: each a promise and a round trip) plus the chunk-and-hash call.
    const reader = native ? (buf: Buffer) => native.readSmall(abs, buf, BASE_FLAGS, NOATIME)
      : ctx.worker ? (buf: Buffer) => ctx.worker!.readSmall(abs, buf, BASE_FLAGS, NOATIME) : null;
    if (reader) {
      const e = await readSmall(ctx, abs, name, lst, reader);
      if (e !== 'grew') return e;
    }
  }
  let fh: FileHandle;
  try {
    fh = await openForRead(abs);
  } catch (e) {
    warnFile(ctx, abs, e, 'open');
    return null;
  }
  try {
    const hashes = new PackedHashes(); // 32 bytes per hash while the file is read (memory: docs/chunking.md)
    const size = await readChunks(ctx, fh, lst, hashes, abs);
    if (size < 0) return null;
    return fileEntry(ctx, abs, name, lst, await fh.stat({ bigint: true }), size, hashes.views());
  } finally {
    fh.close().catch(() => {});
  }
}

/**
 * A file smaller than a block, read, chunked and hashed in one call into a
 * region of a pool block (files read alongside others: walker.ts), by the
 * native addon on libuv's thread pool or by the file worker in one message.
 * 'grew': it no longer fits; read it the long way.
 */
async function readSmall(ctx: RunContext, abs: Buffer, name: Buffer, lst: BigIntStats, read: (region: Buffer) => Promise<SmallRead>): Promise<Entry | null | 'grew'> {
  const pool = ctx.pool;
  // One byte more than expected: a file that grew fills the region.
  const region = await pool.take(Math.max(1, Math.min(pool.blockSize, Number(lst.size) + 1)), ctx.signal);
  const block = region.block;
  try {
    const r = await read(region.buf);
    if (!r.ok) {
      warnFile(ctx, abs, r.err, r.stage);
      return null;
    }
    if (r.n === region.buf.length) return 'grew';
    pool.shrink(region, r.n);
    const hashes: Buffer[] = [];
    await offerWhole(ctx, region.buf.subarray(0, r.n), block, r.cuts, hashes, new CompressHint());
    ctx.counters.bytesScanned += r.n;
    return fileEntry(ctx, abs, name, lst, r.st, r.n, hashes);
  } finally {
    block.release();
  }
}

/**
 * The entry of a file read whole: `after` is the stat taken after reading; if
 * it or the size read differs from the walk's lstat, the file changed while
 * being read (a warning, and ctime 0 so the next backup reads it again).
 */
function fileEntry(ctx: RunContext, abs: Buffer, name: Buffer, lst: BigIntStats, after: BigIntStats, size: number, chunks: Buffer[]): Entry {
  const same = after.ino === lst.ino && after.dev === lst.dev && after.size === lst.size
    && after.mtimeNs === lst.mtimeNs && after.ctimeNs === lst.ctimeNs && BigInt(size) === lst.size;
  const entry = statEntry(name, EntryType.File, same ? lst : after);
  entry.chunks = chunks;
  entry.size = size;
  if (!same) {
    ctx.warnings.add(`${showPath(abs)}: changed while being read; the backup holds the ${size} bytes that were read`);
    entry.ctimeSec = 0;
    entry.ctimeNsec = 0;
  } else {
    markRacy(entry, Date.now(), ctx.racyWindowMs);
  }
  return entry;
}

async function openForRead(abs: Buffer): Promise<FileHandle> {
  if (NOATIME) {
    try {
      return await open(abs, BASE_FLAGS | NOATIME);
    } catch (e) {
      // O_NOATIME needs ownership or CAP_FOWNER (absent e.g. under root squash or a dropped euid).
      if (errCode(e) !== 'EPERM') throw e;
    }
  }
  return open(abs, BASE_FLAGS);
}

type Read = { ok: true; region: Region; n: number } | { ok: false; region: Region; err: unknown };

/** A block read and posted to the chunking worker, whose chunks are not offered yet. */
interface Posted { block: Block; buf: Buffer; cuts: Promise<BlockCuts> }

/**
 * Reads to the end; pushes chunk hashes to `hashes`; returns the bytes read, or -1 after a warning.
 * Blocks come from the run's pool (ctx.pool); the next block is read ahead
 * only when one is free right away, since waiting for one while this file
 * holds the chunker's unfinished piece could deadlock a small pool.
 * With the native addon (ctx.native), nothing is chunked or hashed on this
 * thread: a file read whole in its first block is cut and hashed in one call;
 * a longer one goes through a native stream on libuv's thread pool. Without
 * it, a file of at least one block is chunked and hashed by the worker
 * (ctx.worker) when there is one. Either way block N is hashed off this
 * thread while block N+1 is read and the chunks of block N-1 go to the uploader.
 */
async function readChunks(ctx: RunContext, fh: FileHandle, st: BigIntStats, hashes: HashSink, abs: Buffer): Promise<number> {
  const expected = Number(st.size);
  const pool = ctx.pool;
  const chunker = new Chunker();
  const hint = new CompressHint();
  const native = ctx.native;
  // The native stream is opened at the first block, once it is known that the file does not fit in it.
  let stream: HashStream | null = !native && ctx.worker && expected >= pool.blockSize ? ctx.worker.open() : null;
  // Read alongside other files (walker.ts): this one must not wait for a block while holding one.
  const shared = expected < pool.blockSize && st.nlink <= 1n;
  // Asking one byte past the expected size makes the end of a file show as a short read (no extra read).
  const want = (at: number) => Math.min(pool.blockSize, at < expected ? expected - at + 1 : MIN_READ);
  const readInto = (region: Region, at: number): Promise<Read> =>
    fh.read(region.buf, 0, region.buf.length, at).then((r) => ({ ok: true as const, region, n: r.bytesRead }), (err: unknown) => ({ ok: false as const, region, err }));
  /** Blocks whose bytes the chunker may still hold (pieces of the unfinished chunk): one reference each. */
  let held: Block[] = [];
  /** Blocks with the worker (each holds its reference until its chunks are offered). */
  const posted: Posted[] = [];
  /** Offers the chunks of the oldest posted block. */
  const offerPosted = async (): Promise<void> => {
    const p = posted[0]!;
    const cuts = await p.cuts;
    posted.shift();
    held.push(p.block);
    // A chunk spanning blocks is copied into a pool region when one is free (no fresh Buffer to collect).
    let joined: Region | null = null;
    const chunks = chunker.pushCuts(p.buf, cuts.ends, (n) => {
      joined = n <= pool.blockSize ? pool.tryTake(n) : null;
      return joined ? joined.buf : Buffer.allocUnsafe(n);
    });
    const jb = (joined as Region | null)?.block ?? null;
    try {
      for (let k = 0; k < chunks.length; k++) {
        const c = chunks[k]!;
        await offerHashed(ctx, c, cuts.hashes.subarray(32 * k, 32 * k + 32), hashes, hint, jb && c.buffer === jb.buf.buffer ? jb : p.block);
      }
    } finally {
      jb?.release(); // the chunk took its own reference
    }
    if (chunks.length) held = keepLast(held);
    if (chunker.pending === 0) held = keepLast(held, 0);
  };
  let pos = 0;
  let next: Promise<Read> | null = readInto(await pool.take(want(0), ctx.signal), 0);
  try {
    while (next) {
      const r: Read = await next;
      next = null;
      if (!r.ok) {
        r.region.block.release();
        warnFile(ctx, abs, r.err, 'read');
        return -1;
      }
      pool.shrink(r.region, r.n);
      if (r.n === 0) {
        r.region.block.release();
        break;
      }
      pos += r.n;
      // A short read of a regular file means end of file.
      const more = r.n === r.region.buf.length;
      const buf = r.region.buf.subarray(0, r.n);
      if (native && !stream) {
        if (!more && pos === r.n) {
          // The whole file is in this block: cut and hash it in one call.
          held.push(r.region.block);
          await offerWhole(ctx, buf, r.region.block, r.n < NATIVE_ASYNC_MIN ? native.cutAll(buf) : await native.cutAllAsync(buf), hashes, hint);
          ctx.counters.bytesScanned += r.n;
          report(ctx);
          return pos;
        }
        stream = native.open();
      }
      if (stream) posted.push({ block: r.region.block, buf, cuts: stream.push(buf) });
      if (more) {
        const ahead = pool.tryTake(want(pos));
        if (ahead) next = readInto(ahead, pos);
      }
      if (stream) {
        // The newest block stays with the worker while the next one is read; older ones are offered.
        while (posted.length > (next ? 1 : 0)) await offerPosted();
      } else {
        held.push(r.region.block);
        const chunks = chunker.push(buf);
        for (const c of chunks) await offer(ctx, c, hashes, hint, r.region.block);
        // (Released only now: the chunks above took their own references first.)
        // The first chunk cut joined (copied) every earlier piece: only this block can still be held.
        if (chunks.length) held = keepLast(held);
        if (chunker.pending === 0) held = keepLast(held, 0);
      }
      ctx.counters.bytesScanned += r.n;
      checkAborted(ctx.signal);
      if (more && !next) next = readInto(shared && held.length ? pool.tryTake(want(pos)) ?? pool.standalone(want(pos)) : await pool.take(want(pos), ctx.signal), pos);
      report(ctx);
    }
    while (posted.length) await offerPosted();
    const last = chunker.finish();
    if (stream) {
      const h = await stream.finish();
      if (last.length !== (h ? 1 : 0)) throw new Error(`chunking worker and reader disagree about the end of ${showPath(abs)}`);
      if (h) await offerHashed(ctx, last[0]!, h, hashes, hint, held.at(-1) ?? null);
    } else {
      for (const c of last) await offer(ctx, c, hashes, hint, held.at(-1) ?? null);
    }
    return pos;
  } finally {
    if (next) await next.then((r) => r.region.block.release());
    // Blocks still with the worker are released once it is done with them (it reads them in place).
    for (const p of posted) void p.cuts.then(() => p.block.release(), () => p.block.release());
    for (const b of held) b.release();
  }
}

/** Offers the chunks of a whole file cut in one go (`cuts` covers all of `buf`: the last chunk included). */
async function offerWhole(ctx: RunContext, buf: Buffer, block: Block, cuts: BlockCuts, hashes: HashSink, hint: CompressHint): Promise<void> {
  let start = 0;
  const { ends, hashes: digests } = cuts;
  for (let k = 0; k < ends.length; k++) {
    const end = ends[k]!;
    await offerHashed(ctx, buf.subarray(start, end), digests.subarray(32 * k, 32 * k + 32), hashes, hint, block);
    start = end;
  }
  if (start !== buf.length) throw new Error(`chunked ${start} of the ${buf.length} bytes read`);
}

/** Releases all but the last `keep` (1 or 0) blocks of `held`; returns what is kept. */
function keepLast(held: Block[], keep = 1): Block[] {
  const cut = Math.max(0, held.length - keep);
  for (let i = 0; i < cut; i++) held[i]!.release();
  return held.slice(cut);
}

/** Hashes and offers one chunk; a chunk that is a view into `block` holds a reference to it until the uploader is done with it. */
function offer(ctx: RunContext, chunk: Buffer, hashes: HashSink, hint: CompressHint, block: Block | null): Promise<void> {
  return offerHashed(ctx, chunk, sha256(chunk), hashes, hint, block);
}

/** Offers one chunk whose hash is known. */
async function offerHashed(ctx: RunContext, chunk: Buffer, h: Buffer, hashes: HashSink, hint: CompressHint, block: Block | null): Promise<void> {
  hashes.push(h);
  if (block && chunk.buffer === block.buf.buffer) {
    block.retain();
    await ctx.uploader.add(h, chunk, hint, block);
  } else {
    await ctx.uploader.add(h, chunk, hint);
  }
}

export function warnFile(ctx: RunContext, abs: Buffer, e: unknown, what: string): void {
  const code = errCode(e);
  const p = showPath(abs);
  if (code === 'ENOENT') ctx.warnings.add(`${p}: vanished during the backup; skipped`);
  else if (code === 'EACCES' || code === 'EPERM') ctx.warnings.add(`${p}: permission denied (${what}); skipped`);
  else if (code === 'ELOOP') ctx.warnings.add(`${p}: became a symbolic link during the backup; skipped`);
  else ctx.warnings.add(`${p}: cannot ${what}: ${(e as Error).message}; skipped`);
}
