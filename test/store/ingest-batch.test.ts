/**
 * ChunkStore.putMany(): a whole chunk batch under one hold of the put lock.
 * Same checks as put() for every chunk, all or nothing on bad input, a hash
 * that appears twice stored once, and records that land in the right packs
 * when the batch crosses pack and write-buffer boundaries.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ChunkIn, ChunkHashMismatchError, ChunkInvalidError, ChunkStore, Compression, StoreDiskFullError,
} from '../../server/src/chunk-store/index.js';
import { rawChunk, sha, tempDir, textBytes, zstdChunk, fillingDisk } from './helpers.js';

describe('ChunkStore.putMany', () => {
  it('stores a batch of raw and zstd chunks, readable before and after flush and reopen', async () => {
    const dir = tempDir();
    const s = await ChunkStore.open(dir);
    const batch = [rawChunk(randomBytes(5000)), zstdChunk(textBytes(1, 20000)), rawChunk(Buffer.alloc(0)), zstdChunk(textBytes(2, 70000))];
    const r = await s.putMany(batch);
    expect(r).toEqual({ stored: 4, storedBytes: batch.reduce((n, c) => n + c.data.length, 0) });
    for (const c of batch) expect(await s.getStored(c.hash)).toMatchObject({ compression: c.compression, rawSize: c.rawSize, data: c.data });
    await s.flush();
    await s.close();
    const s2 = await ChunkStore.open(dir);
    expect((await s2.stats()).chunks).toBe(4);
    expect(await s2.getRaw(batch[1]!.hash)).toEqual(textBytes(1, 20000));
    expect(await s2.getRaw(batch[3]!.hash)).toEqual(textBytes(2, 70000));
    await s2.close();
  });

  it('stores a hash once: repeated within the batch, or already in the store', async () => {
    const s = await ChunkStore.open(tempDir());
    const old = zstdChunk(textBytes(3, 9000));
    await s.put(old);
    const fresh = rawChunk(randomBytes(3000));
    // the same content sent raw and compressed: the same name, stored once
    const freshZ = zstdChunk(fresh.data);
    expect(freshZ.hash).toEqual(fresh.hash);
    const r = await s.putMany([fresh, old, freshZ, fresh, rawChunk(textBytes(3, 9000))]);
    expect(r).toEqual({ stored: 1, storedBytes: fresh.data.length });
    await s.flush();
    expect((await s.stats()).chunks).toBe(2);
    expect(await s.getRaw(fresh.hash)).toEqual(fresh.data);
    await s.close();
  });

  it('a chunk that does not match its hash refuses the whole batch: nothing of it is stored', async () => {
    const s = await ChunkStore.open(tempDir());
    const before = rawChunk(randomBytes(1000));
    await s.put(before);
    const good = [rawChunk(randomBytes(2000)), zstdChunk(textBytes(4, 30000)), rawChunk(randomBytes(100))];
    const liar: ChunkIn = { ...rawChunk(randomBytes(500)), hash: sha(Buffer.from('something else')) };
    const err = await s.putMany([good[0]!, good[1]!, liar, good[2]!]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkHashMismatchError);
    expect((err as Error).message).toContain(liar.hash.toString('hex'));
    // wrong declared size and a broken zstd frame are lies too
    const z = zstdChunk(textBytes(5, 4000));
    await expect(s.putMany([good[0]!, { ...z, rawSize: 3999 }])).rejects.toBeInstanceOf(ChunkHashMismatchError);
    await expect(s.putMany([good[0]!, { ...z, data: Buffer.from('not a zstd frame') }])).rejects.toBeInstanceOf(ChunkHashMismatchError);
    await s.flush();
    for (const c of [...good, liar, z]) expect(await s.has(c.hash)).toBe(false);
    expect((await s.stats()).chunks).toBe(1);
    // the store is still usable, and the good chunks go in when sent again without the liar
    expect(await s.putMany(good)).toMatchObject({ stored: 3 });
    await s.flush();
    for (const c of good) expect(await s.has(c.hash)).toBe(true);
    await s.close();
  });

  it('a malformed chunk (shape) refuses the batch before anything is looked at', async () => {
    const s = await ChunkStore.open(tempDir());
    const good = rawChunk(randomBytes(2000));
    await expect(s.putMany([good, { ...good, compression: 7 as Compression }])).rejects.toBeInstanceOf(ChunkInvalidError);
    await expect(s.putMany([good, { ...good, hash: good.hash.subarray(0, 31) }])).rejects.toBeInstanceOf(ChunkInvalidError);
    await expect(s.putMany([good, { ...good, rawSize: -1 }])).rejects.toBeInstanceOf(ChunkInvalidError);
    await s.flush();
    expect(await s.has(good.hash)).toBe(false);
    expect(await s.putMany([])).toEqual({ stored: 0, storedBytes: 0 });
    await s.close();
  });

  it('batches that cross write buffers and packs land in order, all readable after reopen', async () => {
    const dir = tempDir();
    // small buffers and packs: most appends take the synchronous path, some must open a pack or wait for writes
    const s = await ChunkStore.open(dir, { writeBufferSize: 16 * 1024, packTargetSize: 64 * 1024 });
    const all: ChunkIn[] = [];
    for (let b = 0; b < 12; b++) {
      const batch = Array.from({ length: 25 }, (_, i) => (i % 3 === 0 ? zstdChunk(textBytes(b * 100 + i, 3000 + i * 97)) : rawChunk(randomBytes(500 + i * 211))));
      // an oversized record (bigger than a write buffer) in some batches
      if (b % 4 === 0) batch.push(rawChunk(randomBytes(40 * 1024)));
      all.push(...batch);
      expect((await s.putMany(batch)).stored).toBe(batch.length);
    }
    for (const c of all.slice(-30)) expect(await s.getStored(c.hash)).toMatchObject({ data: c.data });
    await s.flush();
    const st = await s.stats();
    expect(st.chunks).toBe(all.length);
    expect(st.packs).toBeGreaterThan(10);
    await s.close();
    const s2 = await ChunkStore.open(dir);
    for (const c of all) expect(await s2.getStored(c.hash)).toMatchObject({ compression: c.compression, rawSize: c.rawSize, data: c.data });
    expect((await s2.verify()).damaged).toEqual([]);
    await s2.close();
  });

  it('concurrent putMany and put calls store each distinct chunk exactly once', async () => {
    const s = await ChunkStore.open(tempDir(), { writeBufferSize: 8 * 1024, packTargetSize: 32 * 1024 });
    const chunks = Array.from({ length: 120 }, (_, i) => (i % 2 ? rawChunk(randomBytes(700)) : zstdChunk(textBytes(i, 5000))));
    const batches = [chunks.slice(0, 60), chunks.slice(30, 90), chunks.slice(60, 120), chunks.slice(0, 120)];
    const results = await Promise.all([...batches.map((b) => s.putMany(b)), ...chunks.slice(0, 40).map((c) => s.put(c))]);
    const stored = results.reduce((n, r) => n + (typeof r.stored === 'number' ? r.stored : r.stored ? 1 : 0), 0);
    expect(stored).toBe(chunks.length);
    await s.flush();
    expect((await s.stats()).chunks).toBe(chunks.length);
    await s.close();
  });

  it('a failed write rejects the batch with the typed error; the store recovers once space is back', async () => {
    const dir = tempDir();
    const disk = fillingDisk();
    const s = await ChunkStore.open(dir, { writeBufferSize: 8 * 1024, packWrite: disk.packWrite });
    const before = Array.from({ length: 5 }, () => rawChunk(randomBytes(3000)));
    await s.putMany(before);
    await s.flush();
    disk.full = true;
    let err: unknown;
    for (let i = 0; i < 10 && !err; i++) err = await s.putMany(Array.from({ length: 8 }, () => rawChunk(randomBytes(3000)))).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreDiskFullError);
    disk.full = false;
    const after = Array.from({ length: 3 }, () => rawChunk(randomBytes(3000)));
    expect((await s.putMany(after)).stored).toBe(3);
    await s.flush();
    await s.close();
    const s2 = await ChunkStore.open(dir);
    for (const c of [...before, ...after]) expect(await s2.getRaw(c.hash)).toEqual(c.data);
    await s2.close();
  });
});
