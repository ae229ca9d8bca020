/**
 * Sorting fixed-size records by their leading SHA-256, in memory and (for
 * inputs larger than one batch) with sorted spill files merged at the end.
 * Used to write ref lists and to rebuild the index from packs.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeAll } from '../util/durable.js';
import { HASH_SIZE } from './format.js';
import { MergeCursor } from './merge.js';

/** Compare the 32-byte keys at `a` and `b` in `buf` (plain JS: keys differ within a few bytes). */
function cmpKeys(buf: Buffer, a: number, b: number): number {
  for (let i = 0; i < HASH_SIZE; i++) {
    const d = buf[a + i]! - buf[b + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Sort `n` records of `size` bytes in `buf` by key and drop duplicate keys,
 * keeping the LAST occurrence of each key (input order = age). Returns a new
 * buffer. Bucket sort on the top bits (hashes are uniform, so buckets hold ~2
 * records), then a stable insertion sort inside each bucket.
 */
export function sortRecords(buf: Buffer, size: number, n = buf.length / size): Buffer {
  let bits = 1;
  while (bits < 22 && n / 2 ** bits > 2) bits++;
  const shift = 24 - bits;
  const bucket = (i: number): number => (((buf[i * size]! << 16) | (buf[i * size + 1]! << 8) | buf[i * size + 2]!) >>> shift);
  const counts = new Uint32Array(2 ** bits + 1);
  for (let i = 0; i < n; i++) counts[bucket(i) + 1]!++;
  for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
  const order = new Uint32Array(n);
  const next = counts.slice();
  for (let i = 0; i < n; i++) order[next[bucket(i)]!++] = i;
  for (let b = 0; b < 2 ** bits; b++) {
    const lo = counts[b]!;
    const hi = counts[b + 1]!;
    for (let i = lo + 1; i < hi; i++) {
      const v = order[i]!;
      let j = i - 1;
      while (j >= lo && cmpKeys(buf, order[j]! * size, v * size) > 0) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = v;
    }
  }
  const out = Buffer.allocUnsafe(n * size);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const at = order[i]! * size;
    if (i + 1 < n && cmpKeys(buf, at, order[i + 1]! * size) === 0) continue;
    for (let k = 0; k < size; k++) out[o + k] = buf[at + k]!;
    o += size;
  }
  return out.subarray(0, o);
}

async function* fileSource(file: string, size: number): AsyncGenerator<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.floor((1 << 20) / size) * size);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      if (bytesRead % size !== 0) throw new Error(`spill file ${file} has a partial record`);
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Accepts records in any order and yields them sorted and de-duplicated
 * (the last added wins). Memory: one batch of `batchRecords` records; larger
 * inputs spill sorted runs to `tmpDir` and are merged.
 */
export class ExternalSorter {
  private batch: Buffer;
  private n = 0;
  private spills: string[] = [];
  private total = 0;

  constructor(private readonly tmpDir: string, private readonly size: number, private readonly batchRecords = 1 << 20) {
    this.batch = Buffer.allocUnsafe(Math.min(batchRecords, 4096) * size);
  }

  /** Upper bound of the records that sorted() will yield. */
  get count(): number {
    return this.total;
  }

  /** Add one record; returns a promise only when a full batch spills to disk. */
  add(src: Buffer, at = 0): Promise<void> | undefined {
    if ((this.n + 1) * this.size > this.batch.length) {
      if (this.n >= this.batchRecords) {
        return this.spill().then(() => { this.add(src, at); });
      }
      const bigger = Buffer.allocUnsafe(Math.min(this.batchRecords, this.n * 2) * this.size);
      this.batch.copy(bigger, 0, 0, this.n * this.size);
      this.batch = bigger;
    }
    src.copy(this.batch, this.n * this.size, at, at + this.size);
    this.n++;
    this.total++;
    return undefined;
  }

  private async spill(): Promise<void> {
    const sorted = sortRecords(this.batch, this.size, this.n);
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const file = path.join(this.tmpDir, `sort-${randomBytes(8).toString('hex')}.tmp`);
    const fh = await fsp.open(file, 'wx');
    try {
      await writeAll(fh, sorted, 0);
    } finally {
      await fh.close();
    }
    this.spills.push(file);
    this.n = 0;
  }

  /** Sorted unique records as batches (merge order: later input wins on equal keys). */
  async *sorted(): AsyncGenerator<Buffer> {
    const last = sortRecords(this.batch, this.size, this.n);
    if (this.spills.length === 0) {
      if (last.length > 0) yield last;
      return;
    }
    const sources: Array<AsyncIterable<Buffer>> = this.spills.map((f) => fileSource(f, this.size));
    sources.push((async function* () { if (last.length > 0) yield last; })());
    const cur = await MergeCursor.open(sources, this.size);
    const out = Buffer.allocUnsafe(Math.floor((1 << 20) / this.size) * this.size);
    let o = 0;
    const prev = Buffer.alloc(HASH_SIZE);
    let first = true;
    while (!cur.done) {
      if (first || cur.compareTo(prev) !== 0) {
        cur.buf.copy(prev, 0, cur.pos, cur.pos + HASH_SIZE);
        cur.buf.copy(out, o, cur.pos, cur.pos + this.size);
        o += this.size;
        first = false;
        if (o === out.length) {
          yield out;
          o = 0;
        }
      }
      const p = cur.next();
      if (p) await p;
    }
    if (o > 0) yield out.subarray(0, o);
  }

  /** Remove spill files. */
  async dispose(): Promise<void> {
    await Promise.all(this.spills.map((f) => fsp.rm(f, { force: true })));
    this.spills = [];
  }
}
