/**
 * An agent that lies, against the real gateway and job service: a chunk whose
 * bytes do not match its hash, and a commit that references chunks it never
 * uploaded. Each fails the job with a clear reason and records no recovery point.
 */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tmp from 'tmp';
import { ErrorCode, helloSignedBytes, type Frame } from '@strata/protocol';
import { enroll } from '../../agent/src/handshake.js';
import { RawClient, testServer, type TestServer } from './harness.js';

let t: TestServer;
let agentDir: tmp.DirResult;
let identity: Awaited<ReturnType<typeof enroll>>;
let sourceId = '';

beforeAll(async () => {
  t = await testServer();
  agentDir = tmp.dirSync({ unsafeCleanup: true });
  identity = await enroll(t.srv.url, await t.token(), agentDir.name);
  sourceId = (await t.srv.catalog.createDataSource({ agentId: identity.agentId, name: 'files', kind: 'files', paths: ['/data'], includes: [], excludes: [] })).id;
});
afterAll(async () => {
  await t?.close();
  agentDir?.removeCallback();
});

async function agentWithBackup(): Promise<{ c: RawClient; jobId: string }> {
  const c = await RawClient.connect(t.srv.agentUrl);
  const signature = sign(null, helloSignedBytes(c.challengeNonce(), identity.agentId), createPrivateKey(identity.privateKey));
  c.sendFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: identity.agentId, signature, agentVersion: 't', hostname: 'h' } });
  await c.waitFor('welcome');
  const job = await t.srv.jobs.startBackup(sourceId);
  await c.waitFor('backup');
  return { c, jobId: job.id };
}

async function finished(jobId: string) {
  for (let i = 0; i < 200; i++) {
    const j = await t.srv.catalog.getJob(jobId);
    if (j && j.state !== 'running') return j;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('job did not end');
}

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
