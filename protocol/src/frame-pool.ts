/**
 * Reusable buffers for encoding the big frames (chunk batches) on either end.
 * A fresh Buffer per ~1 MiB frame costs page faults (glibc maps allocations
 * that large afresh), and garbage outside the V8 heap that only a GC returns;
 * the sender instead takes one of a few preallocated buffers and gives it back
 * when the socket is done with the bytes (the WebSocket send callback).
 * Frames larger than the buffers, or sent while every buffer is out, use a
 * fresh Buffer as before.
 */
export class FrameBufferPool {
  private readonly free: Buffer[] = [];
  private created = 0;

  constructor(readonly bufferBytes: number, readonly maxBuffers: number) {}

  /** A buffer of exactly n bytes and the function that gives it back (a no-op for a fresh one). */
  take(n: number): { buf: Buffer; release: () => void } {
    if (n > this.bufferBytes) return { buf: Buffer.allocUnsafe(n), release: noop };
    let whole = this.free.pop();
    if (!whole) {
      if (this.created >= this.maxBuffers) return { buf: Buffer.allocUnsafe(n), release: noop };
      this.created++;
      whole = Buffer.allocUnsafeSlow(this.bufferBytes);
    }
    let given = false;
    const w = whole;
    return {
      buf: w.subarray(0, n),
      release: () => {
        if (given) return;
        given = true;
        this.free.push(w);
      },
    };
  }
}

const noop = (): void => {};
