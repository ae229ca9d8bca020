/**
 * The backup's upload pipeline: chunks are collected into query batches; each
 * batch asks the server which chunks it lacks, compresses those (in the
 * compressor's threads) and sends them, one at a time, through the uplink.
 * At most `batchesInFlight` batches are between "queried" and "fully sent";
 * add() waits for room, which is how backpressure reaches the file reader.
 * A chunk already handled in this run (remembered in a bounded two-generation
 * set) is neither queried nor sent again. A chunk that is a view into a pool
 * block (file.ts) holds one reference, given up once its bytes are no longer
 * needed: present on the server, compressed, or sent (or, for an uplink that
 * batches by reference, released by the uplink).
 */
import { MAX_BATCH_ITEMS } from '@strata/protocol';
import { AgentError } from '../util/errors.js';
import { makeChunk, type ChunkCompressor } from '../util/zstd.js';
import type { Block, BlockPool } from '../util/pool.js';
import type { BackupUplink } from './types.js';

/**
 * Per-file compression outcome. Compressing incompressible data (random,
 * already compressed) costs a copy into the worker and the worker's CPU for
 * nothing, on a machine whose cores are shared with the reader and the
 * network; so once a file's first PROBE_CHUNKS chunks saved nothing, the rest
 * of that file travels raw without trying. (A text file still compresses.)
 */
export class CompressHint {
  tried = 0;
  saved = 0;
  get worthTrying(): boolean {
    return this.tried < PROBE_CHUNKS || this.saved > 0;
  }
}
const PROBE_CHUNKS = 8;

export interface UploaderOptions {
  batchChunks: number;
  batchBytes: number;
  batchesInFlight: number;
  seenLimit: number;
}

/**
 * The hashes of one generation of recently seen chunks, in fixed memory: an
 * open-addressing table of whole 32-byte keys (never a prefix: a false
 * "seen" would leave a chunk unsent) in one Int32Array, at most 3/4 full.
 * A Set of latin1 strings cost ~80 bytes of JS heap per hash plus its
 * rehashing; this costs 33 bytes per slot, allocated once per run, and gives
 * the garbage collector nothing to trace.
 */
export class HashTable {
  private readonly keys: Int32Array;
  private readonly used: Uint8Array;
  private readonly mask: number;
  size = 0;

  /** Room for `limit` hashes (the table has the next power of two ≥ 4/3 × limit slots). */
  constructor(readonly limit: number) {
    let slots = 16;
    while (slots * 3 < limit * 4) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Int32Array(slots * 8);
    this.used = new Uint8Array(slots);
  }

  /** Bytes the table holds (fixed). */
  get bytes(): number {
    return this.keys.byteLength + this.used.byteLength;
  }

  has(h: Buffer): boolean {
    return this.find(h) >= 0;
  }

  /** Adds `h` (a 32-byte hash) unless present; false when the table is full (nothing added). */
  add(h: Buffer): boolean {
    const i = this.find(h);
    if (i >= 0) return true;
    if (this.size >= this.limit) return false;
    const slot = ~i;
    const k = slot * 8;
    for (let w = 0; w < 8; w++) this.keys[k + w] = h.readInt32LE(w * 4);
    this.used[slot] = 1;
    this.size++;
    return true;
  }

  clear(): void {
    this.used.fill(0);
    this.size = 0;
  }

  /** The slot holding `h`, or ~(the free slot where it would go). SHA-256 bytes are uniform: the first word is the index. */
  private find(h: Buffer): number {
    if (h.length !== 32) throw new RangeError(`a chunk hash is 32 bytes, not ${h.length}`);
    const w0 = h.readInt32LE(0);
    for (let slot = w0 & this.mask; ; slot = (slot + 1) & this.mask) {
      if (!this.used[slot]) return ~slot;
      const k = slot * 8;
      if (this.keys[k] === w0 && this.keys[k + 1] === h.readInt32LE(4) && this.keys[k + 2] === h.readInt32LE(8) && this.keys[k + 3] === h.readInt32LE(12)
        && this.keys[k + 4] === h.readInt32LE(16) && this.keys[k + 5] === h.readInt32LE(20) && this.keys[k + 6] === h.readInt32LE(24) && this.keys[k + 7] === h.readInt32LE(28)) return slot;
    }
  }
}

/** Where a file's chunk hashes go while it is read (a plain array for small files). */
export interface HashSink { push(h: Buffer): unknown }

/**
 * A large file's chunk hashes, packed 32 bytes each while the file is read
 * (each digest is its own Buffer and ArrayBuffer, ~300 bytes with their
 * overhead, so a 1 GiB file's ~65 000 hashes cost ~19 MiB kept as they
 * were); views() makes the Entry's list when the file is done, and the walker
 * encodes and drops it soon after (walker.ts, TreeBuilder).
 */
export class PackedHashes implements HashSink {
  private buf = Buffer.allocUnsafe(32 * 64);
  private n = 0;

  push(h: Buffer): void {
    if (h.length !== 32) throw new RangeError(`a chunk hash is 32 bytes, not ${h.length}`);
    if ((this.n + 1) * 32 > this.buf.length) {
      const grown = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(grown, 0, 0, this.n * 32);
      this.buf = grown;
    }
    h.copy(this.buf, this.n * 32);
    this.n++;
  }

  views(): Buffer[] {
    const out = new Array<Buffer>(this.n);
    for (let i = 0; i < this.n; i++) out[i] = this.buf.subarray(i * 32, i * 32 + 32);
    return out;
  }
}

/** For chunks offered without a per-file hint (trees): always tried. */
const NO_HINT = new CompressHint();

export class ChunkUploader {
  /** Bytes handed to uplink.send (as sent: compressed where that helped). */
  bytesSent = 0;
  /** Chunks handed to uplink.send. */
  chunksSent = 0;
  private hashes: Buffer[] = [];
  private datas: Buffer[] = [];
  /** The pool block each chunk is a view into (it holds one reference), or null. */
  private blocks: (Block | null)[] = [];
  private hints: (CompressHint | null)[] = [];
  private bytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private sendChain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private starving = false;
  private starvedAgain = false;
  /** Two generations of recently seen hashes: when `seen` is full it becomes `seenOld` (whose table is cleared and reused). */
  private seen: HashTable;
  private seenOld: HashTable;
  private readonly batchChunks: number;

  constructor(
    private readonly uplink: BackupUplink,
    private readonly compressor: ChunkCompressor,
    private readonly opts: UploaderOptions,
  ) {
    this.batchChunks = Math.max(1, Math.min(opts.batchChunks, MAX_BATCH_ITEMS));
    this.seen = new HashTable(Math.max(1, opts.seenLimit));
    this.seenOld = new HashTable(Math.max(1, opts.seenLimit));
  }

  /**
   * Offers one chunk (raw bytes and their SHA-256). Resolves once the pipeline
   * has room again. `hint`: the file's compression outcome so far (see CompressHint).
   */
  async add(hash: Buffer, data: Buffer, hint?: CompressHint, block?: Block): Promise<void> {
    if (this.failure) {
      block?.release();
      throw this.failure;
    }
    if (this.seenOld.has(hash) || !this.remember(hash)) {
      block?.release();
      return;
    }
    this.hashes.push(hash);
    this.datas.push(data);
    this.blocks.push(block ?? null);
    this.hints.push(hint ? (hint.worthTrying ? hint : null) : NO_HINT);
    this.bytes += data.length;
    if (this.hashes.length >= this.batchChunks || this.bytes >= this.opts.batchBytes) await this.flush();
  }

  /** Adds `hash` to the seen hashes; false if it was there already. */
  private remember(hash: Buffer): boolean {
    const before = this.seen.size;
    if (!this.seen.add(hash)) {
      const old = this.seenOld;
      old.clear();
      this.seenOld = this.seen;
      this.seen = old;
      this.seen.add(hash);
      return true;
    }
    return this.seen.size > before;
  }

  /** Sends what is pending and waits until every chunk was handed to the uplink. */
  async finish(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight);
    await this.sendChain;
    if (this.failure) throw this.failure;
  }

  /** After a failure or cancel: drops what is pending, stops sending, waits for calls already made. */
  async abandon(reason: unknown): Promise<void> {
    this.fail(reason);
    for (const b of this.blocks) b?.release();
    this.hashes = [];
    this.datas = [];
    this.blocks = [];
    this.hints = [];
    this.bytes = 0;
    await Promise.all(this.inFlight);
    await this.sendChain;
  }

  /**
   * The block pool ran dry (the reader waits): what is batched here, and what
   * the uplink batched, holds blocks, so it goes out now rather than when full.
   */
  starved(): void {
    if (this.failure) return;
    if (this.starving) {
      this.starvedAgain = true; // chunks added meanwhile may hold the blocks the reader waits for
      return;
    }
    this.starving = true;
    this.starvedAgain = false;
    const run = async () => {
      await this.flush();
      await Promise.all(this.inFlight);
      await this.sendChain;
      await this.uplink.flush?.();
    };
    run().catch((e) => this.fail(e)).finally(() => {
      this.starving = false;
      if (this.starvedAgain) this.starved();
    });
  }

  /** The run's block pool (compressed frames are put there when a block is at hand). */
  pool: BlockPool | null = null;

  /** Called once, with the first failure (the run's block pool must stop waiters). */
  onFailure: ((e: unknown) => void) | null = null;

  private fail(e: unknown): void {
    if (this.failure) return;
    this.failure = e;
    this.onFailure?.(e);
  }

  private async flush(): Promise<void> {
    if (this.hashes.length === 0) return;
    const hashes = this.hashes;
    const datas = this.datas;
    const blocks = this.blocks;
    const hints = this.hints;
    this.hashes = [];
    this.datas = [];
    this.blocks = [];
    this.hints = [];
    this.bytes = 0;
    while (this.inFlight.size >= this.opts.batchesInFlight) await Promise.race(this.inFlight);
    if (this.failure) {
      for (const b of blocks) b?.release();
      throw this.failure;
    }
    const p: Promise<void> = this.process(hashes, datas, blocks, hints).then(
      () => { this.inFlight.delete(p); },
      (e) => { this.inFlight.delete(p); this.fail(e); },
    );
    this.inFlight.add(p);
  }

  private async process(hashes: Buffer[], datas: Buffer[], blocks: (Block | null)[], hints: (CompressHint | null)[]): Promise<void> {
    // Each block reference is given up exactly once: here, or by the uplink (releasesData).
    const release = (i: number) => {
      const b = blocks[i];
      blocks[i] = null;
      b?.release();
    };
    try {
      await this.queryCompressSend(hashes, datas, blocks, hints, release);
    } finally {
      for (let i = 0; i < blocks.length; i++) release(i);
    }
  }

  private async queryCompressSend(hashes: Buffer[], datas: Buffer[], blocks: (Block | null)[], hints: (CompressHint | null)[], release: (i: number) => void): Promise<void> {
    const have = await this.uplink.query(hashes);
    if (!Array.isArray(have) || have.length !== hashes.length) {
      throw new AgentError('PROTOCOL', `chunk query for ${hashes.length} hashes answered with ${have?.length} flags`);
    }
    const missing: number[] = [];
    for (let i = 0; i < hashes.length; i++) {
      if (!have[i]) missing.push(i);
      else release(i); // the server has it: its bytes are not needed any more
    }
    if (missing.length === 0) return;
    const raws = missing.map((i) => datas[i]!);
    // Only the chunks worth trying go to the compressor; the others stay raw (null).
    const tryIdx: number[] = [];
    for (let k = 0; k < missing.length; k++) if (hints[missing[k]!]) tryIdx.push(k);
    const compressed: (Buffer | null)[] = new Array(missing.length).fill(null);
    if (tryIdx.length) {
      // Kept frames go into pool blocks when one is at hand (never waiting: the reader may hold
      // the rest), so they cost no fresh Buffer; such a frame takes over its chunk's reference.
      const framed = new Map<Buffer, Block>();
      const into = (n: number): Buffer => {
        const r = this.pool && n <= this.pool.blockSize ? this.pool.tryTake(n) : null;
        if (!r) return Buffer.allocUnsafe(n);
        framed.set(r.buf, r.block);
        return r.buf;
      };
      let out: (Buffer | null)[];
      try {
        out = await this.compressor.compress(tryIdx.map((k) => raws[k]!), into);
      } catch (e) {
        for (const b of framed.values()) b.release();
        throw e;
      }
      for (let t = 0; t < tryIdx.length; t++) {
        const k = tryIdx[t]!;
        const i = missing[k]!;
        const frame = out[t] ?? null;
        compressed[k] = frame;
        const hint = hints[i]!;
        hint.tried++;
        if (frame) {
          hint.saved++;
          release(i); // the raw bytes are not needed any more
          blocks[i] = framed.get(frame) ?? null;
        }
      }
    }
    // One sender at a time, batch after batch: the uplink sees a single stream of send() calls.
    const prev = this.sendChain;
    const holds = this.uplink.releasesData === true;
    const mine = (async () => {
      await prev;
      if (this.failure) throw this.failure;
      for (let k = 0; k < missing.length; k++) {
        if (this.failure) throw this.failure;
        const i = missing[k]!;
        const chunk = makeChunk(hashes[i]!, raws[k]!, compressed[k]!);
        const b = blocks[i];
        if (holds && b) {
          blocks[i] = null; // the uplink releases it once it no longer refers to the bytes
          await this.uplink.send(chunk, () => b.release());
        } else {
          await this.uplink.send(chunk);
          release(i);
        }
        this.bytesSent += chunk.data.length;
        this.chunksSent++;
      }
    })();
    this.sendChain = mine.catch((e) => this.fail(e));
    await mine;
  }
}
