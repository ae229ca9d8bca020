/** Enrollment (token → identity) and the signed Hello of every later connection. */
import { generateKeyPairSync, sign, createPrivateKey } from 'node:crypto';
import os from 'node:os';
import { helloSignedBytes, MIN_PROTOCOL_VERSION, parseEnrollmentToken, PROTOCOL_VERSION, type Frame } from '@strata/protocol';
import { Link } from './link.js';
import { saveIdentity, type Identity } from './state.js';
import { AGENT_VERSION } from './version.js';

const isKind = <K extends Frame['kind']>(k: K) => (f: Frame): f is Extract<Frame, { kind: K }> => f.kind === k;

/** Turns http(s)://host:port or ws(s)://host:port into the gateway URL. */
export function agentUrl(server: string): string {
  const u = new URL(server);
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/agent';
  return u.toString();
}

export function parseToken(token: string): { fingerprint: string | null } {
  const parsed = parseEnrollmentToken(token);
  if (!parsed) throw new Error('this is not a Strata enrollment token (expected stk1.…): copy it from `strata token create`');
  return { fingerprint: parsed.fingerprint };
}

export async function enroll(server: string, token: string, stateDir: string): Promise<Identity> {
  const url = agentUrl(server);
  const { fingerprint } = parseToken(token);
  if (url.startsWith('wss:') && !fingerprint) throw new Error('the token carries no certificate fingerprint but the server uses TLS');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const link = await Link.connect(url, fingerprint);
  try {
    await link.next(isKind('challenge'));
    await link.send({
      kind: 'enroll',
      body: {
        minVersion: MIN_PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, token: token.trim(),
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string, hostname: os.hostname(), agentVersion: AGENT_VERSION,
      },
    });
    const welcome = await link.next(isKind('welcome'));
    const identity: Identity = {
      agentId: welcome.body.agentId, agentName: welcome.body.agentName, serverUrl: url, serverFingerprint: fingerprint,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string,
      enrolledAt: new Date().toISOString(),
    };
    await saveIdentity(stateDir, identity);
    return identity;
  } finally {
    link.close('enrolled');
  }
}

/** Connects and authenticates; resolves with the open link after Welcome. */
export async function connectAndHello(identity: Identity): Promise<{ link: Link; version: number }> {
  const link = await Link.connect(identity.serverUrl, identity.serverFingerprint);
  try {
    const ch = await link.next(isKind('challenge'));
    const signature = sign(null, helloSignedBytes(ch.body.nonce, identity.agentId), createPrivateKey(identity.privateKey));
    await link.send({
      kind: 'hello',
      body: { minVersion: MIN_PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, agentId: identity.agentId, signature, agentVersion: AGENT_VERSION, hostname: os.hostname() },
    });
    const welcome = await link.next(isKind('welcome'));
    return { link, version: welcome.body.version };
  } catch (e) {
    link.close('handshake failed');
    throw e;
  }
}
