/**
 * Streaming content-defined chunker: FastCDC-style gear hash with normalized
 * chunking (docs/chunking.md). Boundaries depend only on the content, never on
 * how it is split into push() calls.
 *
 * Contract: push() takes ownership of the Buffer it is given. Returned chunks
 * are views into the pushed Buffers where a chunk lies inside one of them, and
 * a fresh copy only where a chunk spans two or more pushes; so the caller must
 * not reuse or modify a pushed Buffer afterwards (read each block into a new one).
 */
import { CHUNKER_V1, GEAR, checkParams, type ChunkerParams } from './params.js';

export class Chunker {
  private readonly min: number;
  private readonly normal: number;
  private readonly max: number;
  private readonly maskS: number;
  private readonly maskL: number;
  /** Pieces of the current, unfinished chunk from earlier pushes. */
  private parts: Buffer[] = [];
  /** Total length of `parts`. */
  private len = 0;
  /** Gear hash of the current chunk's bytes from minSize on. */
  private h = 0;

  constructor(params: ChunkerParams = CHUNKER_V1) {
    checkParams(params);
    this.min = params.minSize;
    this.normal = params.normalSize;
    this.max = params.maxSize;
    this.maskS = params.maskS | 0;
    this.maskL = params.maskL | 0;
  }

  /** Feeds the next bytes of the stream; returns the chunks completed by them (possibly none). */
  push(buf: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = buf.length;
    const G = GEAR;
    const min = this.min, normal = this.normal, max = this.max, mS = this.maskS, mL = this.maskL;
    let len = this.len; // bytes of the current chunk that precede buf[start]
    let start = 0;
    let i = 0;
    let h = this.h;
    for (;;) {
      let cur = len + i - start; // size of the current chunk up to (excluding) buf[i]
      if (cur < min) {
        const skip = min - cur;
        if (i + skip > n) { i = n; break; }
        i += skip;
        cur = min;
      }
      let cut = -1;
      if (cur < normal) {
        let end = i + (normal - cur);
        if (end > n) end = n;
        for (; i < end; i++) {
          h = ((h << 1) + G[buf[i]!]!) | 0;
          if ((h & mS) === 0) { cut = i + 1; break; }
        }
        if (cut < 0 && i === n) break;
        cur = len + i - start;
      }
      if (cut < 0) {
        let end = i + (max - cur);
        if (end > n) end = n;
        for (; i < end; i++) {
          h = ((h << 1) + G[buf[i]!]!) | 0;
          if ((h & mL) === 0) { cut = i + 1; break; }
        }
        if (cut < 0) {
          if (len + i - start < max) break; // buffer exhausted
          cut = i;
        }
      }
      const piece = buf.subarray(start, cut);
      out.push(len === 0 ? piece : this.joinWith(piece, len));
      len = 0;
      start = cut;
      i = cut;
      h = 0;
    }
    if (start < n) {
      this.parts.push(buf.subarray(start, n));
      len += n - start;
    }
    this.len = len;
    this.h = h;
    return out;
  }

  /**
   * Like push(), with the cut points already known (ends within `buf`, in
   * order, from a chunking worker: hash-worker.ts): returns the same chunks
   * push() would, as views or (spanning pushes) joined copies. The gear hash
   * is not computed; do not mix with push() on one stream. `alloc(n)`: where
   * a joined chunk (only ever the first one returned) is copied to; default a fresh Buffer.
   */
  pushCuts(buf: Buffer, ends: ArrayLike<number>, alloc?: (n: number) => Buffer): Buffer[] {
    const out: Buffer[] = [];
    let len = this.len;
    let start = 0;
    for (let k = 0; k < ends.length; k++) {
      const cut = ends[k]!;
      if (cut <= start || cut > buf.length) throw new RangeError(`chunk end ${cut} out of order in a ${buf.length}-byte block`);
      const piece = buf.subarray(start, cut);
      out.push(len === 0 ? piece : this.joinWith(piece, len, alloc));
      len = 0;
      start = cut;
    }
    if (start < buf.length) {
      this.parts.push(buf.subarray(start));
      len += buf.length - start;
    }
    this.len = len;
    return out;
  }

  /** Bytes of the unfinished chunk held (as views into earlier pushes) until a later push or finish(). */
  get pending(): number {
    return this.len;
  }

  /** Ends the stream: returns the last, possibly short, chunk (or nothing) and resets the chunker. */
  finish(): Buffer[] {
    if (this.len === 0) return [];
    const last = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.len);
    this.parts = [];
    this.len = 0;
    this.h = 0;
    return [last];
  }

  /** The earlier pieces plus `piece` as one Buffer: the only copy the chunker makes. */
  private joinWith(piece: Buffer, earlier: number, alloc?: (n: number) => Buffer): Buffer {
    const parts = this.parts;
    parts.push(piece);
    this.parts = [];
    if (!alloc) return Buffer.concat(parts, earlier + piece.length);
    const joined = alloc(earlier + piece.length);
    let at = 0;
    for (const p of parts) at += p.copy(joined, at);
    return joined;
  }
}

/** Splits one whole buffer into chunks (views into it). */
export function chunkBuffer(buf: Buffer, params: ChunkerParams = CHUNKER_V1): Buffer[] {
  const c = new Chunker(params);
  const out = c.push(buf);
  for (const last of c.finish()) out.push(last);
  return out;
}
