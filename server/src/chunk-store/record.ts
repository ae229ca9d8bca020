/**
 * Byte layout of pack headers and pack records (docs/storage-format.md §Pack).
 * Pure functions over buffers; no I/O.
 */
import { crc32 } from 'node:zlib';
import {
  HASH_SIZE, PACK_HEADER_SIZE, PACK_MAGIC, PACK_VERSION, RECORD_HEADER_SIZE, RECORD_MAGIC, RECORD_OVERHEAD,
} from './format.js';

export function encodePackHeader(packId: number): Buffer {
  const b = Buffer.alloc(PACK_HEADER_SIZE);
  PACK_MAGIC.copy(b, 0);
  b.writeUInt16LE(PACK_VERSION, 8);
  b.writeUInt16LE(PACK_HEADER_SIZE, 10);
  b.writeUInt32LE(packId, 12);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/** Returns a reason if `b` is not a valid header of pack `packId`. */
export function checkPackHeader(b: Buffer, packId: number): string | undefined {
  if (b.length < PACK_HEADER_SIZE) return 'file shorter than the pack header';
  if (!b.subarray(0, 8).equals(PACK_MAGIC)) return 'bad pack magic';
  if (b.readUInt16LE(8) !== PACK_VERSION) return `unsupported pack version ${b.readUInt16LE(8)}`;
  if (b.readUInt16LE(10) !== PACK_HEADER_SIZE) return `bad pack header size ${b.readUInt16LE(10)}`;
  if (b.readUInt32LE(28) !== crc32(b.subarray(0, 28))) return 'pack header checksum mismatch';
  if (b.readUInt32LE(12) !== packId) return `header names pack ${b.readUInt32LE(12)}`;
  return undefined;
}

export function recordLength(storedSize: number): number {
  return RECORD_OVERHEAD + storedSize;
}

/** Write one record (header, data, crc) into `dst` at `at`; returns bytes written. */
export function encodeRecord(dst: Buffer, at: number, hash: Buffer, compression: number, rawSize: number, data: Buffer): number {
  dst.writeUInt32LE(RECORD_MAGIC, at);
  hash.copy(dst, at + 4);
  dst[at + 36] = compression;
  dst[at + 37] = 0;
  dst.writeUInt16LE(0, at + 38);
  dst.writeUInt32LE(rawSize, at + 40);
  dst.writeUInt32LE(data.length, at + 44);
  data.copy(dst, at + RECORD_HEADER_SIZE);
  const end = at + RECORD_HEADER_SIZE + data.length;
  dst.writeUInt32LE(crc32(dst.subarray(at, end)), end);
  return end + 4 - at;
}

export interface DecodedRecord {
  hash: Buffer;
  compression: number;
  rawSize: number;
  data: Buffer;
  length: number;
}

/** Header fields only; `undefined` if the bytes cannot be a record header. */
export function peekRecordHeader(b: Buffer, at: number): { storedSize: number; length: number } | undefined {
  if (b.length - at < RECORD_HEADER_SIZE) return undefined;
  if (b.readUInt32LE(at) !== RECORD_MAGIC) return undefined;
  const storedSize = b.readUInt32LE(at + 44);
  return { storedSize, length: recordLength(storedSize) };
}

/** Decode and crc-check the record at `at`; returns a reason string if it is damaged or torn. */
export function decodeRecord(b: Buffer, at: number): DecodedRecord | string {
  const head = peekRecordHeader(b, at);
  if (!head) return b.length - at < RECORD_HEADER_SIZE ? 'record truncated' : 'bad record magic';
  if (b.length - at < head.length) return 'record truncated';
  const end = at + RECORD_HEADER_SIZE + head.storedSize;
  if (b.readUInt32LE(end) !== crc32(b.subarray(at, end))) return 'record checksum mismatch';
  return {
    hash: b.subarray(at + 4, at + 4 + HASH_SIZE),
    compression: b[at + 36]!,
    rawSize: b.readUInt32LE(at + 40),
    data: b.subarray(at + RECORD_HEADER_SIZE, end),
    length: head.length,
  };
}
