/**
 * Chunk verification: decode the stored form (zstd or raw) into exactly
 * `rawSize` bytes and compare its SHA-256 with the chunk's name.
 * Decompression is bounded: output never exceeds rawSize (no zip bombs).
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import binding from 'zstd-napi/binding.js';
import { HASH_SIZE, MAX_CHUNK_SIZE } from './format.js';
import { Compression } from './types.js';

let dctx: InstanceType<typeof binding.DCtx> | undefined;
/** Reused output buffer for verify-only decoding (fresh per-call buffers cost more than the decompression). */
let scratch = Buffer.allocUnsafe(0);

/**
 * SHA-256 of `data`. crypto.hash (Node >= 20.12) is one call into the native
 * side; createHash().update().digest() builds a Hash object and crosses three
 * times, which cost about as much as hashing a small chunk (per-chunk
 * profile of the ingest path: Hash + digest ~0.2 s per GiB).
 */
export const sha256: (data: Uint8Array) => Buffer = typeof oneShotHash === 'function'
  ? (data) => oneShotHash('sha256', data, 'buffer')
  : (data) => createHash('sha256').update(data).digest();

/**
 * Decode a stored chunk to its raw bytes, or return a reason why it cannot be
 * the chunk `hash`. Never throws for bad input. With `verifyOnly` the result
 * may be a shared scratch buffer, valid only until the next call.
 */
export function decodeChunk(hash: Buffer, compression: number, rawSize: number, data: Buffer, verifyOnly = false): Buffer | string {
  let raw: Buffer;
  if (compression === Compression.None) {
    if (data.length !== rawSize) return `raw size ${data.length} differs from declared ${rawSize}`;
    raw = data;
  } else if (compression === Compression.Zstd) {
    dctx ??= new binding.DCtx();
    let out: Buffer;
    if (verifyOnly) {
      if (scratch.length < rawSize) scratch = Buffer.allocUnsafe(Math.max(rawSize, 64 * 1024));
      out = scratch.subarray(0, rawSize);
    } else out = Buffer.allocUnsafe(rawSize);
    let n: number;
    try {
      n = dctx.decompress(out, data);
    } catch (err) {
      return `zstd decompression failed: ${(err as Error).message}`;
    }
    if (n !== rawSize) return `decompressed size ${n} differs from declared ${rawSize}`;
    raw = out;
  } else {
    return `unknown compression ${compression}`;
  }
  if (!sha256(raw).equals(hash)) return 'SHA-256 of the data does not match the chunk name';
  return raw;
}

/** Shape checks that need no hashing; returns a reason or undefined. */
export function checkChunkShape(hash: Buffer, compression: number, rawSize: number, data: Buffer): string | undefined {
  if (!Buffer.isBuffer(hash) || hash.length !== HASH_SIZE) return `hash must be ${HASH_SIZE} bytes`;
  if (compression !== Compression.None && compression !== Compression.Zstd) return `unknown compression ${compression}`;
  if (!Number.isInteger(rawSize) || rawSize < 0 || rawSize > MAX_CHUNK_SIZE) return `raw size ${rawSize} out of range 0..${MAX_CHUNK_SIZE}`;
  if (!Buffer.isBuffer(data) || data.length > MAX_CHUNK_SIZE) return `stored size out of range 0..${MAX_CHUNK_SIZE}`;
  return undefined;
}

export function hex(hash: Buffer): string {
  return hash.toString('hex');
}
