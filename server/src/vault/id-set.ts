/**
 * The chunk ids one point references, collected in flat memory (32 bytes per
 * reference, no object per id) and turned into the sorted, distinct list of
 * its refs object. A point's refs object holds at most MAX_POINT_CHUNKS ids
 * (docs/vault-format.md §10).
 */
import { CHUNK_ID_BYTES, MAX_OBJECT_PAYLOAD } from './format.js';

/** Distinct chunks one point may reference in format version 1 (its refs payload must fit one object). */
export const MAX_POINT_CHUNKS = Math.floor((MAX_OBJECT_PAYLOAD - 4) / CHUNK_ID_BYTES);

export class IdList {
  private buf = Buffer.allocUnsafe(CHUNK_ID_BYTES * 4096);
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(id: Buffer): void {
    if ((this.n + 1) * CHUNK_ID_BYTES > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.n * CHUNK_ID_BYTES);
      this.buf = bigger;
    }
    id.copy(this.buf, this.n * CHUNK_ID_BYTES);
    this.n++;
  }

  /** The refs payload: count u32, then the ids sorted and de-duplicated. */
  toRefsPayload(): { payload: Buffer; count: number } {
    const W = CHUNK_ID_BYTES;
    const b = this.buf;
    const order = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    order.sort((x, y) => b.compare(b, y * W, y * W + W, x * W, x * W + W));
    const out = Buffer.allocUnsafe(4 + this.n * W);
    let count = 0;
    for (let i = 0; i < this.n; i++) {
      const at = order[i] * W;
      if (count > 0 && b.compare(out, 4 + (count - 1) * W, 4 + count * W, at, at + W) === 0) continue;
      b.copy(out, 4 + count * W, at, at + W);
      count++;
    }
    out.writeUInt32LE(count, 0);
    return { payload: out.subarray(0, 4 + count * W), count };
  }
}
