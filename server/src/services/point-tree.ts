/**
 * Walks a recovery point's tree in the chunk store. Used when a backup commits:
 * it proves every referenced chunk is present and yields the point's ref list.
 * Tree chunks are read and hash-checked by the store.
 */
import { decodeTree, EntryType } from '@strata/protocol';
import type { ChunkStore } from '../chunk-store/index.js';
import { StrataError } from '../errors.js';

const MAX_DEPTH = 4096;

export interface PointChunks {
  /** Every chunk the point references (tree and data); may repeat (ref lists de-duplicate). */
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

/**
 * `known(hash)` says a chunk is certainly present without asking the store:
 * true for chunks referenced by a live point of the same agent (the parent),
 * which garbage collection cannot remove while this backup runs (GC waits for
 * backups that started before it). It turns ~100k index lookups into
 * in-memory binary searches for an incremental backup.
 */
export async function collectPointChunks(
  store: ChunkStore, root: Uint8Array[], known: (hash: Buffer) => boolean = () => false,
): Promise<PointChunks> {
  const hashes: Buffer[] = [];
  const missing: string[] = [];
  const walked = new Set<string>();
  const checked = new Set<string>();
  const present = async (b: Buffer): Promise<boolean> => {
    if (known(b)) return true;
    const hex = b.toString('hex');
    if (checked.has(hex)) return !missing.includes(hex);
    checked.add(hex);
    if (await store.has(b)) return true;
    missing.push(hex);
    return false;
  };
  const walk = async (treeChunks: Uint8Array[], depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new StrataError('TREE_TOO_DEEP', `recovery point tree is deeper than ${MAX_DEPTH} levels`, 'invalid');
    // The same directory content (same chunk list) is walked once per point.
    const key = treeChunks.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex')).join('');
    if (walked.has(key)) return;
    walked.add(key);
    let complete = true;
    for (const h of treeChunks) {
      const b = Buffer.from(h);
      hashes.push(b);
      if (!(await present(b))) complete = false;
    }
    if (!complete) return;
    const tree = decodeTree(await readTreeBytes(store, treeChunks));
    for (const e of tree.entries) {
      if (e.type === EntryType.Dir) await walk(e.chunks, depth + 1);
      else if (e.type === EntryType.File) {
        for (const h of e.chunks) {
          const b = Buffer.from(h);
          hashes.push(b);
          await present(b);
        }
      }
    }
  };
  await walk(root, 0);
  return { hashes, missing };
}
