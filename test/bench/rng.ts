/**
 * Seeded randomness for the benchmark dataset. Two sources, both derived from
 * the seed string and a label so that every file has its own reproducible
 * stream (same seed → same bytes, independent of generation order):
 *  - `Rng`: xoshiro128** on 32-bit integers, for decisions (sizes, offsets).
 *  - `ByteStream`: AES-128-CTR over zeros, for bulk incompressible bytes
 *    (several GB/s with AES-NI).
 */
import { createCipheriv, createHash, type Cipher } from 'node:crypto';

function digest(seed: string, label: string): Buffer {
  return createHash('sha256').update(seed).update('\0').update(label).digest();
}

export class Rng {
  private s: Uint32Array;

  constructor(seed: string, label: string) {
    const d = digest(seed, `rng:${label}`);
    this.s = new Uint32Array([d.readUInt32LE(0), d.readUInt32LE(4), d.readUInt32LE(8), d.readUInt32LE(12) | 1]);
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** Uniform integer in [lo, hi] (inclusive); fine for ranges below 2^40. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() * 0x1_0000_0000 + this.u32()) / 2 ** 64 * (hi - lo + 1));
  }

  /** Log-uniform integer in [lo, hi]: many small values, a few large ones. */
  logInt(lo: number, hi: number): number {
    return Math.min(hi, Math.floor(lo * Math.exp(this.float() * Math.log(hi / lo))));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const PIECE = 64 * 1024;
const ZEROS = Buffer.alloc(PIECE);

/**
 * A reproducible stream of incompressible bytes. It encrypts in 64 KiB pieces
 * and copies into the caller's buffer: fresh multi-MiB buffers cost more in
 * page faults than the AES itself on this kind of VM.
 */
export class ByteStream {
  private cipher: Cipher;

  constructor(seed: string, label: string) {
    const d = digest(seed, `bytes:${label}`);
    this.cipher = createCipheriv('aes-128-ctr', d.subarray(0, 16), d.subarray(16, 32));
  }

  /** Fills `target` with the next `target.length` bytes of the stream; returns it. */
  fill(target: Buffer): Buffer {
    for (let o = 0; o < target.length; o += PIECE) this.cipher.update(ZEROS.subarray(0, Math.min(PIECE, target.length - o))).copy(target, o);
    return target;
  }

  /** The next `n` bytes of the stream, in a fresh buffer. */
  next(n: number): Buffer {
    return this.fill(Buffer.allocUnsafe(n));
  }
}
