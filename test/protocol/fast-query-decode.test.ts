/**
 * The strict chunk-query reader (decodeChunkQueryFrame) against protobufjs and
 * the generic rules: whatever it accepts, the generic path accepts with the
 * same result; valid frames from the encoder are read by it (not passed on).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, MAX_BATCH_ITEMS } from '@strata/protocol';
import { decodeChunkQueryFrame } from '../../protocol/src/fast-batch.js';
import { FrameType } from '../../protocol/src/schema.js';
import { validateBody } from '../../protocol/src/validate.js';

const DEFAULTS = { longs: Number, enums: Number, bytes: Buffer, defaults: true, arrays: true, oneofs: true } as const;
/** The generic path: protobufjs + validate.ts; null when it refuses the frame. */
function generic(buf: Uint8Array): unknown {
  try {
    const obj = FrameType.toObject(FrameType.decode(buf), DEFAULTS) as Record<string, unknown>;
    if (obj.body !== 'chunkQuery') return null;
    validateBody('chunkQuery', obj.chunkQuery);
    return obj.chunkQuery;
  } catch {
    return null;
  }
}
interface Q { jobId: string; queryId: number; hashes: Uint8Array[] }
const plain = (q: Q) => ({ jobId: q.jobId, queryId: q.queryId, hashes: q.hashes.map((h) => Buffer.from(h).toString('hex')) });
const query = (n: number, queryId = 300): Q => ({ jobId: 'job_7.x-1', queryId, hashes: Array.from({ length: n }, () => randomBytes(32)) });
const frame = (q: Q) => Buffer.from(encodeFrame({ kind: 'chunkQuery', body: q }));

describe('decodeChunkQueryFrame', () => {
  it('reads what the encoder writes, as views of the frame, equal to the generic decoder', () => {
    for (const [n, id] of [[1, 0], [2, 1], [50, 300], [MAX_BATCH_ITEMS, 2 ** 32 - 1]] as const) {
      const q = query(n, id);
      const buf = frame(q);
      const fast = decodeChunkQueryFrame(buf);
      expect(fast).not.toBeNull();
      expect(plain(fast!)).toEqual(plain(q));
      expect(plain(fast!)).toEqual(plain(generic(buf) as Q));
      for (const h of fast!.hashes) expect(h.buffer).toBe(buf.buffer);
      const viaCodec = decodeFrame(buf);
      expect(viaCodec.kind).toBe('chunkQuery');
      expect(plain(viaCodec.body as Q)).toEqual(plain(q));
    }
  });

  it('hands every odd frame to the generic path rather than deciding itself', () => {
    const odd: Q[] = [
      { jobId: '', queryId: 1, hashes: [randomBytes(32)] }, // no job id
      { jobId: 'a b', queryId: 1, hashes: [randomBytes(32)] },
      { jobId: 'x'.repeat(65), queryId: 1, hashes: [randomBytes(32)] },
      { jobId: 'j', queryId: 1, hashes: [] }, // at least one hash
      { jobId: 'j', queryId: 1, hashes: [randomBytes(31)] },
      { jobId: 'j', queryId: 1, hashes: [randomBytes(32), randomBytes(33)] },
      { jobId: 'j', queryId: 1, hashes: Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => randomBytes(32)) },
    ];
    for (const q of odd) {
      const buf = Buffer.from(FrameType.encode(FrameType.fromObject({ chunkQuery: q })).finish());
      expect(decodeChunkQueryFrame(buf)).toBeNull();
      expect(() => decodeFrame(buf)).toThrow(/malformed frame/);
    }
    // An unknown field after the query: protobufjs skips it, so the generic path reads the query.
    const extra = Buffer.concat([frame(query(2)), Buffer.from([0xf0, 0x01, 0x01])]);
    expect(decodeChunkQueryFrame(extra)).toBeNull();
    expect(decodeFrame(extra).kind).toBe('chunkQuery');
    // A chunk batch or an ack is not a query.
    expect(decodeChunkQueryFrame(encodeFrame({ kind: 'chunkBatchAck', body: { jobId: 'j', batchId: 1 } }))).toBeNull();
  });

  it('never accepts a damaged frame the generic path refuses, nor reads one differently', () => {
    const base = frame(query(3));
    let accepted = 0;
    for (let round = 0; round < 4000; round++) {
      const buf = Buffer.from(base);
      const edits = 1 + (round % 3);
      for (let k = 0; k < edits; k++) buf[Math.floor(Math.random() * buf.length)] = Math.floor(Math.random() * 256);
      const cut = round % 5 === 0 ? buf.subarray(0, Math.floor(Math.random() * buf.length)) : buf;
      const fast = decodeChunkQueryFrame(cut);
      if (!fast) continue;
      accepted++;
      const g = generic(cut);
      expect(g).not.toBeNull();
      expect(plain(fast)).toEqual(plain(g as Q));
    }
    expect(accepted).toBeGreaterThan(100); // most edits land in hash bytes, which stay valid
  });
});
