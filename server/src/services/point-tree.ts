/**
 * Walks a recovery point's tree in the chunk store. Used when a backup commits
 * (to prove every referenced chunk is durable and to write the point's ref
 * list) and by verify. Tree chunks are read and hash-checked by the store.
 */
import { decodeTree, EntryType } from '@strata/protocol';
import type { ChunkStore } from '../chunk-store/index.js';
import { StrataError } from '../errors.js';

const MAX_DEPTH = 4096;

export interface PointChunks {
  /** Every chunk the point references (tree and data), unique, in walk order. */
  hashes: Buffer[];
  /** Hex digests referenced but absent from the store. */
  missing: string[];
}

/** Reads a tree (a list of chunks) whole; a Tree chunk list is small (one directory). */
export async function readTreeBytes(store: ChunkStore, chunks: Uint8Array[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const h of chunks) parts.push(await store.getRaw(Buffer.from(h)));
  return Buffer.concat(parts);
}

export async function collectPointChunks(store: ChunkStore, root: Uint8Array[]): Promise<PointChunks> {
  const seen = new Set<string>();
  const hashes: Buffer[] = [];
  const missing: string[] = [];
  const walked = new Set<string>();
  const missingSet = new Set<string>();
  const add = async (h: Uint8Array): Promise<boolean> => {
    const b = Buffer.from(h);
    const hex = b.toString('hex');
    if (seen.has(hex)) return false;
    seen.add(hex);
    hashes.push(b);
    if (!(await store.has(b))) {
      missing.push(hex);
      missingSet.add(hex);
      return false;
    }
    return true;
  };
  const walk = async (treeChunks: Uint8Array[], depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new StrataError('TREE_TOO_DEEP', `recovery point tree is deeper than ${MAX_DEPTH} levels`, 'invalid');
    // The same directory content (same chunk list) is walked once per point.
    const key = treeChunks.map((h) => Buffer.from(h).toString('hex')).join('');
    if (walked.has(key)) return;
    walked.add(key);
    for (const h of treeChunks) await add(h);
    if (treeChunks.some((h) => missingSet.has(Buffer.from(h).toString('hex')))) return;
    const tree = decodeTree(await readTreeBytes(store, treeChunks));
    for (const e of tree.entries) {
      if (e.type === EntryType.Dir) await walk(e.chunks, depth + 1);
      else if (e.type === EntryType.File) for (const h of e.chunks) await add(h);
    }
  };
  await walk(root, 0);
  return { hashes, missing };
}
