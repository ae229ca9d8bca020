/**
 * Sorted tables: the file format shared by index runs and ref lists.
 *
 *   header (64 bytes) | fanout: (2^bits + 1) × u32 | count × recordSize records
 *
 * Records are unique and sorted by their first 32 bytes (a SHA-256). The
 * fanout gives, for each value of the hash's top `bits` bits, the index of the
 * first record in that bucket, so a lookup reads one bucket (~32 records).
 * Lookups use synchronous positioned reads: buckets are small and normally
 * in the page cache, and a synchronous pread costs microseconds where an
 * async one costs a thread-pool round trip.
 */
import { closeSync, fstatSync, openSync, read, readSync, promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { renameDurable, tempPathFor, writeAll } from '../util/durable.js';
import { StoreFormatError } from './errors.js';
import { FANOUT_TARGET_BUCKET, HASH_SIZE, MAX_FANOUT_BITS, TABLE_HEADER_SIZE, TABLE_VERSION } from './format.js';

const WRITE_PIECE = 1 << 20;
const readAsync = promisify(read);

export function fanoutBitsFor(count: number): number {
  let bits = 0;
  while (bits < MAX_FANOUT_BITS && count / 2 ** bits > FANOUT_TARGET_BUCKET) bits++;
  return bits;
}

/** Top `bits` bits of a hash stored at `buf[at]`. */
export function bucketOf(buf: Uint8Array, at: number, bits: number): number {
  if (bits === 0) return 0;
  const top = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
  return top >>> (24 - bits);
}

/**
 * Streams sorted unique records into a new table file. The file appears at
 * `path` (durably) only when finish() resolves; abort() removes the temp file.
 */
export class TableWriter {
  private readonly tmp: string;
  private fh!: fsp.FileHandle;
  private readonly bits: number;
  private readonly fanoutCounts: Uint32Array;
  private readonly piece: Buffer;
  private fill = 0;
  private pos: number;
  private count = 0;
  private crc = 0;
  private readonly last: Buffer = Buffer.alloc(HASH_SIZE);

  private constructor(readonly path: string, readonly magic: Buffer, readonly recordSize: number, expectedCount: number) {
    this.tmp = tempPathFor(path);
    this.bits = fanoutBitsFor(expectedCount);
    this.fanoutCounts = new Uint32Array(2 ** this.bits);
    this.pos = TABLE_HEADER_SIZE + (2 ** this.bits + 1) * 4;
    this.piece = Buffer.allocUnsafe(Math.max(WRITE_PIECE - (WRITE_PIECE % recordSize), recordSize));
  }

  /** `expectedCount` is an upper bound of the records to come; it sizes the fanout. */
  static async create(path: string, magic: Buffer, recordSize: number, expectedCount: number): Promise<TableWriter> {
    const w = new TableWriter(path, magic, recordSize, expectedCount);
    w.fh = await fsp.open(w.tmp, 'wx', 0o640);
    return w;
  }

  get written(): number {
    return this.count;
  }

  /**
   * Append one record (`recordSize` bytes at `src[at]`); keys must strictly
   * increase. Returns a promise only when a buffered piece is written out.
   */
  add(src: Buffer, at = 0): Promise<void> | undefined {
    const last = this.last;
    if (this.count > 0) {
      let c = 0;
      for (let i = 0; i < HASH_SIZE && c === 0; i++) c = src[at + i]! - last[i]!;
      if (c <= 0) throw new Error(`table ${this.path}: records out of order`);
    }
    for (let i = 0; i < HASH_SIZE; i++) last[i] = src[at + i]!;
    this.fanoutCounts[bucketOf(src, at, this.bits)]!++;
    const piece = this.piece;
    const fill = this.fill;
    for (let i = 0; i < this.recordSize; i++) piece[fill + i] = src[at + i]!;
    this.fill += this.recordSize;
    this.count++;
    return this.fill + this.recordSize > piece.length ? this.spill() : undefined;
  }

  private async spill(): Promise<void> {
    if (this.fill === 0) return;
    const data = this.piece.subarray(0, this.fill);
    this.crc = crc32(data, this.crc);
    await writeAll(this.fh, data, this.pos);
    this.pos += this.fill;
    this.fill = 0;
  }

  async finish(): Promise<{ count: number; bytes: number }> {
    await this.spill();
    const fanout = Buffer.alloc((2 ** this.bits + 1) * 4);
    let acc = 0;
    for (let b = 0; b < this.fanoutCounts.length; b++) {
      fanout.writeUInt32LE(acc, b * 4);
      acc += this.fanoutCounts[b]!;
    }
    fanout.writeUInt32LE(acc, this.fanoutCounts.length * 4);
    const header = Buffer.alloc(TABLE_HEADER_SIZE);
    this.magic.copy(header, 0);
    header.writeUInt16LE(TABLE_VERSION, 8);
    header.writeUInt16LE(TABLE_HEADER_SIZE, 10);
    header.writeUInt16LE(this.recordSize, 12);
    header[14] = this.bits;
    header.writeBigUInt64LE(BigInt(this.count), 16);
    header.writeUInt32LE(this.crc, 24);
    header.writeUInt32LE(crc32(fanout), 28);
    header.writeUInt32LE(crc32(header.subarray(0, 60)), 60);
    await writeAll(this.fh, header, 0);
    await writeAll(this.fh, fanout, TABLE_HEADER_SIZE);
    await this.fh.sync();
    await this.fh.close();
    await renameDurable(this.tmp, this.path);
    return { count: this.count, bytes: this.pos };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.tmp, { force: true });
  }
}

/** Read access to one table file. Not safe to use after close(). */
/**
 * Small tables (index runs, ref lists) are kept in memory whole, within one
 * process-wide budget: a restore or commit looks up every chunk, and a system
 * call per lookup cost more than the hashing. Bigger tables, or tables past the
 * budget, are searched with positioned reads, so memory stays bounded whatever
 * the chunk count. Tables are immutable once written, so the copy cannot go stale.
 */
const RESIDENT_MAX_TABLE = 16 << 20;
const RESIDENT_BUDGET = 96 << 20;
const resident = { used: 0 };

export class TableReader {
  private fanout: Uint32Array | undefined;
  private readonly fanoutAt = TABLE_HEADER_SIZE;
  private readonly recordsAt: number;
  private readonly scratch = Buffer.allocUnsafe(8);
  private users = 0;
  private closeWhenIdle = false;
  private closed = false;
  /** The records, when the table is small enough to keep in memory (lookups then cost no system call). */
  private records: Buffer | undefined;

  private constructor(
    readonly path: string, private readonly fd: number, readonly recordSize: number,
    readonly bits: number, readonly count: number, private readonly recordsCrc: number, readonly bytes: number,
  ) {
    this.recordsAt = TABLE_HEADER_SIZE + (2 ** bits + 1) * 4;
  }

  /**
   * Open and validate the header (magic, version, sizes, checksums of header
   * and fanout). The fanout is kept in memory when it is at most `fanoutCacheBytes`.
   */
  static open(storeDir: string, path: string, magic: Buffer, recordSize: number, fanoutCacheBytes: number): TableReader {
    const fd = openSync(path, 'r');
    try {
      const h = Buffer.alloc(TABLE_HEADER_SIZE);
      const fail = (why: string): never => { throw new StoreFormatError(storeDir, path, why); };
      if (readSync(fd, h, 0, h.length, 0) !== h.length) fail('file shorter than its header');
      if (!h.subarray(0, 8).equals(magic)) fail('bad magic');
      if (h.readUInt32LE(60) !== crc32(h.subarray(0, 60))) fail('header checksum mismatch');
      if (h.readUInt16LE(8) !== TABLE_VERSION) fail(`unsupported version ${h.readUInt16LE(8)}`);
      if (h.readUInt16LE(10) !== TABLE_HEADER_SIZE || h.readUInt16LE(12) !== recordSize) fail('unexpected header or record size');
      const bits = h[14]!;
      if (bits > MAX_FANOUT_BITS) fail(`fanout bits ${bits} out of range`);
      const count = Number(h.readBigUInt64LE(16));
      const bytes = TABLE_HEADER_SIZE + (2 ** bits + 1) * 4 + count * recordSize;
      if (fstatSync(fd).size !== bytes) fail(`size ${fstatSync(fd).size} differs from the ${bytes} bytes its header declares`);
      const r = new TableReader(path, fd, recordSize, bits, count, h.readUInt32LE(24), bytes);
      const fanoutBytes = (2 ** bits + 1) * 4;
      if (fanoutBytes <= fanoutCacheBytes) {
        const f = Buffer.allocUnsafe(fanoutBytes);
        readSync(fd, f, 0, fanoutBytes, TABLE_HEADER_SIZE);
        if (crc32(f) !== h.readUInt32LE(28)) fail('fanout checksum mismatch');
        r.fanout = new Uint32Array(f.buffer, f.byteOffset, fanoutBytes / 4).slice();
      }
      const recordBytes = count * recordSize;
      if (r.fanout && recordBytes <= RESIDENT_MAX_TABLE && resident.used + recordBytes <= RESIDENT_BUDGET) {
        const recs = Buffer.allocUnsafe(recordBytes);
        if (readSync(fd, recs, 0, recordBytes, r.recordsAt) !== recordBytes) fail('file shorter than its records');
        if (crc32(recs) !== r.recordsCrc) fail('records checksum mismatch');
        r.records = recs;
        resident.used += recordBytes;
      }
      return r;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private bucketRange(bucket: number): [number, number] {
    if (this.fanout) return [this.fanout[bucket]!, this.fanout[bucket + 1]!];
    readSync(this.fd, this.scratch, 0, 8, this.fanoutAt + bucket * 4);
    return [this.scratch.readUInt32LE(0), this.scratch.readUInt32LE(4)];
  }

  /** The record whose key is `key`, copied, or undefined. */
  find(key: Buffer): Buffer | undefined {
    const at = this.search(key);
    return at < 0 ? undefined : Buffer.from(this.hit.subarray(at, at + this.recordSize));
  }

  /** Whether a record has the key `key` (find() without the copy: ref-list membership asks this per chunk). */
  has(key: Buffer): boolean {
    return this.search(key) >= 0;
  }

  /** Bytes the last search() looked in (the resident records or a fresh read of one bucket). */
  private hit: Buffer = Buffer.alloc(0);

  /** Offset in `this.hit` of the record whose key is `key`, or -1. */
  private search(key: Buffer): number {
    if (this.count === 0) return -1;
    const [lo0, hi0] = this.bucketRange(bucketOf(key, 0, this.bits));
    if (hi0 <= lo0) return -1;
    const n = hi0 - lo0;
    let buf: Buffer;
    let base = 0;
    if (this.records) {
      buf = this.records;
      base = lo0 * this.recordSize;
    } else {
      buf = Buffer.allocUnsafe(n * this.recordSize);
      readSync(this.fd, buf, 0, buf.length, this.recordsAt + lo0 * this.recordSize);
    }
    this.hit = buf;
    // The first four key bytes decide almost every comparison in a bucket (its records share
    // only the top `bits` bits); comparing them in JS saves a native call per step.
    const k0 = key.readUInt32BE(0);
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = base + mid * this.recordSize;
      const r0 = buf.readUInt32BE(at);
      const c = r0 !== k0 ? (r0 < k0 ? -1 : 1) : buf.compare(key, 0, HASH_SIZE, at, at + HASH_SIZE);
      if (c === 0) return at;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * All records in key order, as batches of whole records (views valid until
   * the next batch). Throws StoreFormatError at the end if the records'
   * checksum does not match.
   */
  async *batches(storeDir: string, batchBytes = 1 << 20): AsyncGenerator<Buffer> {
    const per = Math.max(1, Math.floor(batchBytes / this.recordSize));
    const buf = Buffer.allocUnsafe(per * this.recordSize);
    let crc = 0;
    for (let i = 0; i < this.count; i += per) {
      const len = Math.min(per, this.count - i) * this.recordSize;
      const { bytesRead } = await readAsync(this.fd, buf, 0, len, this.recordsAt + i * this.recordSize);
      if (bytesRead !== len) throw new StoreFormatError(storeDir, this.path, 'file shrank while reading');
      const view = buf.subarray(0, len);
      crc = crc32(view, crc);
      yield view;
    }
    if (crc !== this.recordsCrc) throw new StoreFormatError(storeDir, this.path, 'records checksum mismatch');
  }

  /** Keep the descriptor open across close() until release() (for long iterations). */
  retain(): void {
    this.users++;
  }

  release(): void {
    this.users--;
    if (this.closeWhenIdle && this.users === 0) this.close();
  }

  /** Close now, or once the last retain() is released. */
  close(): void {
    if (this.closed) return;
    if (this.users > 0) {
      this.closeWhenIdle = true;
      return;
    }
    this.closed = true;
    if (this.records) {
      resident.used -= this.records.length;
      this.records = undefined;
    }
    closeSync(this.fd);
  }
}
