/**
 * Hostile and broken peers against the real gateway (in-process server, TLS,
 * real catalog and store): each bad frame gets an Error frame, a closed
 * connection and a logged reason — and the server goes on serving others.
 */
import { sign, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, ErrorCode, helloSignedBytes, MAX_FRAME_BYTES, type Frame } from '@strata/protocol';
import { enroll } from '../../agent/src/handshake.js';
import tmp from 'tmp';
import { RawClient, testServer, type TestServer } from './harness.js';

let t: TestServer;
let agentDir: tmp.DirResult;
let identity: Awaited<ReturnType<typeof enroll>>;

beforeAll(async () => {
  t = await testServer();
  agentDir = tmp.dirSync({ unsafeCleanup: true });
  identity = await enroll(t.srv.url, await t.token(), agentDir.name);
});
afterAll(async () => {
  await t?.close();
  agentDir?.removeCallback();
});

const errorOf = async (c: RawClient) => {
  const f = (await c.waitFor('error')) as Extract<Frame, { kind: 'error' }>;
  const closed = await c.closed;
  return { code: f.body.code, message: f.body.message, close: closed };
};

async function helloed(): Promise<RawClient> {
  const c = await RawClient.connect(t.srv.agentUrl);
  const nonce = c.challengeNonce();
  const { createPrivateKey } = await import('node:crypto');
  const signature = sign(null, helloSignedBytes(nonce, identity.agentId), createPrivateKey(identity.privateKey));
  c.sendFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: identity.agentId, signature, agentVersion: 't', hostname: 'h' } });
  await c.waitFor('welcome');
  return c;
}

describe('malformed, truncated, oversized and out-of-order frames', () => {
  it('garbage bytes: MALFORMED_FRAME and close', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    c.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.MalformedFrame);
    expect(e.close.code).toBe(1008);
    expect(t.logs.join("")).toMatch(/"reason":"malformed frame[^"]*","msg":"closing agent connection"/);
  });

  it('a truncated frame: MALFORMED_FRAME', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    const good = encodeFrame({ kind: 'enroll', body: { minVersion: 1, maxVersion: 1, token: 'x'.repeat(40), publicKey: 'k', hostname: 'h', agentVersion: '1' } });
    c.sendRaw(Buffer.from(good.subarray(0, good.length - 10)));
    expect((await errorOf(c)).code).toBe(ErrorCode.MalformedFrame);
  });

  it('a text frame: MALFORMED_FRAME', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    c.sendRaw('hello', false);
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.MalformedFrame);
    expect(e.message).toMatch(/text frames/);
  });

  it('an oversized frame: FRAME_TOO_LARGE', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    c.sendRaw(Buffer.alloc(MAX_FRAME_BYTES + 1024));
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.FrameTooLarge);
    expect(e.message).toMatch(/exceeds/);
  });

  it('a job frame before hello: OUT_OF_ORDER', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    c.sendFrame({ kind: 'chunkQuery', body: { jobId: 'j', queryId: 1, hashes: [Buffer.alloc(32)] } });
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.OutOfOrder);
    expect(e.message).toMatch(/expected hello or enroll first/);
  });

  it('a frame the server sends, sent by an agent: OUT_OF_ORDER', async () => {
    const c = await helloed();
    c.sendFrame({ kind: 'backupDone', body: { jobId: 'j', pointId: 'p' } } as Frame);
    expect((await errorOf(c)).code).toBe(ErrorCode.OutOfOrder);
  });

  it('a chunk batch for a job not running on this agent: OUT_OF_ORDER', async () => {
    const c = await helloed();
    c.sendFrame({ kind: 'chunkBatch', body: { jobId: 'not-a-job', batchId: 1, chunks: [] } });
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.OutOfOrder);
    expect(e.message).toMatch(/not-a-job/);
  });

  it('a second hello on an established session: OUT_OF_ORDER', async () => {
    const c = await helloed();
    c.sendFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: identity.agentId, signature: Buffer.alloc(64), agentVersion: '', hostname: '' } });
    expect((await errorOf(c)).code).toBe(ErrorCode.OutOfOrder);
  });

  it('no common version: VERSION_MISMATCH naming both ranges', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    c.sendFrame({ kind: 'hello', body: { minVersion: 50, maxVersion: 60, agentId: identity.agentId, signature: Buffer.alloc(64), agentVersion: '', hostname: '' } });
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.VersionMismatch);
    expect(e.message).toMatch(/50\.\.60/);
  });

  it('after all that, a good agent still connects and is served', async () => {
    const c = await helloed();
    c.sendFrame({ kind: 'ping', body: { timeMs: 42 } });
    const pong = await c.waitFor('pong');
    expect(pong.kind === 'pong' && pong.body.timeMs).toBe(42);
    c.ws.close();
  });
});

describe('credentials', () => {
  it('an unknown agent id is refused', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    c.sendFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: '00000000-0000-4000-8000-000000000000', signature: Buffer.alloc(64), agentVersion: '', hostname: '' } });
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.AuthFailed);
    expect(e.message).toMatch(/unknown agent/);
  });

  it('a wrong key (signature) is refused', async () => {
    const c = await RawClient.connect(t.srv.agentUrl);
    const other = generateKeyPairSync('ed25519').privateKey;
    const signature = sign(null, helloSignedBytes(c.challengeNonce(), identity.agentId), other);
    c.sendFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: identity.agentId, signature, agentVersion: '', hostname: '' } });
    const e = await errorOf(c);
    expect(e.code).toBe(ErrorCode.AuthFailed);
    expect(e.message).toMatch(/wrong key/);
  });

  it('a replayed signature (old nonce) is refused', async () => {
    const first = await RawClient.connect(t.srv.agentUrl);
    const { createPrivateKey } = await import('node:crypto');
    const signature = sign(null, helloSignedBytes(first.challengeNonce(), identity.agentId), createPrivateKey(identity.privateKey));
    first.ws.close();
    const c = await RawClient.connect(t.srv.agentUrl);
    c.sendFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: identity.agentId, signature, agentVersion: '', hostname: '' } });
    expect((await errorOf(c)).code).toBe(ErrorCode.AuthFailed);
  });

  it('an enrollment token works once; reuse, garbage and expiry are refused', async () => {
    const token = await t.token();
    const d1 = tmp.dirSync({ unsafeCleanup: true });
    const d2 = tmp.dirSync({ unsafeCleanup: true });
    try {
      await enroll(t.srv.url, token, d1.name);
      await expect(enroll(t.srv.url, token, d2.name)).rejects.toThrow(/already used or expired/);
      const expired = await t.token(-1000);
      await expect(enroll(t.srv.url, expired, d2.name)).rejects.toThrow(/already used or expired/);
      await expect(enroll(t.srv.url, 'not-a-token', d2.name)).rejects.toThrow(/not a Strata enrollment token/);
    } finally {
      d1.removeCallback();
      d2.removeCallback();
    }
  });

  it('a token whose certificate fingerprint does not match the server is refused before anything is sent', async () => {
    const token = (await t.token()).replace(/\.[0-9a-f]{64}$/, '.' + 'ab'.repeat(32));
    const d = tmp.dirSync({ unsafeCleanup: true });
    try {
      await expect(enroll(t.srv.url, token, d.name)).rejects.toThrow(/does not match the pinned fingerprint/);
    } finally {
      d.removeCallback();
    }
  });

  it('a revoked agent is refused with a clear error', async () => {
    const d = tmp.dirSync({ unsafeCleanup: true });
    try {
      const id = await enroll(t.srv.url, await t.token(), d.name);
      await t.srv.catalog.revokeAgent(id.agentId);
      const { connectAndHello } = await import('../../agent/src/handshake.js');
      await expect(connectAndHello(id)).rejects.toThrow(/revoked/);
    } finally {
      d.removeCallback();
    }
  });
});
