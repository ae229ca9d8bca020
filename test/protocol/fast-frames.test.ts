/** The hand-written ChunkQuery and ChunkRequest encoders write exactly what protobufjs's generic encoder writes. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type Frame } from '@strata/protocol';
import { FrameType } from '../../protocol/src/schema.js';

const generic = (f: Frame): Buffer => Buffer.from(FrameType.encode(FrameType.fromObject({ [f.kind]: f.body })).finish());

describe('hash-list frame encoders', () => {
  const lists = [[], [randomBytes(32)], Array.from({ length: 4096 }, () => randomBytes(32))];
  for (const hashes of lists) {
    for (const id of [0, 1, 127, 128, 300, 2 ** 32 - 1]) {
      for (const jobId of ['', 'j', 'job_7.x-1'.repeat(7)]) {
        it(`${hashes.length} hashes, id ${id}, job id of ${jobId.length} characters`, () => {
          const frames: Frame[] = [
            { kind: 'chunkRequest', body: { jobId, batchId: id, hashes } },
            { kind: 'chunkQuery', body: { jobId, queryId: id, hashes } },
          ];
          for (const f of frames) {
            const fast = Buffer.from(encodeFrame(f));
            expect(fast.equals(generic(f))).toBe(true);
            if (!jobId || !hashes.length) continue; // the validator refuses these; the bytes are still checked above
            const back = decodeFrame(fast);
            expect(back.kind).toBe(f.kind);
            expect((back.body as { hashes: Uint8Array[] }).hashes.map((h) => Buffer.from(h).toString('hex'))).toEqual(hashes.map((h) => h.toString('hex')));
          }
        });
      }
    }
  }
});

describe('backup reply frame encoders (ChunkBatchAck, ChunkQueryReply)', () => {
  for (const id of [0, 1, 127, 128, 300, 2 ** 32 - 1]) {
    for (const jobId of ['', 'j', 'job_7.x-1'.repeat(7)]) {
      for (const have of [Buffer.alloc(0), Buffer.from([0]), Buffer.from([0xff, 0x01]), randomBytes(512)]) {
        it(`id ${id}, job id of ${jobId.length} characters, bitmap of ${have.length} bytes`, () => {
          const frames: Frame[] = [
            { kind: 'chunkBatchAck', body: { jobId, batchId: id } },
            { kind: 'chunkQueryReply', body: { jobId, queryId: id, have } },
          ];
          for (const f of frames) {
            const fast = Buffer.from(encodeFrame(f));
            expect(fast.equals(generic(f))).toBe(true);
            if (!jobId) continue; // the validator refuses an empty job id; the bytes are still checked above
            const back = decodeFrame(fast);
            expect(back.kind).toBe(f.kind);
            if (f.kind === 'chunkQueryReply') expect(Buffer.from((back.body as { have: Uint8Array }).have).equals(have)).toBe(true);
            else expect((back.body as { batchId: number }).batchId).toBe(id);
          }
        });
      }
    }
  }
});
