/** The 48-byte index entry: hash[32] packId:u32 offset:u32 length:u32 rawSize:u32. */
import { HASH_SIZE, INDEX_ENTRY_SIZE } from './format.js';
import type { ChunkLocation, IndexEntry } from './types.js';

export function writeEntry(dst: Buffer, at: number, e: IndexEntry): void {
  e.hash.copy(dst, at, 0, HASH_SIZE);
  dst.writeUInt32LE(e.packId, at + 32);
  dst.writeUInt32LE(e.offset, at + 36);
  dst.writeUInt32LE(e.length, at + 40);
  dst.writeUInt32LE(e.rawSize, at + 44);
}

/** Location fields of the entry at `src[at]`. */
export function readLocation(src: Buffer, at: number): ChunkLocation {
  return {
    packId: src.readUInt32LE(at + 32),
    offset: src.readUInt32LE(at + 36),
    length: src.readUInt32LE(at + 40),
    rawSize: src.readUInt32LE(at + 44),
  };
}

/** Full entry; the hash is copied (safe to keep). */
export function readEntry(src: Buffer, at: number): IndexEntry {
  return { hash: Buffer.from(src.subarray(at, at + HASH_SIZE)), ...readLocation(src, at) };
}

export function packIdAt(src: Buffer, at: number): number {
  return src.readUInt32LE(at + 32);
}

export function encodeEntries(entries: readonly IndexEntry[]): Buffer {
  const b = Buffer.allocUnsafe(entries.length * INDEX_ENTRY_SIZE);
  entries.forEach((e, i) => writeEntry(b, i * INDEX_ENTRY_SIZE, e));
  return b;
}

/** Map key of a hash in in-memory structures. */
export function hashKey(hash: Buffer): string {
  return hash.toString('latin1');
}
