/**
 * Pending pack index (index/pending/<id>.pidx): the index entries of one pack
 * that are durable but not yet merged into an index run. Rewritten whole
 * (durably) at each flush of its pack; it also records how many bytes of the
 * pack it covers — anything after that is an unreferenced tail.
 */
import { promises as fsp } from 'node:fs';
import { crc32 } from 'node:zlib';
import { writeFileDurable } from '../util/durable.js';
import { encodeEntries, readEntry } from './entry.js';
import { StoreFormatError } from './errors.js';
import { INDEX_ENTRY_SIZE, PIDX_HEADER_SIZE, PIDX_MAGIC, PIDX_VERSION } from './format.js';
import type { IndexEntry } from './types.js';

export interface PendingIndex {
  packId: number;
  coveredBytes: number;
  entries: IndexEntry[];
}

export async function writePendingIndex(file: string, p: PendingIndex): Promise<void> {
  const body = encodeEntries(p.entries);
  const h = Buffer.alloc(PIDX_HEADER_SIZE);
  PIDX_MAGIC.copy(h, 0);
  h.writeUInt16LE(PIDX_VERSION, 8);
  h.writeUInt16LE(PIDX_HEADER_SIZE, 10);
  h.writeUInt32LE(p.packId, 12);
  h.writeUInt32LE(p.entries.length, 16);
  h.writeUInt32LE(crc32(body), 20);
  h.writeUInt32LE(p.coveredBytes, 24);
  h.writeUInt32LE(crc32(h.subarray(0, 28)), 28);
  await writeFileDurable(file, [h, body]);
}

export async function readPendingIndex(storeDir: string, file: string): Promise<PendingIndex> {
  const b = await fsp.readFile(file);
  const fail = (why: string): never => { throw new StoreFormatError(storeDir, file, why); };
  if (b.length < PIDX_HEADER_SIZE || !b.subarray(0, 8).equals(PIDX_MAGIC)) fail('not a pending pack index');
  if (b.readUInt32LE(28) !== crc32(b.subarray(0, 28))) fail('header checksum mismatch');
  if (b.readUInt16LE(8) !== PIDX_VERSION || b.readUInt16LE(10) !== PIDX_HEADER_SIZE) fail('unsupported version');
  const count = b.readUInt32LE(16);
  if (b.length !== PIDX_HEADER_SIZE + count * INDEX_ENTRY_SIZE) fail('size does not match the entry count');
  const body = b.subarray(PIDX_HEADER_SIZE);
  if (crc32(body) !== b.readUInt32LE(20)) fail('entries checksum mismatch');
  const entries: IndexEntry[] = [];
  for (let i = 0; i < count; i++) entries.push(readEntry(body, i * INDEX_ENTRY_SIZE));
  return { packId: b.readUInt32LE(12), coveredBytes: b.readUInt32LE(24), entries };
}
