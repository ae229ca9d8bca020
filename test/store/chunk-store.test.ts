import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ChunkHashMismatchError, ChunkInvalidError, ChunkNotFoundError, ChunkStore, Compression, StoreLockedError,
} from '../../server/src/chunk-store/index.js';
import { rawChunk, sha, tempDir, textBytes, zstdChunk } from './helpers.js';

describe('ChunkStore put/get', () => {
  it('round-trips raw and zstd chunks and returns the stored form', async () => {
    const s = await ChunkStore.open(tempDir());
    const raw = rawChunk(randomBytes(5000));
    const z = zstdChunk(textBytes(1, 20000));
    expect(z.data.length).toBeLessThan(20000);
    expect(await s.put(raw)).toEqual({ stored: true, storedBytes: 5000 });
    expect(await s.put(z)).toEqual({ stored: true, storedBytes: z.data.length });
    expect(await s.getRaw(raw.hash)).toEqual(raw.data);
    expect(await s.getRaw(z.hash)).toEqual(textBytes(1, 20000));
    const st = await s.getStored(z.hash);
    expect(st.compression).toBe(Compression.Zstd);
    expect(st.rawSize).toBe(20000);
    expect(st.data).toEqual(z.data);
    expect(st.hash).toEqual(z.hash);
    await s.flush();
    expect(await s.getRaw(z.hash)).toEqual(textBytes(1, 20000));
    await s.close();
  });

  it('reports a missing chunk with a typed error naming the store and digest', async () => {
    const dir = tempDir();
    const s = await ChunkStore.open(dir);
    const h = sha(Buffer.from('nope'));
    expect(await s.has(h)).toBe(false);
    const err = await s.getRaw(h).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkNotFoundError);
    expect((err as ChunkNotFoundError).code).toBe('CHUNK_NOT_FOUND');
    expect((err as ChunkNotFoundError).kind).toBe('not-found');
    expect((err as Error).message).toContain(h.toString('hex'));
    expect((err as Error).message).toContain(dir);
    await s.close();
  });

  it('deduplicates: a second put stores nothing and stats do not change', async () => {
    const s = await ChunkStore.open(tempDir());
    const c = zstdChunk(textBytes(2, 30000));
    expect((await s.put(c)).stored).toBe(true);
    await s.flush();
    const before = await s.stats();
    expect(before.chunks).toBe(1);
    expect(await s.put(c)).toEqual({ stored: false, storedBytes: 0 });
    expect(await s.put(rawChunk(textBytes(2, 30000)))).toEqual({ stored: false, storedBytes: 0 });
    await s.flush();
    expect(await s.stats()).toEqual(before);
    await s.close();
  });

  it('refuses chunks whose bytes do not match their hash and stores nothing', async () => {
    const s = await ChunkStore.open(tempDir());
    const good = rawChunk(randomBytes(1000));
    const wrongHash = { ...good, hash: sha(Buffer.from('other')) };
    const err = await s.put(wrongHash).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkHashMismatchError);
    expect((err as ChunkHashMismatchError).code).toBe('CHUNK_HASH_MISMATCH');
    expect((err as ChunkHashMismatchError).kind).toBe('permanent');
    const z = zstdChunk(textBytes(3, 4000));
    await expect(s.put({ ...z, rawSize: 3999 })).rejects.toBeInstanceOf(ChunkHashMismatchError);
    await expect(s.put({ ...z, rawSize: 4001 })).rejects.toBeInstanceOf(ChunkHashMismatchError);
    await expect(s.put({ ...z, data: Buffer.from('not a zstd frame') })).rejects.toBeInstanceOf(ChunkHashMismatchError);
    await expect(s.put({ ...good, rawSize: 999 })).rejects.toBeInstanceOf(ChunkHashMismatchError);
    await expect(s.put({ ...good, compression: 7 as Compression })).rejects.toBeInstanceOf(ChunkInvalidError);
    await expect(s.put({ ...good, hash: good.hash.subarray(0, 31) })).rejects.toBeInstanceOf(ChunkInvalidError);
    await s.flush();
    expect(await s.has(wrongHash.hash)).toBe(false);
    expect(await s.has(z.hash)).toBe(false);
    expect((await s.stats()).chunks).toBe(0);
    await s.close();
  });

  it('handles empty and large (1 MiB tree) chunks', async () => {
    const s = await ChunkStore.open(tempDir(), { writeBufferSize: 256 * 1024 });
    const emptyRaw = rawChunk(Buffer.alloc(0));
    const big = zstdChunk(textBytes(99, 1 << 20));
    const bigRaw = rawChunk(randomBytes(1 << 20));
    expect((await s.put(emptyRaw)).stored).toBe(true);
    expect((await s.put(zstdChunk(Buffer.alloc(0)))).stored).toBe(false);
    expect((await s.put(big)).stored).toBe(true);
    expect((await s.put(bigRaw)).stored).toBe(true);
    await s.flush();
    expect(await s.getRaw(emptyRaw.hash)).toEqual(Buffer.alloc(0));
    expect((await s.getRaw(big.hash)).equals(textBytes(99, 1 << 20))).toBe(true); // (toEqual on 1 MiB is slow)
    expect((await s.getRaw(bigRaw.hash)).equals(bigRaw.data)).toBe(true);
    const tooBig = rawChunk(Buffer.alloc(4 * 1024 * 1024 + 1));
    await expect(s.put(tooBig)).rejects.toBeInstanceOf(ChunkInvalidError);
    await s.close();
  });

  it('stores a zstd chunk that did not get smaller as given', async () => {
    const s = await ChunkStore.open(tempDir());
    const c = zstdChunk(randomBytes(2000));
    expect(c.data.length).toBeGreaterThanOrEqual(2000);
    expect(await s.put(c)).toEqual({ stored: true, storedBytes: c.data.length });
    expect((await s.getStored(c.hash)).data).toEqual(c.data);
    expect(sha(await s.getRaw(c.hash))).toEqual(c.hash);
    await s.close();
  });

  it('serializes concurrent puts: each distinct chunk is stored exactly once', async () => {
    const s = await ChunkStore.open(tempDir(), { packTargetSize: 64 * 1024, writeBufferSize: 16 * 1024 });
    const chunks = Array.from({ length: 150 }, (_, i) => (i % 3 ? rawChunk(randomBytes(1000 + i)) : zstdChunk(textBytes(i, 3000 + i))));
    const results = await Promise.all([...chunks, ...chunks, ...chunks.slice(0, 50)].map((c) => s.put(c)));
    expect(results.filter((r) => r.stored)).toHaveLength(150);
    for (const c of chunks) expect(await s.getStored(c.hash)).toEqual(c);
    await s.flush();
    expect((await s.stats()).chunks).toBe(150);
    expect((await s.stats()).packs).toBeGreaterThan(1);
    await s.close();
  });

  it('keeps flushed chunks across reopen and drops unflushed ones without harming the rest', async () => {
    const dir = tempDir();
    let s = await ChunkStore.open(dir);
    const a = zstdChunk(textBytes(10, 10000));
    const b = rawChunk(randomBytes(7000));
    await s.put(a);
    await s.flush();
    await s.put(b);
    expect(await s.getRaw(b.hash)).toEqual(b.data); // readable before flush
    await s.close();

    s = await ChunkStore.open(dir);
    expect(await s.getRaw(a.hash)).toEqual(textBytes(10, 10000));
    expect(await s.has(b.hash)).toBe(false);
    await expect(s.getRaw(b.hash)).rejects.toBeInstanceOf(ChunkNotFoundError);
    expect((await s.stats()).chunks).toBe(1);
    expect((await s.put(b)).stored).toBe(true);
    await s.flush();
    await s.close();

    s = await ChunkStore.open(dir);
    expect(await s.getRaw(b.hash)).toEqual(b.data);
    expect(await s.getRaw(a.hash)).toEqual(textBytes(10, 10000));
    expect((await s.stats()).chunks).toBe(2);
    await s.close();
  });

  it('survives reopen with many chunks spread over many packs', async () => {
    const dir = tempDir();
    const chunks = Array.from({ length: 400 }, (_, i) => (i % 2 ? rawChunk(randomBytes(900)) : zstdChunk(textBytes(i, 2500))));
    let s = await ChunkStore.open(dir, { packTargetSize: 32 * 1024 });
    for (const c of chunks) await s.put(c);
    await s.flush();
    const st = await s.stats();
    expect(st.chunks).toBe(400);
    expect(st.packs).toBeGreaterThan(5);
    await s.close();
    s = await ChunkStore.open(dir, { packTargetSize: 32 * 1024 });
    expect(await s.stats()).toEqual(st);
    for (const c of chunks) expect(await s.getStored(c.hash)).toEqual(c);
    await s.close();
  });

  it('refuses to open a store twice', async () => {
    const dir = tempDir();
    const s = await ChunkStore.open(dir);
    await expect(ChunkStore.open(dir)).rejects.toBeInstanceOf(StoreLockedError);
    await s.close();
    const again = await ChunkStore.open(dir);
    await again.close();
  });
});
