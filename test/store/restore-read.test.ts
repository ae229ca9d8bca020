/**
 * getStoredMany(hashes, 'record'), the restore's read: each record is checked
 * (crc, the hash it names, lengths) but its data is neither decompressed nor
 * hashed — the agent verifies every chunk's SHA-256. Every other reader keeps
 * the full check. A record damaged on disk is still found here, by its crc.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ChunkCorruptError, ChunkNotFoundError, ChunkStore, type ChunkIn } from '../../server/src/chunk-store/index.js';
import { rawChunk, sha, tempDir, textBytes, zstdChunk } from './helpers.js';

const HEADER = 48; // record header; the crc32 of header + data follows the data (docs/storage-format.md §2.2)

function onlyPack(dir: string): string {
  const out: string[] = [];
  for (const sub of readdirSync(path.join(dir, 'packs'))) {
    for (const f of readdirSync(path.join(dir, 'packs', sub))) if (f.endsWith('.pack')) out.push(path.join(dir, 'packs', sub, f));
  }
  expect(out).toHaveLength(1);
  return out[0]!;
}

/** Stores `chunks` durably, lets `edit` change the record of chunks[victim] in the pack, and reopens the store. */
async function storeAndEdit(chunks: ChunkIn[], victim: number, edit: (pack: Buffer, rec: number, dataLen: number) => void): Promise<ChunkStore> {
  const dir = tempDir();
  let s = await ChunkStore.open(dir);
  for (const c of chunks) await s.put(c);
  await s.flush();
  await s.close();
  const file = onlyPack(dir);
  const bytes = readFileSync(file);
  const rec = bytes.indexOf(chunks[victim]!.hash) - 4;
  expect(bytes.readUInt32LE(rec)).toBe(0x4b4e4843);
  edit(bytes, rec, chunks[victim]!.data.length);
  writeFileSync(file, bytes);
  s = await ChunkStore.open(dir);
  return s;
}

/** Rewrites the record's crc so that it matches its (changed) bytes: damage the crc cannot see. */
function fixCrc(pack: Buffer, rec: number, dataLen: number): void {
  const end = rec + HEADER + dataLen;
  pack.writeUInt32LE(crc32(pack.subarray(rec, end)), end);
}

const mixed = (): ChunkIn[] => Array.from({ length: 30 }, (_, i) => (i % 2 ? rawChunk(randomBytes(2000 + i)) : zstdChunk(textBytes(i, 7000))));

describe("ChunkStore.getStoredMany(hashes, 'record') — the restore's read", () => {
  it('returns the same stored forms as the full check, in order, flushed or still buffered', async () => {
    const s = await ChunkStore.open(tempDir(), { packTargetSize: 64 * 1024 });
    const chunks = mixed();
    for (const c of chunks.slice(0, 24)) await s.put(c);
    await s.flush();
    for (const c of chunks.slice(24)) await s.put(c); // still in the writer's buffer
    const order = [...chunks.keys()].reverse();
    const hashes = order.map((i) => chunks[i]!.hash);
    const full = await s.getStoredMany(hashes);
    const rec = await s.getStoredMany(hashes, 'record');
    expect(rec.map((c) => [c.hash, c.compression, c.rawSize, Buffer.from(c.data)])).toEqual(full.map((c) => [c.hash, c.compression, c.rawSize, Buffer.from(c.data)]));
    rec.forEach((g, k) => expect(Buffer.from(g.data)).toEqual(chunks[order[k]!]!.data));
    await s.close();
  });

  it('skips the SHA-256: a crc-valid record with wrong content is returned (the agent rejects it), while every other read refuses it', async () => {
    const chunks = mixed();
    const victim = 5; // raw
    const s = await storeAndEdit(chunks, victim, (pack, rec, len) => {
      pack[rec + HEADER + 100] ^= 0x01;
      fixCrc(pack, rec, len);
    });
    const hashes = chunks.map((c) => c.hash);
    const got = await s.getStoredMany(hashes, 'record');
    expect(Buffer.from(got[victim]!.data)).not.toEqual(chunks[victim]!.data);
    expect(sha(Buffer.from(got[victim]!.data))).not.toEqual(chunks[victim]!.hash);
    got.forEach((g, i) => { if (i !== victim) expect(Buffer.from(g.data)).toEqual(chunks[i]!.data); });
    // The full check stays for every other reader (vault upload, verify, getRaw).
    await expect(s.getStoredMany(hashes)).rejects.toBeInstanceOf(ChunkCorruptError);
    await expect(s.getStored(chunks[victim]!.hash)).rejects.toThrow(/SHA-256/);
    await expect(s.getRaw(chunks[victim]!.hash)).rejects.toBeInstanceOf(ChunkCorruptError);
    const v = await s.verify([chunks[victim]!.hash]);
    expect(v.damaged.map((d) => d.hash)).toEqual([chunks[victim]!.hash.toString('hex')]);
    await s.close();
  });

  it('still finds a record damaged on disk (crc) and names the chunk and its pack', async () => {
    const chunks = mixed();
    const victim = 8; // zstd
    const s = await storeAndEdit(chunks, victim, (pack, rec) => { pack[rec + HEADER + 3] ^= 0x40; });
    const err = await s.getStoredMany(chunks.map((c) => c.hash), 'record').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkCorruptError);
    expect((err as Error).message).toContain(chunks[victim]!.hash.toString('hex'));
    expect((err as Error).message).toMatch(/\.pack/);
    // The others are still served.
    const ok = chunks.filter((_, i) => i !== victim);
    expect((await s.getStoredMany(ok.map((c) => c.hash), 'record')).map((g) => Buffer.from(g.data))).toEqual(ok.map((c) => c.data));
    await s.close();
  });

  it('checks the record lengths: a raw record whose declared size differs from its data is refused, crc or not', async () => {
    const chunks = mixed();
    const victim = 3; // raw
    const s = await storeAndEdit(chunks, victim, (pack, rec, len) => {
      pack.writeUInt32LE(pack.readUInt32LE(rec + 40) + 1, rec + 40); // rawSize
      fixCrc(pack, rec, len);
    });
    await expect(s.getStoredMany([chunks[victim]!.hash], 'record')).rejects.toThrow(/differs from declared/);
    await s.close();
  });

  it('reports a missing chunk as not found', async () => {
    const s = await ChunkStore.open(tempDir());
    const c = rawChunk(randomBytes(100));
    await s.put(c);
    await expect(s.getStoredMany([c.hash, sha(Buffer.from('absent'))], 'record')).rejects.toBeInstanceOf(ChunkNotFoundError);
    await s.close();
  });
});
