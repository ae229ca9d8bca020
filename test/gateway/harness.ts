/** An in-process server (real TLS, real catalog and store on tmp dirs) and a raw WebSocket client to attack it with. */
import { once } from 'node:events';
import path from 'node:path';
import tmp from 'tmp';
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { decodeFrame, encodeFrame, SERVER_SENDS, type Frame } from '@strata/protocol';
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
