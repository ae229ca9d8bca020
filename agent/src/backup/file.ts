/**
 * Reading one new or changed file: blocks are read ahead (one read in flight
 * while the previous block is chunked and hashed), chunked, hashed and offered
 * to the uploader. Problems with this one file become warnings, not failures.
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

/** Reads to the end; pushes chunk hashes to `hashes`; returns the bytes read, or -1 after a warning. */
async function readChunks(ctx: RunContext, fh: FileHandle, st: BigIntStats, hashes: Buffer[], abs: Buffer): Promise<number> {
  const expected = Number(st.size);
  const block = ctx.tuning.readBlock;
  const chunker = new Chunker();
  const hint = new CompressHint();
  let pos = 0;
  const want = (at: number) => (at < expected ? Math.min(block, expected - at + 1) : Math.min(block, MIN_READ));
  type Read = { ok: true; buf: Buffer; n: number; asked: number } | { ok: false; err: unknown };
  const readAt = (at: number): Promise<Read> => {
    const n = want(at);
    const buf = Buffer.allocUnsafe(n);
    return fh.read(buf, 0, n, at).then((r) => ({ ok: true as const, buf, n: r.bytesRead, asked: n }), (err: unknown) => ({ ok: false as const, err }));
  };
  let next: Promise<Read> | null = readAt(0);
  while (next) {
    const r: Read = await next;
    next = null;
    if (!r.ok) {
      warnFile(ctx, abs, r.err, 'read');
      return -1;
    }
    if (r.n === 0) break;
    pos += r.n;
    // A short read of a regular file means end of file; otherwise keep one read ahead.
    if (r.n === r.asked) next = readAt(pos);
    try {
      for (const c of chunker.push(r.buf.subarray(0, r.n))) await offer(ctx, c, hashes, hint);
      ctx.counters.bytesScanned += r.n;
      checkAborted(ctx.signal);
    } catch (e) {
      if (next) await next;
      throw e;
    }
    report(ctx);
  }
  for (const c of chunker.finish()) await offer(ctx, c, hashes, hint);
  return pos;
}

async function offer(ctx: RunContext, chunk: Buffer, hashes: Buffer[], hint: CompressHint): Promise<void> {
  const h = sha256(chunk);
  hashes.push(h);
  await ctx.uploader.add(h, chunk, hint);
}

export function warnFile(ctx: RunContext, abs: Buffer, e: unknown, what: string): void {
  const code = errCode(e);
  const p = showPath(abs);
  if (code === 'ENOENT') ctx.warnings.add(`${p}: vanished during the backup; skipped`);
  else if (code === 'EACCES' || code === 'EPERM') ctx.warnings.add(`${p}: permission denied (${what}); skipped`);
  else if (code === 'ELOOP') ctx.warnings.add(`${p}: became a symbolic link during the backup; skipped`);
  else ctx.warnings.add(`${p}: cannot ${what}: ${(e as Error).message}; skipped`);
}
