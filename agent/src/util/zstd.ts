/**
 * Chunk compression (zstd via zstd-napi) and verified decompression.
 *
 * zstd-napi is synchronous, so the backup compresses in worker threads
 * (WorkerCompressor) while the main thread reads, chunks and hashes; an
 * InlineCompressor does the same work on the calling thread (tests, or where
 * workers are unwanted). A chunk is stored compressed only when that saves at
 * least MIN_SAVING of its size; otherwise it travels raw (COMPRESSION_NONE).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Compression, MAX_CHUNK_BYTES, type Chunk } from '@strata/protocol';
import { AgentError } from './errors.js';
import { hex } from './bytes.js';
import { sha256 } from './hash.js';

type Binding = typeof import('zstd-napi/binding');
const require = createRequire(import.meta.url);
const BINDING_PATH = require.resolve('zstd-napi/binding');
const binding = require(BINDING_PATH) as Binding;

/** zstd level for chunks: level 1 keeps compression off the critical path (~0.75 GB/s per core). */
export const ZSTD_LEVEL = 1;
/** A compressed chunk is kept only if it is at least this fraction smaller than the raw bytes. */
export const MIN_SAVING = 0.03;

export interface ChunkCompressor {
  /**
   * For each raw chunk, its zstd frame, or null when compression does not save MIN_SAVING. Order is kept.
   * `into(n)`: where to put a kept frame of n bytes (the caller's pooled memory; the Buffer it returns is
   * the one given back); default a fresh Buffer.
   */
  compress(raws: Buffer[], into?: (n: number) => Buffer): Promise<(Buffer | null)[]>;
  /** Releases threads; no call may follow. */
  close(): Promise<void>;
}

/** A protocol Chunk from raw bytes and (maybe) their compressed form. */
export function makeChunk(hash: Buffer, raw: Buffer, compressed: Buffer | null): Chunk {
  return compressed
    ? { hash, compression: Compression.Zstd, rawSize: raw.length, data: compressed }
    : { hash, compression: Compression.None, rawSize: raw.length, data: raw };
}

const fresh = (n: number): Buffer => Buffer.allocUnsafe(n);

export class InlineCompressor implements ChunkCompressor {
  private readonly cctx = new binding.CCtx();
  private scratch = Buffer.allocUnsafe(0);

  async compress(raws: Buffer[], into: (n: number) => Buffer = fresh): Promise<(Buffer | null)[]> {
    return raws.map((raw) => {
      const bound = binding.compressBound(raw.length);
      if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(bound);
      const n = this.cctx.compress(this.scratch, raw, ZSTD_LEVEL);
      if (n > raw.length * (1 - MIN_SAVING)) return null;
      const out = into(n);
      this.scratch.copy(out, 0, 0, n);
      return out;
    });
  }

  async close(): Promise<void> {}
}

/*
 * The worker's code, run with `eval` so that it loads in every runtime (tsx,
 * vitest, a bundle) without a separate file. Memory is shared and reused: the
 * main thread copies a group of raw chunks into a slot's input buffer; the
 * worker compresses each into its own scratch buffer and copies only the
 * frames worth keeping into the slot's output buffer; the reply is their
 * lengths (-1 = keep raw). (Fresh buffers per batch cost more in page faults
 * than zstd spends on incompressible data.)
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.bindingPath);
const cctx = new binding.CCtx();
let scratch = Buffer.allocUnsafe(binding.compressBound(128 * 1024));
parentPort.on('message', (m) => {
  const src = Buffer.from(m.input);
  const out = Buffer.from(m.output);
  const lens = new Int32Array(m.sizes.length);
  let inOff = 0, outOff = 0;
  for (let i = 0; i < m.sizes.length; i++) {
    const n = m.sizes[i];
    const bound = binding.compressBound(n);
    if (scratch.length < bound) scratch = Buffer.allocUnsafe(bound);
    const c = cctx.compress(scratch, src.subarray(inOff, inOff + n), workerData.level);
    if (c <= n * (1 - workerData.minSaving)) {
      scratch.copy(out, outOff, 0, c);
      lens[i] = c;
      outOff += c;
    } else {
      lens[i] = -1;
    }
    inOff += n;
  }
  parentPort.postMessage({ id: m.id, lens }, [lens.buffer]);
});
`;

/** Raw bytes one slot takes (a larger batch is split into groups; a larger single chunk is compressed inline). */
const SLOT_BYTES = 2 * 1024 * 1024;

interface Slot { input: SharedArrayBuffer; output: SharedArrayBuffer }
interface Pending { resolve: (lens: Int32Array) => void; reject: (e: Error) => void }

export class WorkerCompressor implements ChunkCompressor {
  private readonly workers: { w: Worker; load: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly free: Slot[] = [];
  private readonly slotWaiters: ((s: Slot) => void)[] = [];
  private readonly inline = new InlineCompressor();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(threads = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { bindingPath: BINDING_PATH, level: ZSTD_LEVEL, minSaving: MIN_SAVING },
      });
      const worker = { w, load: 0 };
      w.on('message', (m: { id: number; lens: Int32Array }) => {
        // Referenced only while it has work: an idle pool must not keep the process alive, a busy one must.
        if (--worker.load === 0) w.unref();
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m.lens);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => { if (code !== 0) this.fail(new Error(`compression worker exited with code ${code}`)); });
      w.unref();
      this.workers.push(worker);
    }
    for (let i = 0; i < threads * 2 + 1; i++) this.free.push({ input: new SharedArrayBuffer(SLOT_BYTES), output: new SharedArrayBuffer(SLOT_BYTES) });
  }

  async compress(raws: Buffer[], into: (n: number) => Buffer = fresh): Promise<(Buffer | null)[]> {
    const parts: Promise<(Buffer | null)[]>[] = [];
    let group: Buffer[] = [];
    let bytes = 0;
    for (const r of raws) {
      if (r.length > SLOT_BYTES) {
        if (group.length) parts.push(this.compressGroup(group, into));
        parts.push(this.inline.compress([r], into));
        group = [];
        bytes = 0;
        continue;
      }
      if (bytes + r.length > SLOT_BYTES) {
        parts.push(this.compressGroup(group, into));
        group = [];
        bytes = 0;
      }
      group.push(r);
      bytes += r.length;
    }
    if (group.length) parts.push(this.compressGroup(group, into));
    return (await Promise.all(parts)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.w.terminate()));
    this.fail(new Error('compressor closed'));
  }

  private async compressGroup(raws: Buffer[], into: (n: number) => Buffer): Promise<(Buffer | null)[]> {
    if (this.failure) throw this.failure;
    const slot = this.free.pop() ?? await new Promise<Slot>((r) => this.slotWaiters.push(r));
    try {
      const input = Buffer.from(slot.input);
      const sizes = new Array<number>(raws.length);
      let off = 0;
      for (let i = 0; i < raws.length; i++) {
        raws[i]!.copy(input, off);
        off += raws[i]!.length;
        sizes[i] = raws[i]!.length;
      }
      const id = this.nextId++;
      const worker = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
      if (worker.load++ === 0) worker.w.ref();
      const lens = await new Promise<Int32Array>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        this.pending.set(id, { resolve, reject });
        worker.w.postMessage({ id, input: slot.input, output: slot.output, sizes });
      });
      const output = Buffer.from(slot.output);
      const result = new Array<Buffer | null>(raws.length);
      let outOff = 0;
      for (let i = 0; i < raws.length; i++) {
        const len = lens[i]!;
        if (len < 0) { result[i] = null; continue; }
        const frame = into(len); // a copy: the slot is reused
        output.copy(frame, 0, outOff, outOff + len);
        result[i] = frame;
        outOff += len;
      }
      return result;
    } finally {
      const next = this.slotWaiters.shift();
      if (next) next(slot); else this.free.push(slot);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

const dctx = new binding.DCtx();
/** The most raw bytes of one reply decompressed into a single allocation. */
const REGION_MAX = 16 * 1024 * 1024;

/**
 * The raw bytes of a stored chunk, checked: decompressed when zstd (into
 * exactly rawSize bytes, so a hostile frame cannot inflate beyond that) and
 * hashed against `expected`. `where` names the file or folder for the error.
 */
export function openChunk(chunk: Chunk, expected: Uint8Array, where: string): Buffer {
  return openChunks([chunk], [expected], () => where)[0]!;
}

/**
 * openChunk for every chunk of one reply (same order as `expected`). The zstd
 * chunks are decompressed into one allocation for the whole reply (views of
 * it are returned) instead of a Buffer each: at ~65 000 chunks per GiB the
 * per-chunk ArrayBuffers were a large part of the restore's garbage-collection
 * work. Raw chunks stay views of the received frame. `where(k)` names the
 * file or folder of chunk k, called only to build an error message.
 */
export function openChunks(chunks: Chunk[], expected: Uint8Array[], where: (k: number) => string): Buffer[] {
  let total = 0;
  for (let k = 0; k < chunks.length; k++) {
    const c = chunks[k]!;
    if (!equalBytes(c.hash, expected[k]!)) {
      throw new AgentError('PROTOCOL', `chunk ${hex(expected[k]!)} of ${where(k)}: server sent chunk ${hex(c.hash)} instead`);
    }
    if (c.compression === Compression.Zstd) {
      if (!Number.isSafeInteger(c.rawSize) || c.rawSize < 0 || c.rawSize > MAX_CHUNK_BYTES) {
        throw new AgentError('CHUNK_CORRUPT', `chunk ${hex(expected[k]!)} of ${where(k)}: declared size ${c.rawSize} is out of range`);
      }
      total += c.rawSize;
    } else if (c.compression !== Compression.None) {
      throw new AgentError('CHUNK_CORRUPT', `chunk ${hex(expected[k]!)} of ${where(k)} has unknown compression ${String(c.compression)}`);
    }
  }
  // A reply claiming more than a frame's worth of raw bytes gets a Buffer per chunk, as each is checked.
  const region = total > 0 && total <= REGION_MAX ? Buffer.allocUnsafeSlow(total) : null;
  let at = 0;
  const out = new Array<Buffer>(chunks.length);
  for (let k = 0; k < chunks.length; k++) {
    const c = chunks[k]!;
    let raw: Buffer;
    if (c.compression === Compression.None) {
      raw = asBuffer(c.data);
    } else {
      raw = region ? region.subarray(at, at + c.rawSize) : Buffer.allocUnsafe(c.rawSize);
      at += c.rawSize;
      let n: number;
      try {
        n = dctx.decompress(raw, c.data);
      } catch (e) {
        throw new AgentError('CHUNK_CORRUPT', `chunk ${hex(expected[k]!)} of ${where(k)} does not decompress: ${(e as Error).message}`);
      }
      if (n !== c.rawSize) {
        throw new AgentError('CHUNK_CORRUPT', `chunk ${hex(expected[k]!)} of ${where(k)} decompresses to ${n} bytes, not ${c.rawSize}`);
      }
    }
    const got = sha256(raw);
    if (!equalBytes(got, expected[k]!)) {
      throw new AgentError('CHUNK_CORRUPT', `chunk ${hex(expected[k]!)} of ${where(k)} is corrupt: its bytes hash to ${got.toString('hex')}`);
    }
    out[k] = raw;
  }
  return out;
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && asBuffer(a).equals(b);
