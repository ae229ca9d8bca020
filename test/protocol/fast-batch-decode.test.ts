/**
 * The strict chunk-batch reader (decodeChunkBatchFrame) against protobufjs and
 * the generic rules: whatever it accepts, the generic path accepts with the
 * same result; valid frames from the encoder are read by it (not passed on).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Compression, decodeFrame, encodeFrame, MAX_CHUNK_BYTES, type Chunk } from '@strata/protocol';
import { decodeChunkBatchFrame } from '../../protocol/src/fast-batch.js';
import { FrameType } from '../../protocol/src/schema.js';
import { validateBody } from '../../protocol/src/validate.js';

const DEFAULTS = { longs: Number, enums: Number, bytes: Buffer, defaults: true, arrays: true, oneofs: true } as const;
/** The generic path: protobufjs + validate.ts; null when it refuses the frame. */
function generic(buf: Uint8Array): unknown {
  try {
    const obj = FrameType.toObject(FrameType.decode(buf), DEFAULTS) as Record<string, unknown>;
    if (obj.body !== 'chunkBatch') return null;
    validateBody('chunkBatch', obj.chunkBatch);
    return obj.chunkBatch;
  } catch {
    return null;
  }
}
const plain = (b: { jobId: string; batchId: number; chunks: Chunk[] }) => ({
  jobId: b.jobId, batchId: b.batchId,
  chunks: b.chunks.map((c) => ({ hash: Buffer.from(c.hash).toString('hex'), compression: c.compression, rawSize: c.rawSize, data: Buffer.from(c.data).toString('hex') })),
});
const batch = (n: number) => ({
  jobId: 'job_7.x-1', batchId: 300,
  chunks: Array.from({ length: n }, (_, i) => ({ hash: randomBytes(32), compression: i % 2, rawSize: i * 1000, data: randomBytes(i * 37) })),
});
const frame = (b: ReturnType<typeof batch>) => Buffer.from(encodeFrame({ kind: 'chunkBatch', body: b }));

describe('decodeChunkBatchFrame', () => {
  it('reads what the encoder writes, as views of the frame, equal to the generic decoder', () => {
    for (const n of [0, 1, 2, 50]) {
      const b = batch(n);
      const buf = frame(b);
      const fast = decodeChunkBatchFrame(buf);
      expect(fast).not.toBeNull();
      expect(plain(fast!)).toEqual(plain(b));
      expect(plain(fast!)).toEqual(plain(generic(buf) as never));
      for (const c of fast!.chunks) expect(c.data.buffer).toBe(buf.buffer);
      const viaCodec = decodeFrame(buf);
      expect(viaCodec.kind).toBe('chunkBatch');
    }
  });

  it('hands every odd frame to the generic path rather than deciding itself', () => {
    const hash = randomBytes(32);
    const odd: { jobId: string; batchId: number; chunks: Chunk[] }[] = [
      { jobId: '', batchId: 1, chunks: [] }, // no job id
      { jobId: 'a b', batchId: 1, chunks: [] }, // a character ids may not have
      { jobId: 'x'.repeat(65), batchId: 1, chunks: [] },
      { jobId: 'j', batchId: 1, chunks: [{ hash: hash.subarray(0, 31), compression: 0, rawSize: 0, data: Buffer.alloc(0) }] },
      { jobId: 'j', batchId: 1, chunks: [{ hash, compression: 2 as Compression, rawSize: 0, data: Buffer.alloc(0) }] },
      { jobId: 'j', batchId: 1, chunks: [{ hash, compression: 0, rawSize: MAX_CHUNK_BYTES + 1, data: Buffer.alloc(0) }] },
    ];
    for (const b of odd) {
      const buf = Buffer.from(FrameType.encode(FrameType.fromObject({ chunkBatch: b })).finish());
      expect(decodeChunkBatchFrame(buf)).toBeNull();
      expect(() => decodeFrame(buf)).toThrow(/malformed frame/);
    }
    // A chunk without a hash, a negative compression (a 10-byte varint), an unknown field, trailing bytes.
    const base = frame(batch(1));
    const noHash = Buffer.from(FrameType.encode(FrameType.fromObject({ chunkBatch: { jobId: 'j', chunks: [{ rawSize: 1 }] } })).finish());
    const negative = Buffer.from(FrameType.encode(FrameType.fromObject({ chunkBatch: { jobId: 'j', chunks: [{ hash, compression: -1 }] } })).finish());
    for (const buf of [noHash, negative]) {
      expect(decodeChunkBatchFrame(buf)).toBeNull();
      expect(() => decodeFrame(buf)).toThrow(/malformed frame/);
    }
    // An unknown field after the batch: protobufjs skips it, and so the generic path reads the batch.
    const extra = Buffer.concat([base, Buffer.from([0xf0, 0x01, 0x01])]);
    expect(decodeChunkBatchFrame(extra)).toBeNull();
    expect(decodeFrame(extra).kind).toBe('chunkBatch');
  });

  it('never accepts a damaged frame the generic path refuses, nor reads one differently', () => {
    const base = frame(batch(3));
    let accepted = 0;
    for (let round = 0; round < 4000; round++) {
      const buf = Buffer.from(base);
      const edits = 1 + (round % 3);
      for (let k = 0; k < edits; k++) buf[Math.floor(Math.random() * buf.length)] = Math.floor(Math.random() * 256);
      const cut = round % 5 === 0 ? buf.subarray(0, Math.floor(Math.random() * buf.length)) : buf;
      const fast = decodeChunkBatchFrame(cut);
      if (!fast) continue;
      accepted++;
      const g = generic(cut);
      expect(g).not.toBeNull();
      expect(plain(fast)).toEqual(plain(g as never));
    }
    expect(accepted).toBeGreaterThan(100); // most edits land in hash or data bytes, which stay valid
  });
});
