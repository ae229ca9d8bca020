/**
 * An agent that lies, against the real gateway and job service: a chunk whose
 * bytes do not match its hash, and a commit that references chunks it never
 * uploaded. Each fails the job with a clear reason and records no recovery point.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Frame } from '@strata/protocol';
import { backupRig, type BackupRig, type TestServer } from './harness.js';

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

describe('a lying agent', () => {
  it('a chunk that does not match its hash: CHUNK_REJECTED, the job fails, nothing stored', async () => {
    const { c, jobId } = await agentWithBackup();
    const before = await t.srv.store.stats();
    c.sendFrame({ kind: 'chunkBatch', body: { jobId, batchId: 1, chunks: [{ hash: randomBytes(32), compression: 0, rawSize: 5, data: Buffer.from('hello') }] } });
    const err = (await c.waitFor('error')) as Extract<Frame, { kind: 'error' }>;
    expect(err.body.code).toBe(ErrorCode.ChunkRejected);
    const job = await finished(jobId);
    expect(job.state).toBe('failed');
    expect(job.errorMessage).toMatch(/does not match its hash/);
    expect((await t.srv.store.stats()).chunks).toBe(before.chunks);
  });

  it('a commit that references chunks never uploaded: refused, no recovery point', async () => {
    const { c, jobId } = await agentWithBackup();
    c.sendFrame({ kind: 'backupCommit', body: { jobId, root: [randomBytes(32)], files: 1, dirs: 1, bytes: 10, warnings: [] } });
    const failed = (await c.waitFor('jobFailed')) as Extract<Frame, { kind: 'jobFailed' }>;
    expect(failed.body.message).toMatch(/not in the store/);
    const job = await finished(jobId);
    expect(job.state).toBe('failed');
    expect(job.errorMessage).toMatch(/backup refused: referenced chunk\(s\) are not in the store/);
    expect(await t.srv.catalog.listRecoveryPoints({ dataSourceId: sourceId })).toEqual([]);
    expect(await t.srv.store.refs.list()).toEqual([]);
    c.ws.close();
  });
});
