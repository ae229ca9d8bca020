/** The source folders of a BackupCommand: checked, normalized, de-nested. */
import { stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { AgentError, errCode } from '../util/errors.js';

export interface Source {
  /** Normalized absolute path: no trailing '/', no '.' or '..' components ('/' itself allowed). */
  path: string;
  /** The same as bytes: the root Tree entry's name. */
  name: Buffer;
  /** stat of the folder (a symlink given as a source folder is followed; nothing below it is). */
  st: BigIntStats;
}

export function normalizeSource(p: string): string {
  if (!isAbsolute(p)) throw new AgentError('SOURCE_INVALID', `source path '${p}' is not absolute`);
  let n = normalize(p);
  if (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return n;
}

/**
 * Sources sorted by name bytes. A source inside another is dropped with a
 * warning (it is backed up as part of the outer one), so that no two root
 * entries overlap. A missing source, or one that is not a folder, fails the backup.
 */
export async function resolveSources(paths: string[], warn: (w: string) => void): Promise<Source[]> {
  const uniq = [...new Set(paths.map(normalizeSource))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const kept: string[] = [];
  for (const p of uniq) {
    const outer = kept.find((k) => k === '/' || p.startsWith(`${k}/`));
    if (outer) warn(`${p}: inside source folder ${outer}; backed up as part of it`);
    else kept.push(p);
  }
  const out: Source[] = [];
  for (const p of kept) {
    let st: BigIntStats;
    try {
      st = await stat(p, { bigint: true });
    } catch (e) {
      const why = errCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${errCode(e) ?? (e as Error).message})`;
      throw new AgentError('SOURCE_MISSING', `source folder ${p} ${why}`);
    }
    if (!st.isDirectory()) throw new AgentError('SOURCE_MISSING', `source folder ${p} is not a folder`);
    out.push({ path: p, name: Buffer.from(p), st });
  }
  return out;
}
