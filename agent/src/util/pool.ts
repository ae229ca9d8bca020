/**
 * A fixed pool of preallocated read blocks, so that file data never goes
 * through a fresh Buffer per read: the many short-lived 1 MiB and smaller
 * Buffers of a backup fragmented the malloc heap (peak RSS well above the
 * bytes actually live). Each block is its own SharedArrayBuffer (the chunking
 * worker reads it in place) (so a chunk's owner
 * is found by identity) and reference counted: a reader takes a region, every
 * chunk that is a view into it holds a reference, and the block goes back to
 * the pool when the last one is released. Small reads share one block (a
 * bump allocator), so a batch of small files does not pin a block each.
 */
import { checkAborted } from './errors.js';

export class Block {
  /** Bytes handed out from the start of the block (regions are never reused until the block is free). */
  used = 0;
  refs = 0;
  constructor(readonly buf: Buffer, private readonly pool: BlockPool | null) {}

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('block released more often than retained');
    if (--this.refs === 0) this.pool?.returned(this);
  }
}

/** A region taken from a block; the taker holds one reference until it calls block.release(). */
export interface Region { block: Block; buf: Buffer }

export class BlockPool {
  private readonly free: Block[] = [];
  private readonly waiters: (() => void)[] = [];
  /** The block small regions are cut from; it holds no reference of its own. */
  private fill: Block | null = null;
  private failure: unknown = null;
  /** Called when a taker has to wait: lets the uploader send what it batched (its chunks hold blocks). */
  onStarved: (() => void) | null = null;

  constructor(readonly blockSize: number, readonly count: number) {
    if (count < 2) throw new RangeError('a block pool needs at least two blocks (a chunk may span two reads)');
    // Shared memory: the chunking worker (chunker/hash-worker.ts) reads blocks in place.
    for (let i = 0; i < count; i++) this.free.push(new Block(Buffer.from(new SharedArrayBuffer(blockSize)), this));
  }

  /** Blocks currently in the pool (neither holding data nor being filled). */
  get available(): number {
    return this.free.length + (this.fill && this.fill.refs === 0 ? 1 : 0);
  }

  /** A region of `n` bytes (n ≤ blockSize), waiting for a block if none is free. */
  async take(n: number, signal?: AbortSignal): Promise<Region> {
    for (;;) {
      const r = this.tryTake(n);
      if (r) return r;
      if (this.failure) throw this.failure;
      checkAborted(signal);
      this.onStarved?.();
      let onAbort = () => {};
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        onAbort = resolve; // a cancel must not wait for a block that may never come back
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      signal?.removeEventListener('abort', onAbort);
      if (this.failure) throw this.failure;
      checkAborted(signal);
    }
  }

  /** Like take(), but null instead of waiting (read-ahead must not wait while its caller holds blocks). */
  tryTake(n: number): Region | null {
    if (n > this.blockSize || n <= 0) throw new RangeError(`region of ${n} bytes from ${this.blockSize}-byte blocks`);
    let b = this.fill;
    if (b && b.refs === 0) b.used = 0; // nothing refers to it: start over
    if (!b || b.used + n > this.blockSize) {
      const next = this.free.pop();
      if (!next) return null;
      b = next; // the old fill block, if any, returns to the pool with its last reference
      b.used = 0;
      this.fill = b;
    }
    const buf = b.buf.subarray(b.used, b.used + n);
    b.used += n;
    b.refs++;
    return { block: b, buf };
  }

  /**
   * A region outside the pool, for a reader that must not wait while holding
   * blocks (a file read alongside others that grew past one block): rare, and
   * garbage collected like any Buffer.
   */
  standalone(n: number): Region {
    const block = new Block(Buffer.allocUnsafe(n), null);
    block.refs = 1;
    return { block, buf: block.buf };
  }

  /** Gives back the unused tail of the last region taken from `r.block` (a short read). */
  shrink(r: Region, keep: number): void {
    const b = r.block;
    if (b === this.fill && r.buf.byteOffset - b.buf.byteOffset + r.buf.length === b.used) b.used -= r.buf.length - keep;
  }

  /** Makes every present and future take() fail: the run is over. */
  fail(e: unknown): void {
    this.failure ??= e;
    this.wake();
  }

  /** Called by a block whose last reference went. */
  returned(b: Block): void {
    if (b !== this.fill) this.free.push(b);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
