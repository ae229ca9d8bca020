/**
 * Walks a recovery point's tree in the chunk store. Used when a backup commits:
 * it proves every referenced chunk is present and streams the point's ref list
 * (into the store's external sorter, so memory does not grow with the size of
 * the point). Tree chunks are read and hash-checked by the store.
 */
import { decodeTree, EntryType } from '@strata/protocol';
import type { ChunkStore } from '../chunk-store/index.js';
import { StrataError } from '../errors.js';

const MAX_DEPTH = 4096;

const view = (h: Uint8Array): Buffer => (Buffer.isBuffer(h) ? h : Buffer.from(h.buffer, h.byteOffset, h.byteLength));
/** Directories whose content repeats are walked once; past this many the set stops growing (walking again is only slower). */
const MAX_WALKED = 1_000_000;

/** Reads a tree (a list of chunks) whole; a Tree chunk list is small (one directory). */
async function readTreeBytes(store: ChunkStore, chunks: Uint8Array[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const h of chunks) parts.push(await store.getRaw(Buffer.from(h)));
  return Buffer.concat(parts);
}

export interface PointWalk {
  /** Every chunk the point references (tree and data), possibly repeated; ref lists de-duplicate. */
  hashes: AsyncIterable<Buffer>;
  /** Hex digests referenced but absent from the store; complete once `hashes` is consumed. */
  missing: string[];
}

/**
 * `known(hash)` says a chunk is certainly present without asking the store:
 * true for chunks referenced by a live point of the same agent (the parent),
 * which garbage collection cannot remove while this backup runs (GC waits for
 * backups that started before it). It turns ~100k index lookups into
 * in-memory searches for an incremental backup.
 */
export function walkPoint(store: ChunkStore, root: Uint8Array[], known: (hash: Buffer) => boolean = () => false): PointWalk {
  const missing: string[] = [];
  const walked = new Set<string>();
  /** In the store's index (the caller's `known` already said no). */
  const inStore = async (b: Buffer): Promise<boolean> => {
    if (await store.has(b)) return true;
    if (missing.length < 1000) missing.push(b.toString('hex'));
    return false;
  };
  async function* walk(treeChunks: Uint8Array[], depth: number): AsyncGenerator<Buffer> {
    if (depth > MAX_DEPTH) throw new StrataError('TREE_TOO_DEEP', `recovery point tree is deeper than ${MAX_DEPTH} levels`, 'invalid');
    // The same directory content (same chunk list) is walked once per point.
    const key = treeChunks.map((h) => view(h).toString('hex')).join('');
    if (walked.has(key)) return;
    if (walked.size < MAX_WALKED) walked.add(key);
    let complete = true;
    for (const h of treeChunks) {
      const b = view(h);
      yield b;
      if (!known(b) && !(await inStore(b))) complete = false;
    }
    if (!complete) return;
    const tree = decodeTree(await readTreeBytes(store, treeChunks));
    for (const e of tree.entries) {
      if (e.type === EntryType.Dir) yield* walk(e.chunks, depth + 1);
      else if (e.type === EntryType.File) {
        // Views of the decoded tree, not copies: the ref list's sorter copies what it keeps.
        // `known` is synchronous: no promise per chunk unless the store's index must be asked.
        for (const h of e.chunks) {
          const b = view(h);
          yield b;
          if (!known(b)) await inStore(b);
        }
      }
    }
  }
  return { hashes: walk(root, 0), missing };
}
