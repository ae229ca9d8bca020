/**
 * The agent gateway: accepts WebSocket upgrades on /agent, runs the handshake,
 * and keeps one AgentSession per connected agent. A new connection from an
 * agent replaces its old one.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ErrorCode, MAX_FRAME_BYTES, ProtocolError } from '@strata/protocol';
import type { Catalog } from '../catalog/index.js';
import type { Logger } from '../log.js';
import { AgentConnection } from './connection.js';
import { authenticateHello, challengeFrame, enrollAgent, newNonce, serverId } from './handshake.js';
import { AgentSession } from './session.js';

export const AGENT_PATH = '/agent';
const HANDSHAKE_TIMEOUT_MS = 15_000;

export class AgentGateway {
  private wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES * 4, perMessageDeflate: false });
  private sessions = new Map<string, AgentSession>();
  private listeners = new Set<(agentId: string, online: boolean) => void>();

  constructor(private catalog: Catalog, private log: Logger) {}

  session(agentId: string): AgentSession | undefined {
    const s = this.sessions.get(agentId);
    return s?.isOpen ? s : undefined;
  }
  isOnline(agentId: string) { return !!this.session(agentId); }
  onPresence(fn: (agentId: string, online: boolean) => void) { this.listeners.add(fn); }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== AGENT_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      const conn = new AgentConnection(ws, this.log.child({ remote }), remote);
      void this.handshake(conn);
    });
  }

  private async handshake(conn: AgentConnection) {
    const nonce = newNonce();
    const timer = setTimeout(() => conn.fail(ErrorCode.OutOfOrder, 'no hello within 15 s'), HANDSHAKE_TIMEOUT_MS);
    let session: AgentSession | undefined;
    conn.onFrame(async (frame) => {
      if (session) return session.dispatch(frame);
      clearTimeout(timer);
      if (frame.kind === 'enroll') {
        const { agent, version } = await enrollAgent(this.catalog, frame.body);
        conn.log.info({ agent: agent.name, agentId: agent.id }, 'agent enrolled');
        await conn.send({ kind: 'welcome', body: { version, agentId: agent.id, agentName: agent.name } });
        conn.ws.close(1000, 'enrolled');
        return;
      }
      if (frame.kind !== 'hello') throw new ProtocolError(ErrorCode.OutOfOrder, `unexpected frame: expected hello or enroll first, got '${frame.kind}'`);
      const { agent, version } = await authenticateHello(this.catalog, frame.body, nonce);
      session = new AgentSession(agent, conn, version);
      const old = this.sessions.get(agent.id);
      this.sessions.set(agent.id, session);
      if (old && old.isOpen) old.conn.fail(ErrorCode.OutOfOrder, 'replaced by a newer connection of the same agent');
      await this.catalog.touchAgent(agent.id, new Date(), frame.body.agentVersion || null, frame.body.hostname || null);
      conn.log.info({ agent: agent.name, version }, 'agent connected');
      await conn.send({ kind: 'welcome', body: { version, agentId: agent.id, agentName: agent.name } });
      for (const fn of this.listeners) fn(agent.id, true);
    });
    await conn.send(challengeFrame(nonce, serverId())).catch(() => {});
    await conn.closedPromise;
    clearTimeout(timer);
    if (session) {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
      session.closed();
      await this.catalog.touchAgent(session.id, new Date()).catch(() => {});
      for (const fn of this.listeners) fn(session.id, false);
    }
  }

  async close() {
    for (const s of this.sessions.values()) s.conn.ws.terminate();
    this.wss.close();
  }
}
