/**
 * Connection set-up: the server sends a Challenge; the agent answers with
 * Hello (an enrolled agent signs the nonce with its Ed25519 key) or Enroll (a
 * new agent trades a one-time token for its identity). Anything else first is
 * out of order.
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import os from 'node:os';
import {
  ErrorCode, helloSignedBytes, MIN_PROTOCOL_VERSION, parseEnrollmentToken, negotiateVersion, PROTOCOL_VERSION, ProtocolError,
  type Enroll, type Frame, type Hello,
} from '@strata/protocol';
import type { Catalog } from '../catalog/index.js';
import type { Agent } from '../catalog/types.js';
import { hashSecret } from '../services/enrollment.js';

export const newNonce = () => randomBytes(32);

export function challengeFrame(nonce: Buffer, serverId: string): Frame {
  return { kind: 'challenge', body: { minVersion: MIN_PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, nonce, serverId } };
}

export async function authenticateHello(catalog: Catalog, hello: Hello, nonce: Buffer): Promise<{ agent: Agent; version: number }> {
  const version = negotiateVersion(hello.minVersion, hello.maxVersion);
  const agent = await catalog.getAgent(hello.agentId);
  if (!agent) throw new ProtocolError(ErrorCode.AuthFailed, `unknown agent '${hello.agentId}': enroll it again with a new token`);
  if (agent.revokedAt) throw new ProtocolError(ErrorCode.AgentRevoked, `agent '${agent.name}' was revoked on ${agent.revokedAt.toISOString()}`);
  let ok = false;
  try {
    ok = verify(null, helloSignedBytes(nonce, hello.agentId), createPublicKey(agent.publicKey), hello.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new ProtocolError(ErrorCode.AuthFailed, `agent '${agent.name}' failed to prove its identity (wrong key)`);
  return { agent, version };
}

export async function enrollAgent(catalog: Catalog, enroll: Enroll): Promise<{ agent: Agent; version: number }> {
  const version = negotiateVersion(enroll.minVersion, enroll.maxVersion);
  const parsed = parseEnrollmentToken(enroll.token);
  if (!parsed) throw new ProtocolError(ErrorCode.TokenInvalid, 'enrollment token is malformed');
  let key;
  try {
    key = createPublicKey(enroll.publicKey);
  } catch {
    throw new ProtocolError(ErrorCode.MalformedFrame, 'enroll.publicKey is not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ProtocolError(ErrorCode.MalformedFrame, 'enroll.publicKey must be an Ed25519 key');
  const hostname = enroll.hostname || 'agent';
  const agent = await catalog.transaction(async (tx) => {
    const token = await tx.consumeEnrollmentToken(hashSecret(parsed.secret));
    if (!token) return null;
    const name = await uniqueAgentName(tx, hostname);
    const created = await tx.createAgent({ name, hostname, publicKey: enroll.publicKey, version: enroll.agentVersion || null });
    await tx.markEnrollmentTokenUsedBy?.(token.id, created.id);
    return created;
  });
  if (!agent) throw new ProtocolError(ErrorCode.TokenInvalid, 'enrollment token is unknown, already used or expired: create a new one with `strata token create`');
  return { agent, version };
}

async function uniqueAgentName(catalog: Catalog, hostname: string): Promise<string> {
  const base = hostname.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60) || 'agent';
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!(await catalog.getAgentByName(name))) return name;
  }
}

export const serverId = () => os.hostname();
