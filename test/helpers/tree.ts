/**
 * Compares two directory trees the way a restore must reproduce a backup:
 * names as raw bytes (non-UTF-8, newlines), type, mode (incl. setuid, setgid,
 * sticky), size, mtime to the microsecond, uid/gid, symlink targets (bytes),
 * hard-link structure (which names share an inode, within each tree) and
 * content hashes. Symlinks are never followed.
 *
 *   expect(await compareTrees(src, restored)).toEqual([]);
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';

export interface CompareOptions {
  /** Compare the two top folders' own metadata too (default true). */
  root?: boolean;
  /** Compare uid/gid (default true). */
  owner?: boolean;
  /** Compare mtimes (default true); folders and symlinks included. */
  mtime?: boolean;
  /** Skip entries whose path (relative, '/'-separated, as bytes) this returns true for; their subtrees too. */
  ignore?: (rel: Buffer) => boolean;
}

export interface NodeInfo {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  mtimeUs: bigint;
  uid: number;
  gid: number;
  link?: Buffer;
  sha256?: string;
  inode: string;
}

const SLASH = Buffer.from('/');

/** Every entry below `dir` (and '' for the folder itself), keyed by the relative path's bytes in latin1. */
export async function snapshotTree(dir: string, opts: CompareOptions = {}): Promise<Map<string, NodeInfo>> {
  const out = new Map<string, NodeInfo>();
  const walk = async (abs: Buffer, rel: Buffer) => {
    const st = await lstat(abs, { bigint: true });
    const info: NodeInfo = {
      type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other',
      mode: Number(st.mode & 0o7777n), size: Number(st.size), mtimeUs: st.mtimeNs / 1000n,
      uid: Number(st.uid), gid: Number(st.gid), inode: `${st.dev}:${st.ino}`,
    };
    if (info.type === 'symlink') info.link = await readlink(abs, { encoding: 'buffer' });
    if (info.type === 'file') info.sha256 = await hashFile(abs);
    out.set(rel.toString('latin1'), info);
    if (info.type !== 'dir') return;
    const names = (await readdir(abs, { encoding: 'buffer' })).sort(Buffer.compare);
    for (const n of names) {
      const childRel = rel.length ? Buffer.concat([rel, SLASH, n]) : n;
      if (opts.ignore?.(childRel)) continue;
      await walk(Buffer.concat([abs, SLASH, n]), childRel);
    }
  };
  await walk(Buffer.from(dir), Buffer.alloc(0));
  return out;
}

/** Differences between two trees, one readable line each; [] when identical. */
export async function compareTrees(a: string, b: string, opts: CompareOptions = {}): Promise<string[]> {
  const [sa, sb] = await Promise.all([snapshotTree(a, opts), snapshotTree(b, opts)]);
  const diffs: string[] = [];
  const show = (k: string) => (k === '' ? '(top folder)' : JSON.stringify(Buffer.from(k, 'latin1').toString('utf8')));
  const groups = (s: Map<string, NodeInfo>) => {
    const byInode = new Map<string, string[]>();
    for (const [k, v] of s) if (v.type === 'file') byInode.set(v.inode, [...(byInode.get(v.inode) ?? []), k]);
    const g = new Map<string, string>();
    for (const names of byInode.values()) for (const k of names) g.set(k, names.map(show).sort().join(', '));
    return g;
  };
  const ga = groups(sa);
  const gb = groups(sb);
  for (const [k, x] of sa) {
    const y = sb.get(k);
    const p = show(k);
    if (!y) { diffs.push(`${p}: missing in ${b}`); continue; }
    if (x.type !== y.type) { diffs.push(`${p}: type ${x.type} != ${y.type}`); continue; }
    if (k === '' && opts.root === false) continue;
    if (x.type !== 'symlink' && x.mode !== y.mode) diffs.push(`${p}: mode 0o${x.mode.toString(8)} != 0o${y.mode.toString(8)}`);
    if (x.type !== 'dir' && x.size !== y.size) diffs.push(`${p}: size ${x.size} != ${y.size}`);
    if (opts.mtime !== false && x.mtimeUs !== y.mtimeUs) diffs.push(`${p}: mtime ${x.mtimeUs}us != ${y.mtimeUs}us`);
    if (opts.owner !== false && (x.uid !== y.uid || x.gid !== y.gid)) diffs.push(`${p}: owner ${x.uid}:${x.gid} != ${y.uid}:${y.gid}`);
    if (x.type === 'symlink' && !x.link!.equals(y.link!)) diffs.push(`${p}: symlink target ${JSON.stringify(x.link!.toString())} != ${JSON.stringify(y.link!.toString())}`);
    if (x.type === 'file' && x.sha256 !== y.sha256) diffs.push(`${p}: content differs`);
    if (x.type === 'file' && ga.get(k) !== gb.get(k)) diffs.push(`${p}: hard links [${ga.get(k)}] != [${gb.get(k)}]`);
  }
  for (const k of sb.keys()) if (!sa.has(k)) diffs.push(`${show(k)}: extra in ${b}`);
  return diffs;
}

async function hashFile(p: Buffer): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}
