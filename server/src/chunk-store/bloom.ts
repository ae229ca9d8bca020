/**
 * Bloom filter over SHA-256 keys, one per index run, so that "is this chunk
 * new?" usually costs no disk read. The keys are uniformly random already, so
 * probe positions come straight from key bytes 4..11 (double hashing).
 */
import { promises as fsp } from 'node:fs';
import { crc32 } from 'node:zlib';
import { writeFileDurable } from '../util/durable.js';
import { BLOOM_BITS_PER_ENTRY, BLOOM_HEADER_SIZE, BLOOM_MAGIC, BLOOM_PROBES, BLOOM_VERSION } from './format.js';

export class Bloom {
  private constructor(readonly bits: Uint8Array, readonly m: number, readonly k: number) {}

  static forCount(count: number): Bloom {
    const m = Math.max(64, Math.ceil((count * BLOOM_BITS_PER_ENTRY) / 8) * 8);
    return new Bloom(new Uint8Array(m / 8), m, BLOOM_PROBES);
  }

  /** Memory a filter for `count` entries takes. */
  static bytesFor(count: number): number {
    return Math.max(8, Math.ceil((count * BLOOM_BITS_PER_ENTRY) / 8));
  }

  add(key: Uint8Array, at = 0): void {
    const h1 = readU32(key, at + 4);
    const h2 = (readU32(key, at + 8) | 1) >>> 0;
    for (let i = 0; i < this.k; i++) {
      const bit = (h1 + i * h2) % this.m;
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  mayHave(key: Uint8Array, at = 0): boolean {
    const h1 = readU32(key, at + 4);
    const h2 = (readU32(key, at + 8) | 1) >>> 0;
    for (let i = 0; i < this.k; i++) {
      const bit = (h1 + i * h2) % this.m;
      if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  async save(file: string, count: number): Promise<void> {
    const h = Buffer.alloc(BLOOM_HEADER_SIZE);
    BLOOM_MAGIC.copy(h, 0);
    h.writeUInt16LE(BLOOM_VERSION, 8);
    h.writeUInt16LE(BLOOM_HEADER_SIZE, 10);
    h[12] = this.k;
    h.writeBigUInt64LE(BigInt(this.m), 16);
    h.writeBigUInt64LE(BigInt(count), 24);
    h.writeUInt32LE(crc32(this.bits), 32);
    h.writeUInt32LE(crc32(h.subarray(0, 36)), 36);
    await writeFileDurable(file, [h, this.bits]);
  }

  /** The filter in `file`, or undefined if it is missing or damaged (lookups then read the run). */
  static async load(file: string): Promise<Bloom | undefined> {
    let b: Buffer;
    try {
      b = await fsp.readFile(file);
    } catch {
      return undefined;
    }
    if (b.length < BLOOM_HEADER_SIZE || !b.subarray(0, 8).equals(BLOOM_MAGIC)) return undefined;
    if (b.readUInt32LE(36) !== crc32(b.subarray(0, 36)) || b.readUInt16LE(8) !== BLOOM_VERSION) return undefined;
    const m = Number(b.readBigUInt64LE(16));
    const body = b.subarray(BLOOM_HEADER_SIZE);
    if (body.length * 8 !== m || crc32(body) !== b.readUInt32LE(32)) return undefined;
    return new Bloom(new Uint8Array(body.buffer, body.byteOffset, body.length), m, b[12]!);
  }
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
