/**
 * The backup's upload pipeline: chunks are collected into query batches; each
 * batch asks the server which chunks it lacks, compresses those (in the
 * compressor's threads) and sends them, one at a time, through the uplink.
 * At most `batchesInFlight` batches are between "queried" and "fully sent";
 * add() waits for room, which is how backpressure reaches the file reader.
 * A chunk already handled in this run (remembered in a bounded two-generation
 * set) is neither queried nor sent again.
 */
import { MAX_BATCH_ITEMS } from '@strata/protocol';
import { AgentError } from '../util/errors.js';
import { makeChunk, type ChunkCompressor } from '../util/zstd.js';
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

/** For chunks offered without a per-file hint (trees): always tried. */
const NO_HINT = new CompressHint();

export class ChunkUploader {
  /** Bytes handed to uplink.send (as sent: compressed where that helped). */
  bytesSent = 0;
  /** Chunks handed to uplink.send. */
  chunksSent = 0;
  private hashes: Buffer[] = [];
  private datas: Buffer[] = [];
  private hints: (CompressHint | null)[] = [];
  private bytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private sendChain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private seen = new Set<string>();
  private seenOld = new Set<string>();
  private readonly batchChunks: number;

  constructor(
    private readonly uplink: BackupUplink,
    private readonly compressor: ChunkCompressor,
    private readonly opts: UploaderOptions,
  ) {
    this.batchChunks = Math.max(1, Math.min(opts.batchChunks, MAX_BATCH_ITEMS));
  }

  /**
   * Offers one chunk (raw bytes and their SHA-256). Resolves once the pipeline
   * has room again. `hint`: the file's compression outcome so far (see CompressHint).
   */
  async add(hash: Buffer, data: Buffer, hint?: CompressHint): Promise<void> {
    if (this.failure) throw this.failure;
    const key = hash.toString('latin1');
    if (this.seen.has(key) || this.seenOld.has(key)) return;
    this.seen.add(key);
    if (this.seen.size >= this.opts.seenLimit) {
      this.seenOld = this.seen;
      this.seen = new Set();
    }
    this.hashes.push(hash);
    this.datas.push(data);
    this.hints.push(hint ? (hint.worthTrying ? hint : null) : NO_HINT);
    this.bytes += data.length;
    if (this.hashes.length >= this.batchChunks || this.bytes >= this.opts.batchBytes) await this.flush();
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
    this.failure ??= reason;
    this.hashes = [];
    this.datas = [];
    this.hints = [];
    this.bytes = 0;
    await Promise.all(this.inFlight);
    await this.sendChain;
  }

  private async flush(): Promise<void> {
    if (this.hashes.length === 0) return;
    const hashes = this.hashes;
    const datas = this.datas;
    const hints = this.hints;
    this.hashes = [];
    this.datas = [];
    this.hints = [];
    this.bytes = 0;
    while (this.inFlight.size >= this.opts.batchesInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const p: Promise<void> = this.process(hashes, datas, hints).then(
      () => { this.inFlight.delete(p); },
      (e) => { this.inFlight.delete(p); this.failure ??= e; },
    );
    this.inFlight.add(p);
  }

  private async process(hashes: Buffer[], datas: Buffer[], hints: (CompressHint | null)[]): Promise<void> {
    const have = await this.uplink.query(hashes);
    if (!Array.isArray(have) || have.length !== hashes.length) {
      throw new AgentError('PROTOCOL', `chunk query for ${hashes.length} hashes answered with ${have?.length} flags`);
    }
    const missing: number[] = [];
    for (let i = 0; i < hashes.length; i++) if (!have[i]) missing.push(i);
    if (missing.length === 0) return;
    const raws = missing.map((i) => datas[i]!);
    // Only the chunks worth trying go to the compressor; the others stay raw (null).
    const tryIdx: number[] = [];
    for (let k = 0; k < missing.length; k++) if (hints[missing[k]!]) tryIdx.push(k);
    const compressed: (Buffer | null)[] = new Array(missing.length).fill(null);
    if (tryIdx.length) {
      const out = await this.compressor.compress(tryIdx.map((k) => raws[k]!));
      for (let t = 0; t < tryIdx.length; t++) {
        const k = tryIdx[t]!;
        compressed[k] = out[t] ?? null;
        const hint = hints[missing[k]!]!;
        hint.tried++;
        if (out[t]) hint.saved++;
      }
    }
    // One sender at a time, batch after batch: the uplink sees a single stream of send() calls.
    const prev = this.sendChain;
    const mine = (async () => {
      await prev;
      if (this.failure) throw this.failure;
      for (let k = 0; k < missing.length; k++) {
        if (this.failure) throw this.failure;
        const chunk = makeChunk(hashes[missing[k]!]!, raws[k]!, compressed[k]!);
        await this.uplink.send(chunk);
        this.bytesSent += chunk.data.length;
        this.chunksSent++;
      }
    })();
    this.sendChain = mine.catch((e) => { this.failure ??= e; });
    await mine;
  }
}
