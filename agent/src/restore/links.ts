/**
 * Hard links in a point: linkTarget is the point path of the file's first
 * name (root entry name + '/' + names below it; docs/chunking.md). A target
 * must name a root entry, consist of valid names and come strictly earlier in
 * the point's depth-first order than the link; anything else is hostile.
 */
import { lstat } from 'node:fs/promises';
import { showPath, joinPath } from '../util/bytes.js';
import { AgentError } from '../util/errors.js';
import { under } from './select.js';
import { checkName, splitBytes } from './validate.js';

/** A position in the point: root entry index and the names below it. */
export interface LinkPos { root: number; comps: Buffer[] }

export function resolveLink(target: Buffer, roots: Buffer[], from: LinkPos, where: string): LinkPos {
  const ri = roots.findIndex((r) => under(target, r));
  if (ri < 0) throw new AgentError('TREE_INVALID', `refusing to restore ${where}: hard link target '${showPath(target)}' is outside the point`);
  const r = roots[ri]!;
  if (target.length === r.length) throw new AgentError('TREE_INVALID', `refusing to restore ${where}: hard link target '${showPath(target)}' is a root folder`);
  const rest = target.subarray(r.length === 1 ? 1 : r.length + 1);
  const comps = splitBytes(rest);
  for (const c of comps) checkName(c, `${where} (hard link target)`);
  const at = { root: ri, comps };
  if (comparePos(at, from) >= 0) {
    throw new AgentError('TREE_INVALID', `refusing to restore ${where}: hard link target '${showPath(target)}' does not come before the link`);
  }
  return at;
}

/** Depth-first order of two positions (names sorted by bytes; a folder before its contents). */
export function comparePos(a: LinkPos, b: LinkPos): number {
  if (a.root !== b.root) return a.root - b.root;
  const n = Math.min(a.comps.length, b.comps.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(a.comps[i]!, b.comps[i]!);
    if (c !== 0) return c;
  }
  return a.comps.length - b.comps.length;
}

/**
 * The restored file at `comps` below `rootDest`, reached without following
 * any symlink (each folder lstat-checked), or null if it is not a regular file.
 */
export async function safeExistingFile(rootDest: Buffer, comps: Buffer[]): Promise<Buffer | null> {
  let p = rootDest;
  for (let i = 0; i < comps.length; i++) {
    p = joinPath(p, comps[i]!);
    const st = await lstat(p).catch(() => null);
    if (!st) return null;
    if (i < comps.length - 1 ? !st.isDirectory() : !st.isFile()) return null;
  }
  return p;
}
