/**
 * The admin credential: a random bearer token made at first start and kept in
 * <data>/admin.token (mode 0600). The CLI on the server machine reads it from
 * there; elsewhere it is passed with --token / STRATA_TOKEN.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurable } from '../util/durable.js';

export const adminTokenPath = (dataDir: string) => path.join(dataDir, 'admin.token');

export async function loadOrCreateAdminToken(dataDir: string): Promise<{ token: string; created: boolean }> {
  const file = adminTokenPath(dataDir);
  try {
    return { token: (await fs.readFile(file, 'utf8')).trim(), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = `sta_${randomBytes(32).toString('base64url')}`;
  await writeFileDurable(file, token + '\n', 0o600);
  return { token, created: true };
}

/** Constant-time comparison of a presented bearer token with the admin token. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
