/** Tree walks: content manifests for restore verification, and du -sb sizes. */
import { createHash } from 'node:crypto';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Relative path → "size:sha256" of every regular file under `root`. */
export type Manifest = Map<string, string>;

export async function manifest(root: string): Promise<Manifest> {
  const out: Manifest = new Map();
  const buf = Buffer.allocUnsafe(4 << 20);
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.set(r, await hashFile(join(root, r), buf));
      else out.set(r, `special:${e.isSymbolicLink() ? 'symlink' : 'other'}`);
    }
  };
  await walk('');
  return out;
}

async function hashFile(path: string, buf: Buffer): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return `${size}:${h.digest('hex')}`;
}

/** Human-readable differences between two manifests (empty when equal); at most `max` lines. */
export function compareManifests(expected: Manifest, actual: Manifest, max = 5): string[] {
  const diffs: string[] = [];
  for (const [p, v] of expected) {
    const got = actual.get(p);
    if (got === undefined) diffs.push(`missing ${p}`);
    else if (got !== v) diffs.push(`differs ${p} (want ${v.slice(0, 24)}, got ${got.slice(0, 24)})`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) diffs.push(`unexpected ${p}`);
  return diffs.length > max ? [...diffs.slice(0, max), `… ${diffs.length - max} more`] : diffs;
}

/** One digest over a manifest, to show that two generated datasets are identical. */
export function manifestDigest(m: Manifest): string {
  const h = createHash('sha256');
  for (const k of [...m.keys()].sort()) h.update(`${k}\0${m.get(k)}\n`);
  return h.digest('hex').slice(0, 16);
}

/** Apparent size in bytes of everything under `path` (like `du -sb`); 0 if it does not exist. */
export async function dirBytes(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = st.size;
  for (const e of await readdir(path)) total += await dirBytes(join(path, e));
  return total;
}
