/**
 * Reading chunks back: find the record (in a writer's buffer or the pack
 * file), check its crc, that it names the requested hash, decode it to
 * exactly rawSize bytes and compare the SHA-256. If the pack vanished (gc
 * moved the chunk meanwhile) the hash is looked up once more.
 */
import { decodeChunk, hex } from './codec.js';
import { ChunkCorruptError, ChunkNotFoundError, errnoCode, toStoreError } from './errors.js';
import { HASH_SIZE } from './format.js';
import type { ChunkIndex } from './chunk-index.js';
import type { Layout } from './layout.js';
import type { PackFiles } from './pack-reader.js';
import type { PackWriter } from './pack-writer.js';
import { decodeRecord } from './record.js';
import type { ChunkLocation } from './types.js';

export interface Inspected { compression: number; rawSize: number; data: Buffer; raw: Buffer }

export class ChunkReader {
  constructor(
    private readonly layout: Layout,
    private readonly index: () => ChunkIndex,
    private readonly packFiles: PackFiles,
    /** Writers whose buffers may hold records not yet in the files. */
    private readonly writers: () => Array<PackWriter | undefined>,
  ) {}

  /** Read the record at `loc` and check it fully; a string says why it is damaged. Throws fs errors (ENOENT). */
  async inspect(hash: Buffer, loc: ChunkLocation): Promise<Inspected | string> {
    let buf: Buffer | undefined;
    for (const w of this.writers()) buf ??= w?.readBuffered(loc.packId, loc.offset, loc.length);
    buf ??= await this.packFiles.read(loc.packId, loc.offset, loc.length);
    if (buf.length < loc.length) return `record truncated (pack ends ${loc.length - buf.length} bytes early)`;
    const rec = decodeRecord(buf, 0);
    if (typeof rec === 'string') return rec;
    if (!rec.hash.equals(hash)) return `record at offset ${loc.offset} holds chunk ${hex(rec.hash)}`;
    if (rec.length !== loc.length) return 'record length differs from the index';
    const raw = decodeChunk(hash, rec.compression, rec.rawSize, rec.data);
    if (typeof raw === 'string') return raw;
    return { compression: rec.compression, rawSize: rec.rawSize, data: rec.data, raw };
  }

  /** The verified chunk, or ChunkNotFoundError / ChunkCorruptError naming store, digest and pack. */
  async read(hash: Buffer): Promise<Inspected> {
    const digest = hash.length === HASH_SIZE ? hex(hash) : `(invalid ${hash.length}-byte hash)`;
    for (let attempt = 0; ; attempt++) {
      const loc = hash.length === HASH_SIZE ? this.index().lookup(hash) : undefined;
      if (!loc) throw new ChunkNotFoundError(this.layout.dir, digest);
      let r: Inspected | string;
      try {
        r = await this.inspect(hash, loc);
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
