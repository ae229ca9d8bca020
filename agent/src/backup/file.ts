/**
 * Reading one new or changed file: blocks of the run's pool are read (one
 * read ahead while the previous block is chunked and hashed), chunked, hashed
 * and offered to the uploader as views into the blocks (no copy). Problems with this one file become warnings, not failures.
 */
import { constants, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { EntryType, type Entry } from '@strata/protocol';
import { Chunker } from '../chunker/index.js';
import { showPath } from '../util/bytes.js';
import { checkAborted, errCode } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { markRacy, statEntry } from './entry.js';
import { report, type RunContext } from './context.js';
import { CompressHint } from './uploader.js';
import type { Block, Region } from '../util/pool.js';

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
  let fh: FileHandle;
  try {
    fh = await openForRead(abs);
  } catch (e) {
    warnFile(ctx, abs, e, 'open');
    return null;
  }
  try {
    const hashes: Buffer[] = [];
    const size = await readChunks(ctx, fh, lst, hashes, abs);
    if (size < 0) return null;
    const after = await fh.stat({ bigint: true });
    const same = after.ino === lst.ino && after.dev === lst.dev && after.size === lst.size
      && after.mtimeNs === lst.mtimeNs && after.ctimeNs === lst.ctimeNs && BigInt(size) === lst.size;
    const entry = statEntry(name, EntryType.File, same ? lst : after);
    entry.chunks = hashes;
    entry.size = size;
    if (!same) {
      ctx.warnings.add(`${showPath(abs)}: changed while being read; the backup holds the ${size} bytes that were read`);
      entry.ctimeSec = 0;
      entry.ctimeNsec = 0;
    } else {
      markRacy(entry, Date.now(), ctx.racyWindowMs);
    }
    return entry;
  } finally {
    fh.close().catch(() => {});
  }
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

/**
 * Reads to the end; pushes chunk hashes to `hashes`; returns the bytes read, or -1 after a warning.
 * Blocks come from the run's pool (ctx.pool); the next block is read ahead
 * only when one is free right away, since waiting for one while this file
 * holds the chunker's unfinished piece could deadlock a small pool.
 */
async function readChunks(ctx: RunContext, fh: FileHandle, st: BigIntStats, hashes: Buffer[], abs: Buffer): Promise<number> {
  const expected = Number(st.size);
  const pool = ctx.pool;
  const chunker = new Chunker();
  const hint = new CompressHint();
  // Read alongside other files (walker.ts): this one must not wait for a block while holding one.
  const shared = expected < pool.blockSize && st.nlink <= 1n;
  // Asking one byte past the expected size makes the end of a file show as a short read (no extra read).
  const want = (at: number) => Math.min(pool.blockSize, at < expected ? expected - at + 1 : MIN_READ);
  const readInto = (region: Region, at: number): Promise<Read> =>
    fh.read(region.buf, 0, region.buf.length, at).then((r) => ({ ok: true as const, region, n: r.bytesRead }), (err: unknown) => ({ ok: false as const, region, err }));
  /** Blocks whose bytes the chunker may still hold (pieces of the unfinished chunk): one reference each. */
  let held: Block[] = [];
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
      if (more) {
        const ahead = pool.tryTake(want(pos));
        if (ahead) next = readInto(ahead, pos);
      }
      held.push(r.region.block);
      const chunks = chunker.push(r.region.buf.subarray(0, r.n));
      for (const c of chunks) await offer(ctx, c, hashes, hint, r.region.block);
      // (Released only now: the chunks above took their own references first.)
      // The first chunk cut joined (copied) every earlier piece: only this block can still be held.
      if (chunks.length) held = keepLast(held);
      if (chunker.pending === 0) held = keepLast(held, 0);
      ctx.counters.bytesScanned += r.n;
      checkAborted(ctx.signal);
      if (more && !next) next = readInto(shared && held.length ? pool.tryTake(want(pos)) ?? pool.standalone(want(pos)) : await pool.take(want(pos), ctx.signal), pos);
      report(ctx);
    }
    const last = chunker.finish();
    for (const c of last) await offer(ctx, c, hashes, hint, held.at(-1) ?? null);
    return pos;
  } finally {
    if (next) await next.then((r) => r.region.block.release());
    for (const b of held) b.release();
  }
}

/** Releases all but the last `keep` (1 or 0) blocks of `held`; returns what is kept. */
function keepLast(held: Block[], keep = 1): Block[] {
  const cut = Math.max(0, held.length - keep);
  for (let i = 0; i < cut; i++) held[i]!.release();
  return held.slice(cut);
}

/** Hashes and offers one chunk; a chunk that is a view into `block` holds a reference to it until the uploader is done with it. */
async function offer(ctx: RunContext, chunk: Buffer, hashes: Buffer[], hint: CompressHint, block: Block | null): Promise<void> {
  const h = sha256(chunk);
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
