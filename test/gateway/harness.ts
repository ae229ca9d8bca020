/** An in-process server (real TLS, real catalog and store on tmp dirs) and a raw WebSocket client to attack it with. */
import { createPrivateKey, sign } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import tmp from 'tmp';
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { decodeFrame, encodeFrame, helloSignedBytes, SERVER_SENDS, type Frame } from '@strata/protocol';
import { enroll } from '../../agent/src/handshake.js';
import { startServer, type RunningServer } from '../../server/src/server.js';
import { createEnrollmentToken } from '../../server/src/services/enrollment.js';

export interface TestServer { srv: RunningServer; dir: tmp.DirResult; logs: string[]; token(ttlMs?: number): Promise<string>; close(): Promise<void> }

export async function testServer(): Promise<TestServer> {
  const dir = tmp.dirSync({ unsafeCleanup: true, prefix: 'strata-gw-' });
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  const srv = await startServer({ dataDir: path.join(dir.name, 'data'), port: 0, log });
  return {
    srv, dir, logs,
    token: async (ttlMs?: number) => (await createEnrollmentToken(srv.catalog, srv.certFingerprint, ttlMs)).token,
    close: async () => { await srv.close(); dir.removeCallback(); },
  };
}

/** A raw client: connects without the agent's logic, collects every frame, reports the close. */
export class RawClient {
  frames: Frame[] = [];
  closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.frames.push(decodeFrame(d as Buffer, SERVER_SENDS)));
    this.closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  }
  static async connect(url: string): Promise<RawClient> {
    const ws = new WebSocket(url, { rejectUnauthorized: false });
    const c = new RawClient(ws);
    await once(ws, 'open');
    await c.waitFor('challenge');
    return c;
  }
  sendFrame(f: Frame) { this.ws.send(encodeFrame(f)); }
  sendRaw(b: Buffer | string, binary = true) { this.ws.send(b, { binary }); }
  async waitFor(kind: Frame['kind'], ms = 10_000): Promise<Frame> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const f = this.frames.find((x) => x.kind === kind);
      if (f) return f;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${kind} frame within ${ms} ms; got ${this.frames.map((f) => f.kind).join(',')}`);
  }
  challengeNonce(): Buffer {
    const c = this.frames.find((f) => f.kind === 'challenge');
    return Buffer.from((c as Extract<Frame, { kind: 'challenge' }>).body.nonce);
  }
}

/**
 * A test server with one enrolled agent identity (state in a tmp dir) and one
 * data source of it, for tests that play the agent's side of a backup by hand.
 */
export interface BackupRig {
  t: TestServer;
  sourceId: string;
  /** A raw client that said hello as the agent and received the backup order of a new job. */
  agentWithBackup(): Promise<{ c: RawClient; jobId: string }>;
  /** The job once it is no longer running (throws after ~4 s). */
  finished(jobId: string): Promise<NonNullable<Awaited<ReturnType<RunningServer['catalog']['getJob']>>>>;
  close(): Promise<void>;
}

export async function backupRig(): Promise<BackupRig> {
  const t = await testServer();
  const agentDir = tmp.dirSync({ unsafeCleanup: true });
  const identity = await enroll(t.srv.url, await t.token(), agentDir.name);
  const sourceId = (await t.srv.catalog.createDataSource({ agentId: identity.agentId, name: 'files', kind: 'files', paths: ['/data'], includes: [], excludes: [] })).id;
  return {
    t, sourceId,
    async agentWithBackup() {
      const c = await RawClient.connect(t.srv.agentUrl);
      const signature = sign(null, helloSignedBytes(c.challengeNonce(), identity.agentId), createPrivateKey(identity.privateKey));
      c.sendFrame({ kind: 'hello', body: { minVersion: 1, maxVersion: 1, agentId: identity.agentId, signature, agentVersion: 't', hostname: 'h' } });
      await c.waitFor('welcome');
      const job = await t.srv.jobs.startBackup(sourceId);
      await c.waitFor('backup');
      return { c, jobId: job.id };
    },
    async finished(jobId: string) {
      for (let i = 0; i < 200; i++) {
        const j = await t.srv.catalog.getJob(jobId);
        if (j && j.state !== 'running') return j;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('job did not end');
    },
    async close() {
      await t.close();
      agentDir.removeCallback();
    },
  };
}
