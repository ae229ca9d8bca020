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
  /** For each raw chunk, its zstd frame, or null when compression does not save MIN_SAVING. Order is kept. */
  compress(raws: Buffer[]): Promise<(Buffer | null)[]>;
  /** Releases threads; no call may follow. */
  close(): Promise<void>;
}

/** A protocol Chunk from raw bytes and (maybe) their compressed form. */
export function makeChunk(hash: Buffer, raw: Buffer, compressed: Buffer | null): Chunk {
  return compressed
    ? { hash, compression: Compression.Zstd, rawSize: raw.length, data: compressed }
    : { hash, compression: Compression.None, rawSize: raw.length, data: raw };
}

export class InlineCompressor implements ChunkCompressor {
  private readonly cctx = new binding.CCtx();
  private scratch = Buffer.allocUnsafe(0);

  async compress(raws: Buffer[]): Promise<(Buffer | null)[]> {
    return raws.map((raw) => {
      const bound = binding.compressBound(raw.length);
      if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(bound);
      const n = this.cctx.compress(this.scratch, raw, ZSTD_LEVEL);
      return n <= raw.length * (1 - MIN_SAVING) ? Buffer.from(this.scratch.subarray(0, n)) : null;
    });
  }

  async close(): Promise<void> {}
}

/*
 * The worker's code, run with `eval` so that it loads in every runtime (tsx,
 * vitest, a bundle) without a separate file. Request: one ArrayBuffer holding
 * the raw chunks back to back plus their sizes; reply: one ArrayBuffer with the
 * frames at offsets, and each frame's length (-1 = keep raw). Both transferred.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.bindingPath);
const cctx = new binding.CCtx();
parentPort.on('message', (m) => {
  const src = Buffer.from(m.buf);
  let bound = 0;
  for (const n of m.sizes) bound += binding.compressBound(n);
  const out = Buffer.from(new ArrayBuffer(bound));
  const lens = new Int32Array(m.sizes.length);
  let inOff = 0, outOff = 0;
  for (let i = 0; i < m.sizes.length; i++) {
    const n = m.sizes[i];
    const b = binding.compressBound(n);
    const c = cctx.compress(out.subarray(outOff, outOff + b), src.subarray(inOff, inOff + n), workerData.level);
    lens[i] = c <= n * (1 - workerData.minSaving) ? c : -1;
    inOff += n;
    outOff += b;
  }
  parentPort.postMessage({ id: m.id, out: out.buffer, lens }, [out.buffer, lens.buffer]);
});
`;

interface Pending { resolve: (v: (Buffer | null)[]) => void; reject: (e: Error) => void; raws: Buffer[] }

export class WorkerCompressor implements ChunkCompressor {
  private readonly workers: { w: Worker; load: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(threads = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { bindingPath: BINDING_PATH, level: ZSTD_LEVEL, minSaving: MIN_SAVING },
      });
      const slot = { w, load: 0 };
      w.on('message', (m: { id: number; out: ArrayBuffer; lens: Int32Array }) => {
        // Referenced only while it has work: an idle pool must not keep the process alive, a busy one must.
        if (--slot.load === 0) w.unref();
        this.settle(m);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => { if (code !== 0) this.fail(new Error(`compression worker exited with code ${code}`)); });
      w.unref();
      this.workers.push(slot);
    }
  }

  compress(raws: Buffer[]): Promise<(Buffer | null)[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (raws.length === 0) return Promise.resolve([]);
    let total = 0;
    for (const r of raws) total += r.length;
    const ab = new ArrayBuffer(total);
    const packed = Buffer.from(ab);
    let off = 0;
    const sizes = new Array<number>(raws.length);
    for (let i = 0; i < raws.length; i++) {
      packed.set(raws[i]!, off);
      off += raws[i]!.length;
      sizes[i] = raws[i]!.length;
    }
    const id = this.nextId++;
    const slot = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
    if (slot.load++ === 0) slot.w.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, raws });
      slot.w.postMessage({ id, buf: ab, sizes }, [ab]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.w.terminate()));
    this.fail(new Error('compressor closed'));
  }

  private settle(m: { id: number; out: ArrayBuffer; lens: Int32Array }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    const out = Buffer.from(m.out);
    const result = new Array<Buffer | null>(p.raws.length);
    let off = 0;
    for (let i = 0; i < p.raws.length; i++) {
      const len = m.lens[i]!;
      result[i] = len < 0 ? null : out.subarray(off, off + len);
      off += binding.compressBound(p.raws[i]!.length);
    }
    p.resolve(result);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

const dctx = new binding.DCtx();

/**
 * The raw bytes of a stored chunk, checked: decompressed when zstd (into
 * exactly rawSize bytes, so a hostile frame cannot inflate beyond that) and
 * hashed against `expected`. `where` names the file or folder for the error.
 */
export function openChunk(chunk: Chunk, expected: Uint8Array, where: string): Buffer {
  const want = hex(expected);
  if (!Buffer.from(chunk.hash).equals(Buffer.from(expected))) {
    throw new AgentError('PROTOCOL', `chunk ${want} of ${where}: server sent chunk ${hex(chunk.hash)} instead`);
  }
  let raw: Buffer;
  if (chunk.compression === Compression.None) {
    raw = Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.length);
  } else if (chunk.compression === Compression.Zstd) {
    if (!Number.isSafeInteger(chunk.rawSize) || chunk.rawSize < 0 || chunk.rawSize > MAX_CHUNK_BYTES) {
      throw new AgentError('CHUNK_CORRUPT', `chunk ${want} of ${where}: declared size ${chunk.rawSize} is out of range`);
    }
    raw = Buffer.allocUnsafe(chunk.rawSize);
    let n: number;
    try {
      n = dctx.decompress(raw, chunk.data);
    } catch (e) {
      throw new AgentError('CHUNK_CORRUPT', `chunk ${want} of ${where} does not decompress: ${(e as Error).message}`);
    }
    if (n !== chunk.rawSize) {
      throw new AgentError('CHUNK_CORRUPT', `chunk ${want} of ${where} decompresses to ${n} bytes, not ${chunk.rawSize}`);
    }
  } else {
    throw new AgentError('CHUNK_CORRUPT', `chunk ${want} of ${where} has unknown compression ${String(chunk.compression)}`);
  }
  const got = sha256(raw);
  if (!got.equals(Buffer.from(expected))) {
    throw new AgentError('CHUNK_CORRUPT', `chunk ${want} of ${where} is corrupt: its bytes hash to ${got.toString('hex')}`);
  }
  return raw;
}
