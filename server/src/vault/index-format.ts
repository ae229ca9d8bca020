/**
 * The index payload (docs/vault-format.md §5): which chunk ids one pack holds
 * and where. Stored encrypted twice: as the object `index/<packId>` and as the
 * pack's own trailer (so indexes can be rebuilt from packs alone).
 */
import {
  BLOB_OVERHEAD, BlobCompression, CHUNK_ID_BYTES, INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE, INDEX_MAGIC, INDEX_VERSION,
  MAX_BLOBS_PER_PACK, MAX_CHUNK_SIZE, PACK_FOOTER_SIZE, PACK_HEADER_SIZE, PACK_ID_BYTES,
} from './format.js';

export interface BlobEntry {
  /** Vault chunk id (HMAC of the plaintext SHA-256), 32 bytes. */
  id: Buffer;
  /** Offset of the blob (nonce ‖ ciphertext ‖ tag) in the pack. */
  offset: number;
  /** Blob length. */
  length: number;
  /** Uncompressed chunk length. */
  rawSize: number;
  compression: BlobCompression;
}

export interface PackIndex {
  /** 32 lower-case hex digits. */
  packId: string;
  packSize: number;
  entries: BlobEntry[];
}

export function indexPayloadSize(count: number): number {
  return INDEX_HEADER_SIZE + count * INDEX_ENTRY_SIZE;
}

export function encodeIndex(ix: PackIndex): Buffer {
  const b = Buffer.alloc(indexPayloadSize(ix.entries.length));
  INDEX_MAGIC.copy(b, 0);
  b.writeUInt16LE(INDEX_VERSION, 8);
  b.writeUInt16LE(INDEX_ENTRY_SIZE, 10);
  Buffer.from(ix.packId, 'hex').copy(b, 12);
  b.writeUInt32LE(ix.entries.length, 28);
  b.writeBigUInt64LE(BigInt(ix.packSize), 32);
  let at = INDEX_HEADER_SIZE;
  for (const e of ix.entries) {
    e.id.copy(b, at);
    b.writeUInt32LE(e.offset, at + 32);
    b.writeUInt32LE(e.length, at + 36);
    b.writeUInt32LE(e.rawSize, at + 40);
    b.writeUInt8(e.compression, at + 44);
    at += INDEX_ENTRY_SIZE;
  }
  return b;
}

/** Decode and check an index payload; returns a reason on any inconsistency. */
export function decodeIndex(b: Buffer, expectPackId?: string): PackIndex | string {
  if (b.length < INDEX_HEADER_SIZE) return `index payload too short (${b.length} bytes)`;
  if (!b.subarray(0, 8).equals(INDEX_MAGIC)) return 'bad index magic';
  if (b.readUInt16LE(8) !== INDEX_VERSION) return `unsupported index version ${b.readUInt16LE(8)}`;
  if (b.readUInt16LE(10) !== INDEX_ENTRY_SIZE) return `bad index entry size ${b.readUInt16LE(10)}`;
  const packId = b.subarray(12, 12 + PACK_ID_BYTES).toString('hex');
  if (expectPackId !== undefined && packId !== expectPackId) return `index names pack ${packId}, expected ${expectPackId}`;
  const count = b.readUInt32LE(28);
  if (count > MAX_BLOBS_PER_PACK || b.length !== indexPayloadSize(count)) return `index size ${b.length} does not match its ${count} entries`;
  const packSize = Number(b.readBigUInt64LE(32));
  const end = packSize - PACK_FOOTER_SIZE;
  const entries: BlobEntry[] = [];
  let prevEnd = PACK_HEADER_SIZE;
  for (let i = 0, at = INDEX_HEADER_SIZE; i < count; i++, at += INDEX_ENTRY_SIZE) {
    const e: BlobEntry = {
      id: Buffer.from(b.subarray(at, at + CHUNK_ID_BYTES)),
      offset: b.readUInt32LE(at + 32),
      length: b.readUInt32LE(at + 36),
      rawSize: b.readUInt32LE(at + 40),
      compression: b.readUInt8(at + 44),
    };
    if (e.offset < prevEnd || e.offset + e.length > end) return `entry ${i} (${e.offset}+${e.length}) overlaps or lies outside the pack`;
    if (e.length < BLOB_OVERHEAD || e.length > MAX_CHUNK_SIZE + (1 << 16) + BLOB_OVERHEAD) return `entry ${i} has a bad blob length ${e.length}`;
    if (e.rawSize > MAX_CHUNK_SIZE) return `entry ${i} has a bad raw size ${e.rawSize}`;
    if (e.compression !== BlobCompression.None && e.compression !== BlobCompression.Zstd) return `entry ${i} has unknown compression ${e.compression}`;
    prevEnd = e.offset + e.length;
    entries.push(e);
  }
  return { packId, packSize, entries };
}
