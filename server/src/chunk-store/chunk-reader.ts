/**
 * Reading chunks back: find the record (in a writer's buffer or the pack
 * file), check its crc, that it names the requested hash, decode it to
 * exactly rawSize bytes and compare the SHA-256. If the pack vanished (gc
 * moved the chunk meanwhile) the hash is looked up once more.
 *
 * One reader checks less: a restore's batch read (readStoredMany with
 * check 'record') checks the record (crc, the hash it names, lengths) but
 * neither decompresses nor hashes the data — the agent decompresses and
 * SHA-256s every chunk it receives, and that end-to-end check is the one a
 * restore relies on (docs/storage-format.md §5, rule 8b).
 */
import { checkChunkShape, decodeChunk, hex } from './codec.js';
import { ChunkCorruptError, ChunkNotFoundError, errnoCode, toStoreError } from './errors.js';
import { HASH_SIZE } from './format.js';
import type { ChunkIndex } from './chunk-index.js';
import type { Layout } from './layout.js';
import type { PackFiles } from './pack-reader.js';
import type { PackWriter } from './pack-writer.js';
import { decodeRecord } from './record.js';
import { Compression, type ChunkLocation } from './types.js';

/** Records at most this far apart are read together (the bytes between are read and dropped). */
const SPAN_GAP = 64 * 1024;
/** The most bytes one positioned read of readStoredMany covers. */
const SPAN_BYTES = 4 * 1024 * 1024;
/** Span reads in flight at once. */
const SPAN_READS = 4;

/**
 * How much a read checks. 'full': the record (crc, named hash, lengths), then
 * the data decoded to exactly rawSize bytes and its SHA-256 compared — what
 * every reader gets by default. 'record': the record only, no decompression
 * and no SHA-256; for a reader whose receiver verifies every chunk's SHA-256
 * itself (the restore: the agent does).
 */
export type ReadCheck = 'full' | 'record';

/** The stored form of a chunk, as read back. */
export interface Stored { compression: number; rawSize: number; data: Buffer }
export interface Inspected extends Stored { raw: Buffer }

/** The record checks of 'record': crc, named hash, lengths, a known compression. Returns the record or why it is damaged. */
function checkRecordOnly(hash: Buffer, loc: ChunkLocation, buf: Buffer): Stored | string {
  if (buf.length < loc.length) return `record truncated (pack ends ${loc.length - buf.length} bytes early)`;
  const rec = decodeRecord(buf, 0);
  if (typeof rec === 'string') return rec;
  if (!rec.hash.equals(hash)) return `record at offset ${loc.offset} holds chunk ${hex(rec.hash)}`;
  if (rec.length !== loc.length) return 'record length differs from the index';
  const bad = checkChunkShape(hash, rec.compression, rec.rawSize, rec.data);
  if (bad) return bad;
  if (rec.compression === Compression.None && rec.data.length !== rec.rawSize) return `raw size ${rec.data.length} differs from declared ${rec.rawSize}`;
  return { compression: rec.compression, rawSize: rec.rawSize, data: rec.data };
}

/** Checks the record bytes `buf` read at `loc` fully (see ChunkReader.inspect). */
function checkRecord(hash: Buffer, loc: ChunkLocation, buf: Buffer, storedOnly: boolean): Inspected | string {
  const rec = checkRecordOnly(hash, loc, buf);
  if (typeof rec === 'string') return rec;
  const raw = decodeChunk(hash, rec.compression, rec.rawSize, rec.data, storedOnly);
  if (typeof raw === 'string') return raw;
  return { compression: rec.compression, rawSize: rec.rawSize, data: rec.data, raw };
}

export class ChunkReader {
  constructor(
    private readonly layout: Layout,
    private readonly index: () => ChunkIndex,
    private readonly packFiles: PackFiles,
    /** Writers whose buffers may hold records not yet in the files. */
    private readonly writers: () => Array<PackWriter | undefined>,
  ) {}

  /**
   * Read the record at `loc` and check it fully; a string says why it is damaged. Throws fs errors (ENOENT).
   * `storedOnly`: the caller needs only the stored form; `raw` may then be a scratch buffer, valid until the next check.
   */
  async inspect(hash: Buffer, loc: ChunkLocation, storedOnly = false): Promise<Inspected | string> {
    const buf = this.buffered(loc) ?? await this.packFiles.read(loc.packId, loc.offset, loc.length);
    return checkRecord(hash, loc, buf, storedOnly);
  }

  private buffered(loc: ChunkLocation): Buffer | undefined {
    let buf: Buffer | undefined;
    for (const w of this.writers()) buf ??= w?.readBuffered(loc.packId, loc.offset, loc.length);
    return buf;
  }

  /**
   * The stored forms of many chunks, each checked as `check` says (by default
   * verified like read()): records that lie close together in one pack (as a
   * backup wrote them, and a restore asks for them) are read with one
   * positioned read of up to SPAN_BYTES instead of one each. Order is kept.
   * Anything unusual (not indexed, still in a writer's buffer, pack gone) and
   * any record failing its checks goes through read() one by one, which
   * checks fully and names the damage.
   */
  async readStoredMany(hashes: Buffer[], check: ReadCheck = 'full'): Promise<Stored[]> {
    const out = new Array<Stored>(hashes.length);
    const single: number[] = [];
    const byPack = new Map<number, { i: number; loc: ChunkLocation }[]>();
    for (let i = 0; i < hashes.length; i++) {
      const loc = hashes[i]!.length === HASH_SIZE ? this.index().lookup(hashes[i]!) : undefined;
      if (!loc || this.writers().some((w) => w?.holds(loc.packId, loc.offset, loc.length))) {
        single.push(i);
        continue;
      }
      let list = byPack.get(loc.packId);
      if (!list) byPack.set(loc.packId, (list = []));
      list.push({ i, loc });
    }
    const spans: { packId: number; start: number; end: number; items: { i: number; loc: ChunkLocation }[] }[] = [];
    for (const [packId, list] of byPack) {
      list.sort((a, b) => a.loc.offset - b.loc.offset);
      let cur: (typeof spans)[number] | null = null;
      for (const it of list) {
        const end = it.loc.offset + it.loc.length;
        if (cur && it.loc.offset >= cur.start && it.loc.offset <= cur.end + SPAN_GAP && Math.max(cur.end, end) - cur.start <= SPAN_BYTES) {
          cur.end = Math.max(cur.end, end);
          cur.items.push(it);
        } else {
          cur = { packId, start: it.loc.offset, end, items: [it] };
          spans.push(cur);
        }
      }
    }
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next < spans.length) {
        const sp = spans[next++]!;
        let buf: Buffer;
        try {
          buf = await this.packFiles.read(sp.packId, sp.start, sp.end - sp.start);
        } catch {
          for (const it of sp.items) single.push(it.i); // read() names the error (or finds the chunk moved)
          continue;
        }
        for (const it of sp.items) {
          const at = it.loc.offset - sp.start;
          const rec = buf.subarray(at, Math.min(buf.length, at + it.loc.length));
          const r = check === 'full' ? checkRecord(hashes[it.i]!, it.loc, rec, true) : checkRecordOnly(hashes[it.i]!, it.loc, rec);
          if (typeof r === 'string') single.push(it.i); // read() re-reads it once and reports the damage
          else out[it.i] = r;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SPAN_READS, spans.length) }, reader));
    for (const i of single) {
      const r = await this.read(hashes[i]!, true);
      out[i] = { compression: r.compression, rawSize: r.rawSize, data: r.data };
    }
    return out;
  }

  /** The verified chunk, or ChunkNotFoundError / ChunkCorruptError naming store, digest and pack. */
  async read(hash: Buffer, storedOnly = false): Promise<Inspected> {
    const digest = hash.length === HASH_SIZE ? hex(hash) : `(invalid ${hash.length}-byte hash)`;
    for (let attempt = 0; ; attempt++) {
      const loc = hash.length === HASH_SIZE ? this.index().lookup(hash) : undefined;
      if (!loc) throw new ChunkNotFoundError(this.layout.dir, digest);
      let r: Inspected | string;
      try {
        r = await this.inspect(hash, loc, storedOnly);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') {
          if (attempt === 0) continue;
          throw new ChunkNotFoundError(this.layout.dir, digest, this.layout.packLabel(loc.packId));
        }
        throw toStoreError(err, this.layout.dir, `reading chunk ${digest}`);
      }
      if (typeof r === 'string') throw new ChunkCorruptError(this.layout.dir, digest, this.layout.packLabel(loc.packId), r);
      return r;
    }
  }

  /**
   * For verify: undefined if intact, null if no longer stored (removed by
   * gc meanwhile), else the reason it is damaged.
   */
  async check(hash: Buffer, loc: ChunkLocation): Promise<string | undefined | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.inspect(hash, loc);
        return typeof r === 'string' ? r : undefined;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') return `unreadable: ${(err as Error).message}`;
        const now = this.index().lookup(hash);
        if (!now) return null;
        if (attempt > 0 || (now.packId === loc.packId && now.offset === loc.offset)) return 'pack file missing';
        loc = now;
      }
    }
  }
}
