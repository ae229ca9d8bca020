/**
 * K-way merge of sorted record streams (index runs, ref lists, sorted spill
 * files). Each source yields batches of whole fixed-size records sorted by
 * their first 32 bytes. Equal keys come out newest source first (the source
 * with the highest index), so a consumer that keeps the first of equal keys
 * keeps the newest.
 */
import { HASH_SIZE } from './format.js';

interface Source {
  it: AsyncIterator<Buffer>;
  buf: Buffer;
  pos: number;
  index: number;
}

export class MergeCursor {
  private heap: Source[] = [];

  private constructor(private readonly recordSize: number) {}

  static async open(sources: Array<AsyncIterable<Buffer>>, recordSize: number): Promise<MergeCursor> {
    const c = new MergeCursor(recordSize);
    for (let i = 0; i < sources.length; i++) {
      const s: Source = { it: sources[i]![Symbol.asyncIterator](), buf: Buffer.alloc(0), pos: 0, index: i };
      if (await c.fill(s)) c.push(s);
    }
    return c;
  }

  /** Smallest current record's buffer and offset, or undefined at the end. */
  get done(): boolean {
    return this.heap.length === 0;
  }
  get buf(): Buffer {
    return this.heap[0]!.buf;
  }
  get pos(): number {
    return this.heap[0]!.pos;
  }
  /** Index (in the `sources` array) of the source of the current record. */
  get source(): number {
    return this.heap[0]!.index;
  }
  /** The current record (a view, valid until next()). */
  record(): Buffer {
    const s = this.heap[0]!;
    return s.buf.subarray(s.pos, s.pos + this.recordSize);
  }

  /** Compare the current key with `key`: <0 if current is smaller. */
  compareTo(key: Buffer, keyAt = 0): number {
    const s = this.heap[0]!;
    return s.buf.compare(key, keyAt, keyAt + HASH_SIZE, s.pos, s.pos + HASH_SIZE);
  }

  /** Advance past the current record. Returns a promise only when a source must be refilled. */
  next(): Promise<void> | undefined {
    const s = this.heap[0]!;
    s.pos += this.recordSize;
    if (s.pos < s.buf.length) {
      this.siftDown(0);
      return undefined;
    }
    return this.refillTop(s);
  }

  /** Advance until the current key is >= `key`. */
  async seek(key: Buffer, keyAt = 0): Promise<void> {
    while (!this.done && this.compareTo(key, keyAt) < 0) {
      const p = this.next();
      if (p) await p;
    }
  }

  private async refillTop(s: Source): Promise<void> {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      if (last !== s) this.siftDown(0);
    }
    if (await this.fill(s)) this.push(s);
  }

  private async fill(s: Source): Promise<boolean> {
    for (;;) {
      const r = await s.it.next();
      if (r.done) return false;
      if (r.value.length % this.recordSize !== 0) throw new Error('merge source yielded a partial record');
      if (r.value.length > 0) {
        s.buf = r.value;
        s.pos = 0;
        return true;
      }
    }
  }

  private less(a: Source, b: Source): boolean {
    const c = a.buf.compare(b.buf, b.pos, b.pos + HASH_SIZE, a.pos, a.pos + HASH_SIZE);
    return c < 0 || (c === 0 && a.index > b.index);
  }

  private push(s: Source): void {
    const h = this.heap;
    h.push(s);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  /** Stop all sources (closes generators early). */
  async close(): Promise<void> {
    for (const s of this.heap) await s.it.return?.();
    this.heap = [];
  }
}

/** One in-memory buffer of sorted records as a merge source. */
export async function* bufferSource(buf: Buffer): AsyncGenerator<Buffer> {
  if (buf.length > 0) yield buf;
}
