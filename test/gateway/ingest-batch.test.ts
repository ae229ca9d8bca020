/**
 * The server stores each ChunkBatch whole (ChunkStore.putMany) before it acks
 * it: against the real gateway and job service, good batches are acked in
 * order, and a batch with one lying chunk among good ones is refused —
 * CHUNK_REJECTED, no ack for it, none of its chunks stored, the job failed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { type Chunk, ErrorCode, type Frame } from '@strata/protocol';
import { backupRig, type BackupRig, type RawClient, type TestServer } from './harness.js';

let rig: BackupRig;
let t: TestServer;
let agentWithBackup: BackupRig['agentWithBackup'];
let finished: BackupRig['finished'];
let sourceId = '';

beforeAll(async () => {
  rig = await backupRig();
  ({ t, agentWithBackup, finished, sourceId } = rig);
});
afterAll(async () => {
  await rig?.close();
});

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
const rawChunk = (data: Buffer): Chunk => ({ hash: sha(data), compression: 0, rawSize: data.length, data });
const zstdChunk = (data: Buffer): Chunk => ({ hash: sha(data), compression: 1, rawSize: data.length, data: compress(data) });
const acks = (c: RawClient): number[] => c.frames.filter((f) => f.kind === 'chunkBatchAck').map((f) => (f as Extract<Frame, { kind: 'chunkBatchAck' }>).body.batchId);

describe('chunk batches are stored whole before their ack', () => {
  it('good batches are acked in order; a batch with one lying chunk is refused and none of it is stored', async () => {
    const { c, jobId } = await agentWithBackup();
    const before = (await t.srv.store.stats()).chunks;
    const batch1 = [rawChunk(randomBytes(3000)), zstdChunk(Buffer.alloc(20000, 'a')), rawChunk(randomBytes(10))];
    const batch2 = [rawChunk(randomBytes(4000)), zstdChunk(Buffer.alloc(30000, 'b'))];
    c.sendFrame({ kind: 'chunkBatch', body: { jobId, batchId: 1, chunks: batch1 } });
    c.sendFrame({ kind: 'chunkBatch', body: { jobId, batchId: 2, chunks: batch2 } });
    for (let i = 0; i < 200 && acks(c).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(acks(c)).toEqual([1, 2]);
    for (const ch of [...batch1, ...batch2]) expect(await t.srv.store.has(Buffer.from(ch.hash))).toBe(true);

    const good = [rawChunk(randomBytes(5000)), zstdChunk(Buffer.alloc(40000, 'c'))];
    const liar: Chunk = { hash: randomBytes(32), compression: 0, rawSize: 5, data: Buffer.from('hello') };
    const after = rawChunk(randomBytes(6000));
    c.sendFrame({ kind: 'chunkBatch', body: { jobId, batchId: 3, chunks: [good[0]!, liar, good[1]!] } });
    c.sendFrame({ kind: 'chunkBatch', body: { jobId, batchId: 4, chunks: [after] } });
    const err = (await c.waitFor('error')) as Extract<Frame, { kind: 'error' }>;
    expect(err.body.code).toBe(ErrorCode.ChunkRejected);
    expect(err.body.message).toContain(Buffer.from(liar.hash).toString('hex'));
    const job = await finished(jobId);
    expect(job.state).toBe('failed');
    expect(job.errorMessage).toMatch(/does not match its hash/);
    await c.closed;
    // neither the refused batch nor the one queued behind it was acked or stored
    expect(acks(c)).toEqual([1, 2]);
    for (const ch of [...good, liar, after]) expect(await t.srv.store.has(Buffer.from(ch.hash))).toBe(false);
    expect((await t.srv.store.stats()).chunks).toBe(before + batch1.length + batch2.length);
  });
});
