/**
 * Chunk fetching for the restorer. ChunkFeed prefetches file data: hashes are
 * enqueued in the order the files will be written, fetched in batches with a
 * bounded number in flight, verified (openChunk: decompress, SHA-256) and
 * handed out by take() in the same order. fetchTree reads one folder's Tree.
 */
import { MAX_BATCH_ITEMS, decodeTree, type Tree } from '@strata/protocol';
import { AgentError, checkAborted } from '../util/errors.js';
import { openChunk } from '../util/zstd.js';
import type { RestoreDownlink } from './types.js';

/** A Tree larger than this (decoded bytes) is refused as hostile. */
const MAX_TREE_BYTES = 1024 * 1024 * 1024;

interface Item { hash: Buffer; where: string }
interface Batch { p: Promise<Buffer[]> }

async function fetchVerified(downlink: RestoreDownlink, items: Item[]): Promise<Buffer[]> {
  const chunks = await downlink.fetch(items.map((i) => i.hash));
  if (!Array.isArray(chunks) || chunks.length !== items.length) {
    throw new AgentError('PROTOCOL', `asked for ${items.length} chunks of ${items[0]?.where}, received ${chunks?.length}`);
  }
  return chunks.map((c, k) => openChunk(c, items[k]!.hash, items[k]!.where));
}

export class ChunkFeed {
  private queue: Item[] = [];
  private head = 0;
  private readonly batches: Batch[] = [];
  private current: Buffer[] = [];
  private index = 0;

  constructor(
    private readonly downlink: RestoreDownlink,
    private readonly batchChunks: number,
    private readonly inFlight: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Adds the chunks of one file (`where` names it in errors), to be taken after everything enqueued before. */
  enqueue(hashes: Uint8Array[], where: string): void {
    for (const h of hashes) this.queue.push({ hash: Buffer.from(h.buffer, h.byteOffset, h.length), where });
    this.pump();
  }

  /** The next chunk's verified raw bytes. */
  async take(): Promise<Buffer> {
    if (this.index < this.current.length) return this.next();
    checkAborted(this.signal);
    this.pump();
    const b = this.batches.shift();
    if (!b) throw new Error('restore: chunk taken beyond those enqueued');
    this.current = await b.p;
    this.index = 0;
    this.pump();
    return this.next();
  }

  private next(): Buffer {
    const b = this.current[this.index]!;
    this.current[this.index++] = EMPTY; // let written chunks be collected
    return b;
  }

  private pump(): void {
    while (this.batches.length < this.inFlight && this.head < this.queue.length) {
      const n = Math.min(this.batchChunks, MAX_BATCH_ITEMS, this.queue.length - this.head);
      const items = this.queue.slice(this.head, this.head + n);
      this.head += n;
      const p = fetchVerified(this.downlink, items);
      p.catch(() => {}); // handled by take(); this only prevents an unhandled-rejection report
      this.batches.push({ p });
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** One folder's Tree from its chunk hashes (an empty list is an empty folder). */
export async function fetchTree(downlink: RestoreDownlink, hashes: Uint8Array[], where: string): Promise<Tree> {
  const parts: Buffer[] = [];
  let total = 0;
  for (let i = 0; i < hashes.length; i += MAX_BATCH_ITEMS) {
    const items = hashes.slice(i, i + MAX_BATCH_ITEMS).map((h) => ({ hash: Buffer.from(h.buffer, h.byteOffset, h.length), where }));
    for (const raw of await fetchVerified(downlink, items)) {
      total += raw.length;
      if (total > MAX_TREE_BYTES) throw new AgentError('TREE_INVALID', `refusing to restore ${where}: its folder listing exceeds ${MAX_TREE_BYTES} bytes`);
      parts.push(raw);
    }
  }
  try {
    return decodeTree(parts.length === 1 ? parts[0]! : Buffer.concat(parts, total));
  } catch (e) {
    throw new AgentError('TREE_INVALID', `refusing to restore ${where}: its folder listing does not decode (${(e as Error).message})`);
  }
}
