/**
 * The agent's state dir: identity.json (agent id, server URL, pinned server
 * certificate fingerprint, Ed25519 private key; mode 0600), status.json (what
 * the daemon is doing, for `strata-agent status`) and cache/ (per data source,
 * the trees of the last recovery point, for incremental backups).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurable } from './util/durable.js';

export interface Identity {
  agentId: string;
  agentName: string;
  serverUrl: string;
  /** Hex SHA-256 of the server certificate pinned at enrollment; null for plain ws (tests). */
  serverFingerprint: string | null;
  privateKey: string;
  publicKey: string;
  enrolledAt: string;
}

export interface Status { pid: number; connected: boolean; server: string; since: string; job: string | null; lastError: string | null; updatedAt: string }

export const defaultStateDir = () => process.env.STRATA_AGENT_STATE ?? (process.getuid?.() === 0 ? '/var/lib/strata-agent' : path.join(process.env.HOME ?? '.', '.strata-agent'));
export const identityPath = (dir: string) => path.join(dir, 'identity.json');
export const statusPath = (dir: string) => path.join(dir, 'status.json');
export const cacheDir = (dir: string, dataSourceId: string) => path.join(dir, 'cache', dataSourceId);

/** Creates the state dir (0700) and writes the file durably (0600): it is either old or new after a crash. */
async function writeDurable(file: string, data: string) {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileDurable(file, data);
}

export async function loadIdentity(dir: string): Promise<Identity> {
  try {
    return JSON.parse(await fs.readFile(identityPath(dir), 'utf8')) as Identity;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`this agent is not enrolled (no ${identityPath(dir)}): run 'strata-agent enroll --server URL --token TOKEN' first`);
    throw e;
  }
}

export const saveIdentity = (dir: string, id: Identity) => writeDurable(identityPath(dir), JSON.stringify(id, null, 2) + '\n');
export const saveStatus = (dir: string, s: Status) => writeDurable(statusPath(dir), JSON.stringify(s) + '\n');
