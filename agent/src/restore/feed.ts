/**
 * Chunk fetching for the restorer. ChunkFeed prefetches file data: hashes are
 * enqueued in the order the files will be written (across folders: the
 * planner in plan.ts runs ahead of the writer), fetched in requests sized by
 * expected bytes with a bounded number in flight, verified (openChunks:
 * decompress, SHA-256) and handed out by take() in the same order. A hash
 * already requested and not yet taken (zero runs, duplicate files) is not
 * requested again: its slots share one verified buffer. fetchTree reads one
 * folder's Tree.
 *
 * A file's chunk list is kept as given (the hash views of its decoded Entry)
 * until its chunks are about to be requested: a per-chunk Slot (~250 bytes
 * with its hash Buffer and key string) is made only for the chunks in the
 * request window, not for every chunk of every file enqueued ahead (a 940 MiB
 * disk image is ~60 000 chunks: ~15 MiB of Slots held at once before).
 */
import { MAX_BATCH_ITEMS, decodeTree, type Tree } from '@strata/protocol';
import { showPath } from '../util/bytes.js';
import { AgentError, checkAborted } from '../util/errors.js';
import { openChunks } from '../util/zstd.js';
import type { RestoreDownlink } from './types.js';

/** A Tree larger than this (decoded bytes) is refused as hostile. */
const MAX_TREE_BYTES = 1024 * 1024 * 1024;

export interface FeedLimits {
  /** Expected bytes per request (the server answers with one frame of at most 8 MiB: stay well under). */
  batchBytes: number;
  /** Chunks per request at most. */
  batchChunks: number;
  /** Requests in flight. */
  batchesInFlight: number;
  /** Expected bytes requested but not yet taken (bounds memory). */
  windowBytes: number;
}

/**
 * Names a file or folder in error messages: its point path, made readable
 * (showPath) only when an error is built, or ready text. (Made for every file
 * up front, the readable names were a tenth of a restore's garbage.)
 */
export type Where = Buffer | string;
const named = (w: Where): string => (typeof w === 'string' ? w : showPath(w));

/** One request: its reply, and the reply once it has arrived (so that take() need not wait on a promise). */
interface Req { p: Promise<Buffer[]>; out: Buffer[] | null }
/** Where a requested chunk's bytes will be: element `k` of a request's reply. */
interface Ref { req: Req; k: number }
/** One chunk position in the take order; `value` is set once requested (or shared with an earlier slot). */
interface Slot { hash: Buffer; key: string; where: Where; est: number; value: Ref | null }
interface Shared { ref: Ref; refs: number }
/** A file's chunks not yet made into Slots: hashes[next..]. */
interface Pending { hashes: Uint8Array[]; next: number; where: Where; est: number }

async function fetchVerified(downlink: RestoreDownlink, hashes: Buffer[], where: (k: number) => Where): Promise<Buffer[]> {
  const chunks = await downlink.fetch(hashes);
  if (!Array.isArray(chunks) || chunks.length !== hashes.length) {
    throw new AgentError('PROTOCOL', `asked for ${hashes.length} chunks of ${named(where(0))}, received ${chunks?.length}`);
  }
  return openChunks(chunks, hashes, (k) => named(where(k)));
}

export class ChunkFeed {
  private queue: (Slot | null)[] = [];
  /** Enqueued chunks after those in `queue`, in order (made into Slots by pull() as requests need them). */
  private pending: (Pending | null)[] = [];
  private pendingHead = 0;
  /** queue[..taken) are taken, queue[..requested) requested. */
  private taken = 0;
  private requested = 0;
  /** Chunks enqueued and not yet requested. */
  private unrequestedChunks = 0;
  /** Expected bytes enqueued and not taken; of those, requested. */
  private aheadBytes = 0;
  private windowBytes = 0;
  private inFlight = 0;
  /**
   * Requested, not yet taken chunks by hash: each is fetched once while in this
   * window (a duplicate later in the same request, or in a later one, shares it).
   */
  private readonly window = new Map<string, Shared>();
  /** The planner, waiting until fewer than `bytes` expected bytes are ahead. */
  private roomWaiter: { bytes: number; wake: () => void } | null = null;
  private closed = false;
  /** Chunks requested from the server (after deduplication); for tests and logs. */
  fetched = 0;

  constructor(
    private readonly downlink: RestoreDownlink,
    private readonly limits: FeedLimits,
    private readonly signal?: AbortSignal,
  ) {}

  /** Adds the chunks of one file of `size` bytes (`where` names it in errors), to be taken after everything enqueued before. */
  enqueue(hashes: Uint8Array[], where: Where, size: number): void {
    // The exact chunk sizes are unknown until fetched: estimate from the file's size.
    if (hashes.length === 0) return;
    const est = Math.max(1, Math.ceil(size / hashes.length));
    this.pending.push({ hashes, next: 0, where, est });
    this.aheadBytes += est * hashes.length;
    this.unrequestedChunks += hashes.length;
    this.pump('full');
  }

  /** Makes the next enqueued chunk a Slot at the end of `queue`; false if none is left. */
  private pull(): boolean {
    const p = this.pending[this.pendingHead];
    if (!p) return false;
    const h = p.hashes[p.next++]!;
    const hash = Buffer.isBuffer(h) ? h : Buffer.from(h.buffer, h.byteOffset, h.length);
    this.queue.push({ hash, key: hash.toString('latin1'), where: p.where, est: p.est, value: null });
    if (p.next === p.hashes.length) {
      this.pending[this.pendingHead++] = null; // let the file's list be collected
      if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
        this.pending = this.pending.slice(this.pendingHead);
        this.pendingHead = 0;
      }
    }
    return true;
  }

  /** Expected bytes enqueued and not yet taken (the planner stops enqueueing above its look-ahead). */
  get ahead(): number {
    return this.aheadBytes;
  }

  /**
   * Null when fewer than `bytes` expected bytes wait to be taken (the planner
   * goes on without yielding, so a folder's files join one request), else a
   * promise resolved once that is so or the feed is closed. One waiter at a
   * time (the planner); it is woken once, when there is room, not at every take.
   */
  room(bytes: number): Promise<void> | null {
    if (this.aheadBytes < bytes || this.closed) return null;
    if (this.roomWaiter) throw new Error('restore: two waiters for feed room');
    return new Promise<void>((wake) => { this.roomWaiter = { bytes, wake }; });
  }

  /** The writer stopped: nothing more will be taken (wakes a planner waiting for room). */
  close(): void {
    this.closed = true;
    this.wakeRoom();
  }

  private wakeRoom(): void {
    const w = this.roomWaiter;
    if (w && (this.closed || this.aheadBytes < w.bytes)) {
      this.roomWaiter = null;
      w.wake();
    }
  }

  /**
   * The next chunk's verified raw bytes: the Buffer itself when its request has
   * already been answered (the usual case: requests run ahead of the writer), so
   * that a restore does not make two promises per chunk; else a promise of it.
   */
  take(): Buffer | Promise<Buffer> {
    checkAborted(this.signal);
    const v = this.advance().value!;
    const out = v.req.out;
    if (out) {
      this.pump('full');
      return out[v.k]!;
    }
    return v.req.p.then((bufs) => {
      this.pump('full');
      return bufs[v.k]!;
    });
  }

  /** Drops the next `n` chunks unread (their file is not being written). */
  skip(n: number): void {
    for (let k = 0; k < n; k++) this.advance();
    this.pump('full');
  }

  /** The planner may wait: what is queued goes out even as a small request if the link is nearly idle. */
  flush(): void {
    this.pump('idle');
  }

  private advance(): Slot {
    if (this.taken >= this.requested) this.pump('force');
    if (this.taken >= this.queue.length) throw new Error('restore: chunk taken beyond those enqueued');
    const s = this.queue[this.taken]!;
    this.queue[this.taken++] = null; // let written chunks be collected
    this.aheadBytes -= s.est;
    this.windowBytes -= s.est;
    const sh = this.window.get(s.key);
    if (sh && --sh.refs === 0) this.window.delete(s.key);
    if (this.taken > 4096 && this.taken * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.taken);
      this.requested -= this.taken;
      this.taken = 0;
    }
    if (this.roomWaiter) this.wakeRoom();
    return s;
  }

  /**
   * Starts requests while fewer than batchesInFlight are out and the window
   * has room. A request goes out once a full one (batchBytes of expected bytes,
   * or the most chunks a request may name) is queued; a smaller one only when
   * forced (the writer waits for it; past the limits too), or in 'idle' mode
   * when fewer than two are in flight (the link would otherwise idle).
   */
  private pump(mode: 'full' | 'idle' | 'force'): void {
    let force = mode === 'force';
    const L = this.limits;
    const maxItems = Math.min(L.batchChunks, MAX_BATCH_ITEMS);
    // Forced (the writer waits for an unrequested chunk): one request goes out past the limits.
    while (this.unrequestedChunks > 0 && (force || (this.inFlight < L.batchesInFlight && this.windowBytes < L.windowBytes))) {
      const full = this.aheadBytes - this.windowBytes >= L.batchBytes || this.unrequestedChunks >= maxItems;
      // A small request waits for more unless asked for, or the link would otherwise idle.
      if (!full && !force && (mode === 'full' || this.inFlight >= 2)) return;
      force = false;
      const req: Req = { p: null!, out: null };
      const hashes: Buffer[] = [];
      const wheres: Where[] = [];
      let bytes = 0;
      let scanned = 0;
      let j = this.requested;
      for (; bytes < L.batchBytes && hashes.length < maxItems; j++) {
        if (j >= this.queue.length && !this.pull()) break;
        const s = this.queue[j]!;
        scanned += s.est;
        this.unrequestedChunks--;
        // One promise per request, not per chunk: a slot names its request and index.
        let sh = this.window.get(s.key);
        if (!sh) {
          sh = { ref: { req, k: hashes.length }, refs: 0 };
          this.window.set(s.key, sh);
          hashes.push(s.hash);
          wheres.push(s.where);
          bytes += s.est;
        }
        sh.refs++;
        s.value = sh.ref;
      }
      this.requested = j;
      this.windowBytes += scanned;
      if (hashes.length === 0) continue; // every chunk was already on its way
      req.p = fetchVerified(this.downlink, hashes, (k) => wheres[k]!);
      this.inFlight++;
      this.fetched += hashes.length;
      // A failure is handled by take(); the rejection handler also keeps it from being reported as unhandled.
      req.p.then((out) => { req.out = out; this.inFlight--; this.pump('idle'); }, () => { this.inFlight--; });
    }
  }
}

/** One folder's Tree from its chunk hashes (an empty list is an empty folder). */
export async function fetchTree(downlink: RestoreDownlink, hashes: Uint8Array[], where: string): Promise<Tree> {
  const parts: Buffer[] = [];
  let total = 0;
  for (let i = 0; i < hashes.length; i += MAX_BATCH_ITEMS) {
    const part = hashes.slice(i, i + MAX_BATCH_ITEMS).map((h) => Buffer.from(h.buffer, h.byteOffset, h.length));
    for (const raw of await fetchVerified(downlink, part, () => where)) {
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
